//! A list of wakers keyed by id, kept under its owner's lock: the waiters
//! of `mpsc::Sender::closed` and of `watch::Receiver::changed`.
//!
//! A future registers with `register(&mut key, waker)`, which inserts or
//! refreshes its entry; when it is dropped while registered it calls
//! `remove(key)`, so a cancelled wait leaves nothing behind. The owner
//! wakes everyone with `take_all` (the wakers are woken after the lock is
//! released, since a waker may run arbitrary code). A key whose entry was
//! taken is stale: `register` then inserts a new entry, `remove` finds
//! nothing.

use std::task::Waker;

/// Wakers keyed by a per-list id. Not synchronised: lives inside the
/// owner's mutex.
#[derive(Debug, Default)]
pub(crate) struct WaitList {
    entries: Vec<(u64, Waker)>,
    next_id: u64,
}

impl WaitList {
    pub(crate) fn new() -> WaitList {
        WaitList::default()
    }

    /// Inserts `waker` under a new id stored in `key`, or refreshes the
    /// entry `key` names if it is still listed.
    pub(crate) fn register(&mut self, key: &mut Option<u64>, waker: &Waker) {
        if let Some(id) = *key {
            if let Some((_, w)) = self.entries.iter_mut().find(|(i, _)| *i == id) {
                if !w.will_wake(waker) {
                    w.clone_from(waker);
                }
                return;
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        self.entries.push((id, waker.clone()));
        *key = Some(id);
    }

    /// Removes the entry `id`, if still listed (a cancelled waiter).
    pub(crate) fn remove(&mut self, id: u64) -> Option<Waker> {
        let pos = self.entries.iter().position(|(i, _)| *i == id)?;
        Some(self.entries.swap_remove(pos).1)
    }

    /// Takes every waker, for the caller to wake after unlocking.
    pub(crate) fn take_all(&mut self) -> impl Iterator<Item = Waker> {
        std::mem::take(&mut self.entries).into_iter().map(|(_, w)| w)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn register_refresh_remove_take() {
        let mut list = WaitList::new();
        let (mut a, mut b) = (None, None);
        list.register(&mut a, Waker::noop());
        list.register(&mut b, Waker::noop());
        list.register(&mut a, Waker::noop());
        assert_eq!(list.entries.len(), 2, "a refresh does not add an entry");
        assert!(list.remove(b.unwrap()).is_some());
        assert!(list.remove(b.unwrap()).is_none());
        assert_eq!(list.take_all().count(), 1);
        assert!(list.entries.is_empty());
        list.register(&mut a, Waker::noop());
        assert_ne!(a, Some(0), "a stale key gets a new entry");
        assert_eq!(list.entries.len(), 1);
    }
}
