//! The intrusive doubly linked list behind every wheel slot (and the wheel's
//! pending list): a head pointer here, the links in each entry's node.
//!
//! All three operations are O(1). They are `unsafe` because they follow raw
//! pointers; the wheel upholds their contract through its own invariant
//! (every entry reachable from one of its lists is live, and its node is
//! only touched by the wheel's owner, under the shard lock).

use crate::rt::time::entry::{with_node, Entry, Loc};
use std::ptr::NonNull;

/// Head of one list. `None` when empty.
pub(super) type Head = Option<NonNull<Entry>>;

/// Pushes `entry` at the front of `head` and records `loc` in its node.
///
/// # Safety
///
/// `entry` and every entry in the list are live and their nodes are ours
/// alone (we own the wheel, under its shard lock); `entry` is in no list.
pub(super) unsafe fn push_front(head: &mut Head, entry: NonNull<Entry>, loc: Loc) {
    let old = *head;
    // SAFETY: `entry` is live and its node ours (contract).
    unsafe {
        with_node(entry, |n| {
            debug_assert_eq!(n.loc, Loc::Unlinked, "entry linked twice");
            n.prev = None;
            n.next = old;
            n.loc = loc;
        })
    };
    if let Some(old) = old {
        // SAFETY: `old` is in the list, so live and its node ours (contract).
        unsafe { with_node(old, |n| n.prev = Some(entry)) };
    }
    *head = Some(entry);
}

/// Unlinks `entry` from the list at `head` and marks it unlinked.
///
/// # Safety
///
/// `entry` is in the list at `head`; it and its neighbours are live and
/// their nodes ours (as for [`push_front`]).
pub(super) unsafe fn unlink(head: &mut Head, entry: NonNull<Entry>) {
    // SAFETY: `entry` is live and its node ours (contract).
    let (prev, next) = unsafe {
        with_node(entry, |n| {
            n.loc = Loc::Unlinked;
            (n.prev.take(), n.next.take())
        })
    };
    match prev {
        // SAFETY: `p` is `entry`'s neighbour in the list: live, node ours.
        Some(p) => unsafe { with_node(p, |n| n.next = next) },
        None => {
            debug_assert_eq!(*head, Some(entry), "unlinking an entry from the wrong list");
            *head = next;
        }
    }
    if let Some(nx) = next {
        // SAFETY: `nx` is `entry`'s neighbour in the list: live, node ours.
        unsafe { with_node(nx, |n| n.prev = prev) };
    }
}

/// Unlinks and returns the first entry of the list, if any.
///
/// # Safety
///
/// Every entry in the list is live and its node ours (as for
/// [`push_front`]).
pub(super) unsafe fn pop_front(head: &mut Head) -> Option<NonNull<Entry>> {
    let first = (*head)?;
    // SAFETY: `first` is in the list at `head` (it is its head); the rest of
    // the contract is ours.
    unsafe { unlink(head, first) };
    Some(first)
}
