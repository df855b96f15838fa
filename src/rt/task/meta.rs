//! A task's spawn location and optional name, packed in one word of the
//! task header.
//!
//! Most tasks have no name: their word is the `&'static Location` of the
//! `spawn` call itself. A named task's word points to a boxed pair of the
//! location and the name, with the low bit set (both pointees are at least
//! 8-aligned, so the bit is free). Two words (a location and an
//! `Option<Arc<str>>`) would cost 16 more bytes per task, which is what
//! pushes a small task's cell past glibc's 128-byte fast bins
//! (docs/design/task.md, "Cell size").

use crate::loom::sync::StdArc;
use std::fmt;
use std::panic::Location;

/// Low bit of the word: it points to a `Named`, not to a `Location`.
const NAMED: usize = 1;

// Both pointees leave the low bit free.
const _: () = assert!(std::mem::align_of::<Location<'static>>() > NAMED);
const _: () = assert!(std::mem::align_of::<Named>() > NAMED);

struct Named {
    location: &'static Location<'static>,
    name: StdArc<str>,
}

/// Owns the `Named` box when the low bit is set.
pub(crate) struct TaskMeta(usize);

impl TaskMeta {
    /// Inlined into every spawn: an unnamed task's meta is one store.
    #[inline]
    pub(crate) fn new(location: &'static Location<'static>, name: Option<StdArc<str>>) -> TaskMeta {
        match name {
            None => TaskMeta(location as *const Location<'static> as usize),
            Some(name) => TaskMeta::named_new(location, name),
        }
    }

    #[cold]
    fn named_new(location: &'static Location<'static>, name: StdArc<str>) -> TaskMeta {
        let named = Box::into_raw(Box::new(Named { location, name }));
        TaskMeta(named as usize | NAMED)
    }

    fn named(&self) -> Option<&Named> {
        if self.0 & NAMED == 0 {
            return None;
        }
        // SAFETY: with the bit set, the rest of the word is the pointer from
        // `Box::into_raw` in `new`, freed only by `drop`, which takes `&mut
        // self`; the shared borrow of `self` keeps it alive.
        Some(unsafe { &*((self.0 & !NAMED) as *const Named) })
    }

    /// Where the task was spawned.
    pub(crate) fn location(&self) -> &'static Location<'static> {
        match self.named() {
            Some(n) => n.location,
            // SAFETY: with the bit clear, the word is a `&'static Location`
            // (see `new`), valid for the whole program.
            None => unsafe { &*(self.0 as *const Location<'static>) },
        }
    }

    /// The name given with `task::Builder::name`, if any.
    pub(crate) fn name(&self) -> Option<&StdArc<str>> {
        self.named().map(|n| &n.name)
    }
}

impl Drop for TaskMeta {
    #[inline]
    fn drop(&mut self) {
        if self.0 & NAMED != 0 {
            drop_named(self.0 & !NAMED);
        }
    }
}

/// Frees a named task's `Named` box (out of line: most tasks have none).
#[cold]
fn drop_named(ptr: usize) {
    // SAFETY: called once, from `TaskMeta::drop`, with the pointer that came
    // from `Box::into_raw` in `named_new`.
    drop(unsafe { Box::from_raw(ptr as *mut Named) });
}

// SAFETY: the word is either a `&'static Location` (Sync) or an owned box of
// a location and an `Arc<str>`, both Send + Sync; nothing is mutated after
// `new`.
unsafe impl Send for TaskMeta {}
// SAFETY: as above: shared access only reads.
unsafe impl Sync for TaskMeta {}

impl fmt::Debug for TaskMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskMeta").field("location", &self.location()).field("name", &self.name()).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn unnamed_and_named_round_trip_and_fit_one_word() {
        assert_eq!(std::mem::size_of::<TaskMeta>(), std::mem::size_of::<usize>());
        let here = Location::caller();
        let a = TaskMeta::new(here, None);
        assert!(std::ptr::eq(a.location(), here));
        assert!(a.name().is_none());
        let b = TaskMeta::new(here, Some(StdArc::from("worker")));
        assert!(std::ptr::eq(b.location(), here));
        assert_eq!(b.name().map(|n| &**n), Some("worker"));
    }
}
