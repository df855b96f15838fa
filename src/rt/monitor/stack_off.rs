//! Stall stacks switched off (no `stall-stacks` feature, not Unix, or a
//! loom model): the same surface as `stack.rs`, capturing nothing.

/// One worker's capture slot: empty.
#[derive(Debug, Default)]
pub(crate) struct StackSlot;

/// Nothing to undo when the worker's frame ends.
pub(crate) struct Registered;

impl StackSlot {
    /// Records nothing.
    pub(crate) fn register_current(&self) -> Registered {
        Registered
    }

    /// No stack is ever taken.
    #[cfg_attr(all(test, loom), allow(dead_code))]
    pub(crate) fn capture(&self, _cpu_ns: impl Fn() -> Option<u64>) -> Option<Box<[usize]>> {
        None
    }
}
