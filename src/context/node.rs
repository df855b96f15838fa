//! One node of the cancellation tree.
//!
//! Invariants (docs/design/context.md):
//! 1. `err` goes from `NONE` to a reason once, under the node's lock, and
//!    never changes again. The cancel that sets it takes the node's
//!    children out under that same lock, then cancels them (an explicit
//!    stack, so a deep chain cannot overflow the thread's stack) and wakes
//!    the node's `cancelled()` waiters.
//! 2. A child registers in its parent's `children` under the parent's
//!    lock, and only if the parent is not cancelled then; otherwise it is
//!    born cancelled with the parent's reason. So a cancel racing the
//!    creation of a child either finds the child in the map or the child
//!    finds the cancel: no child of a cancelled parent stays live.
//! 3. A parent holds its children weakly; a child holds its parent
//!    strongly. The last handle of a child going away removes its entry
//!    from the parent (a no-op if a cancel already took the map), so a
//!    long-lived parent does not grow with short-lived children.
//! 4. A deadline is checked lazily: by `err()` and by the timer of a
//!    `cancelled()` future; whichever first sees it passed cancels the
//!    node with `DeadlineExceeded`. A child's deadline is never later than
//!    its parent's, so no node needs a timer for its ancestors.
//! 5. A node reads as done as soon as any ancestor is: `err` walks up the
//!    parents and, finding a cancelled one, cancels this node itself
//!    (helping the propagation that has not reached it yet). So a
//!    `cancel` that returns early because another cancel of the same
//!    node is still propagating does not leave a live-looking descendant
//!    behind it.

use crate::loom::sync::atomic::{
    AtomicUsize,
    Ordering::{Acquire, Release},
};
use crate::loom::sync::{Arc, Mutex, Weak};
use crate::sync::Notify;
use crate::time::Instant;
use std::collections::HashMap;

/// `err` values.
pub(super) const NONE: usize = 0;
pub(super) const CANCELLED: usize = 1;
pub(super) const DEADLINE: usize = 2;

pub(super) struct Node {
    parent: Option<Arc<Node>>,
    /// Key of this node in its parent's `children`.
    key: u64,
    pub(super) deadline: Option<Instant>,
    /// `NONE`, `CANCELLED` or `DEADLINE` (invariant 1).
    err: AtomicUsize,
    synced: Mutex<Synced>,
    /// Woken (`notify_waiters`) once, by the cancel that sets `err`.
    pub(super) notify: Notify,
}

struct Synced {
    children: HashMap<u64, Weak<Node>>,
    next_key: u64,
}

impl Node {
    /// A root node (a child of the background context).
    pub(super) fn root(deadline: Option<Instant>) -> Arc<Node> {
        Arc::new(Node::new(None, 0, deadline, NONE))
    }

    fn new(parent: Option<Arc<Node>>, key: u64, deadline: Option<Instant>, err: usize) -> Node {
        Node {
            parent,
            key,
            deadline,
            err: AtomicUsize::new(err),
            synced: Mutex::new(Synced { children: HashMap::new(), next_key: 0 }),
            notify: Notify::new(),
        }
    }

    /// A child of `parent`, with the earlier of the two deadlines
    /// (invariant 2 and 4).
    pub(super) fn child(parent: &Arc<Node>, deadline: Option<Instant>) -> Arc<Node> {
        let deadline = match (parent.deadline, deadline) {
            (Some(p), Some(d)) => Some(p.min(d)),
            (p, d) => p.or(d),
        };
        let mut synced = parent.synced.lock();
        // Acquire: `err` only changes under the lock we hold, which
        // already orders us after the cancel; Acquire keeps it uniform.
        let parent_err = parent.err.load(Acquire);
        if parent_err != NONE {
            drop(synced);
            return Arc::new(Node::new(Some(parent.clone()), u64::MAX, deadline, parent_err));
        }
        let key = synced.next_key;
        synced.next_key += 1;
        let child = Arc::new(Node::new(Some(parent.clone()), key, deadline, NONE));
        synced.children.insert(key, Arc::downgrade(&child));
        child
    }

    /// The reason this node is done, if it is; a passed deadline cancels
    /// it now (invariant 4).
    pub(super) fn err(self: &Arc<Node>) -> usize {
        // Acquire: pairs with the Release store in `cancel`, so a caller
        // that sees the cancel also sees what the canceller did before.
        let err = self.err.load(Acquire);
        if err != NONE {
            return err;
        }
        // Invariant 5: an ancestor's cancel may still be on its way down
        // to us (it set the ancestor's `err`, took its children, and has
        // not reached this node yet). Finish it here, so that once any
        // `cancel` of an ancestor has returned, every descendant reads as
        // done, as in Go, where a cancel holds the parent's lock for the
        // whole propagation.
        let mut ancestor = self.parent.as_ref();
        while let Some(node) = ancestor {
            // Acquire: pairs with the Release store in `cancel`.
            let reason = node.err.load(Acquire);
            if reason != NONE {
                self.cancel(reason);
                return self.err.load(Acquire);
            }
            ancestor = node.parent.as_ref();
        }
        if let Some(d) = self.deadline {
            if Instant::now() >= d {
                self.cancel(DEADLINE);
                return self.err.load(Acquire);
            }
        }
        NONE
    }

    /// Cancels this node and its descendants with `reason` (a no-op on a
    /// node already cancelled: the first reason stays).
    pub(super) fn cancel(self: &Arc<Node>, reason: usize) {
        let mut stack = vec![self.clone()];
        while let Some(node) = stack.pop() {
            let children = {
                let mut synced = node.synced.lock();
                // Acquire: as in `child`.
                if node.err.load(Acquire) != NONE {
                    // Already cancelled: that cancel handles its subtree.
                    continue;
                }
                // Release: pairs with the Acquire loads in `err`.
                node.err.store(reason, Release);
                std::mem::take(&mut synced.children)
            };
            node.notify.notify_waiters();
            stack.extend(children.into_values().filter_map(|w| w.upgrade()));
        }
    }

    /// Live children registered now (for tests of invariant 3).
    #[cfg(test)]
    pub(super) fn child_count(&self) -> usize {
        self.synced.lock().children.len()
    }
}

impl Drop for Node {
    /// Invariant 3: unregister from the parent.
    fn drop(&mut self) {
        if let Some(parent) = &self.parent {
            let removed = parent.synced.lock().children.remove(&self.key);
            drop(removed);
        }
    }
}
