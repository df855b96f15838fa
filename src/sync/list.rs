//! An intrusive, doubly linked FIFO list of waiter nodes, shared by the
//! batch semaphore and `Notify`.
//!
//! The nodes live inside pinned futures (`Acquire`, `Notified`), so waiting
//! allocates nothing. The list itself is only a head and a tail pointer and
//! always sits inside the owning primitive's mutex; holding `&mut List` is
//! holding that lock.
//!
//! Invariants (every `unsafe` below relies on them):
//! - a node's [`Links`] are read or written only through `&mut List`, i.e.
//!   under the owner's lock;
//! - a linked node stays at the same address and alive until it is removed
//!   (its future is `!Unpin` and its `Drop` takes the lock and unlinks it
//!   before the memory goes away);
//! - a node is in at most one list at a time, and the caller knows whether
//!   it is linked (the primitives keep that in the node's state word, which
//!   they also only change under the lock).

use crate::loom::cell::UnsafeCell;
use std::ptr::NonNull;

/// A node's place in a list. Only touched under the list owner's lock.
#[derive(Debug)]
pub(crate) struct Links<T> {
    prev: Option<NonNull<T>>,
    next: Option<NonNull<T>>,
}

impl<T> Links<T> {
    pub(crate) const fn new() -> Links<T> {
        Links { prev: None, next: None }
    }
}

/// A type that can be linked into a [`List`].
///
/// # Safety
///
/// `links` must return the same cell for the node's whole life, and the
/// implementor must not touch that cell outside `List`'s methods.
pub(crate) unsafe trait Node: Sized {
    fn links(&self) -> &UnsafeCell<Links<Self>>;
}

/// Head and tail of the list. Lives inside a mutex.
#[derive(Debug)]
pub(crate) struct List<T: Node> {
    head: Option<NonNull<T>>,
    tail: Option<NonNull<T>>,
}

// SAFETY: the list holds pointers to nodes that are `Sync` (their shared
// fields are atomics, their cells are only touched under the lock that owns
// this list), and the list is only used through that lock, so moving it to
// (or using it from) another thread is no different from sharing `&T`.
unsafe impl<T: Node + Sync> Send for List<T> {}

/// Runs `f` on a linked node's links.
///
/// # Safety
///
/// `node` is alive (linked in a list whose lock the caller holds, or about
/// to be linked by the caller), and the caller holds that lock.
unsafe fn with_links<T: Node, R>(node: NonNull<T>, f: impl FnOnce(&mut Links<T>) -> R) -> R {
    // SAFETY: the node is alive (caller); its links are only accessed under
    // the list lock, which the caller holds, so this `&mut` is unique.
    unsafe { node.as_ref() }.links().with_mut(|p| f(unsafe { &mut *p }))
}

impl<T: Node> List<T> {
    pub(crate) const fn new() -> List<T> {
        List { head: None, tail: None }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// The oldest node, still linked.
    pub(crate) fn front(&self) -> Option<NonNull<T>> {
        self.head
    }

    /// Appends `node`.
    ///
    /// # Safety
    ///
    /// `node` is alive and in no list, and stays alive and at the same
    /// address until it is removed from this list (by `pop_front` or
    /// `remove`).
    pub(crate) unsafe fn push_back(&mut self, node: NonNull<T>) {
        let old_tail = self.tail;
        // SAFETY: `node` is alive (caller) and `&mut self` is the lock.
        unsafe {
            with_links(node, |l| {
                l.prev = old_tail;
                l.next = None;
            })
        };
        match old_tail {
            // SAFETY: the old tail is linked here, so alive (list invariant).
            Some(t) => unsafe { with_links(t, |l| l.next = Some(node)) },
            None => self.head = Some(node),
        }
        self.tail = Some(node);
    }

    /// Unlinks and returns the oldest node.
    pub(crate) fn pop_front(&mut self) -> Option<NonNull<T>> {
        let head = self.head?;
        // SAFETY: `head` is linked here, so alive; `&mut self` is the lock.
        unsafe { self.remove(head) };
        Some(head)
    }

    /// Unlinks `node`.
    ///
    /// # Safety
    ///
    /// `node` is linked in this list.
    pub(crate) unsafe fn remove(&mut self, node: NonNull<T>) {
        // SAFETY: `node` is linked here (caller), so alive; `&mut self` is
        // the lock.
        let (prev, next) = unsafe {
            with_links(node, |l| {
                let pn = (l.prev, l.next);
                l.prev = None;
                l.next = None;
                pn
            })
        };
        match prev {
            // SAFETY: `prev` is `node`'s neighbour in this list: alive.
            Some(p) => unsafe { with_links(p, |l| l.next = next) },
            None => {
                debug_assert_eq!(self.head, Some(node), "removing a node that is not in this list");
                self.head = next;
            }
        }
        match next {
            // SAFETY: `next` is `node`'s neighbour in this list: alive.
            Some(n) => unsafe { with_links(n, |l| l.prev = prev) },
            None => self.tail = prev,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    struct N {
        links: UnsafeCell<Links<N>>,
        id: u32,
    }

    // SAFETY: `links` returns the same field every time.
    unsafe impl Node for N {
        fn links(&self) -> &UnsafeCell<Links<N>> {
            &self.links
        }
    }

    fn node(id: u32) -> N {
        N { links: UnsafeCell::new(Links::new()), id }
    }

    fn ids(list: &mut List<N>) -> Vec<u32> {
        let mut out = Vec::new();
        while let Some(n) = list.pop_front() {
            // SAFETY: the nodes live on this test's stack until the end.
            out.push(unsafe { n.as_ref() }.id);
        }
        out
    }

    #[test]
    fn fifo_and_removal_from_the_middle_head_and_tail() {
        let nodes: Vec<N> = (0..5).map(node).collect();
        let mut list = List::new();
        for n in &nodes {
            // SAFETY: the nodes outlive the list's use of them.
            unsafe { list.push_back(NonNull::from(n)) };
        }
        // SAFETY: 2, 0 and 4 are linked.
        unsafe {
            list.remove(NonNull::from(&nodes[2]));
            list.remove(NonNull::from(&nodes[0]));
            list.remove(NonNull::from(&nodes[4]));
        }
        assert_eq!(ids(&mut list), vec![1, 3]);
        assert!(list.is_empty());
        // SAFETY: as above.
        unsafe { list.push_back(NonNull::from(&nodes[4])) };
        assert_eq!(ids(&mut list), vec![4]);
    }
}
