//! `task::Priority`: the scheduling class of a task (the engine's type,
//! re-exported by the `task` face).

use std::fmt;

/// The scheduling class of a task, set with
/// [`Builder::priority`](crate::task::Builder::priority).
///
/// Workers share their picks between the classes by weight: of every 13
/// picks on a worker that has work of every class, at least 8 go to
/// `Critical` tasks, at least 4 to `Normal` ones and at least 1 to
/// `Background` ones, so background work is slowed behind the others but
/// never starved. A class with nothing runnable passes its turn on.
/// [`runtime::Builder::background_workers`](crate::runtime::Builder::background_workers)
/// also caps how many workers poll `Background` tasks at the same time.
///
/// A task spawned without a class takes `Normal`, except inside a
/// `Background` task, whose children are `Background` too (so the fan-out
/// of a background job stays in the background). `Critical` is not passed
/// on: a critical task's children are `Normal`.
///
/// ```
/// use weft::task::Priority;
/// assert_eq!(Priority::default(), Priority::Normal);
/// assert_eq!(Priority::Background.to_string(), "background");
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
// The discriminants are the class's bits in the id word (`bits`): Normal
// is 0, so a task without a class has a plain id there.
#[repr(u8)]
pub enum Priority {
    /// Latency-critical work (requests): the largest share of picks.
    Critical = 1,
    /// Everything else; what a task gets unless it or its parent asks.
    #[default]
    Normal = 0,
    /// Throughput work that may wait (compaction, exports): the smallest
    /// share of picks, and capped to a number of workers if the runtime is
    /// built with `background_workers`.
    Background = 2,
}

/// How many classes there are (the length of per-class arrays, indexed by
/// `Priority::index`).
const CLASSES: usize = 3;

impl Priority {
    /// Every class, highest first (the index order).
    pub(crate) const ALL: [Priority; CLASSES] = [Priority::Critical, Priority::Normal, Priority::Background];

    /// Position in per-class arrays: highest class first.
    #[inline]
    pub(crate) fn index(self) -> usize {
        match self {
            Priority::Critical => 0,
            Priority::Normal => 1,
            Priority::Background => 2,
        }
    }

    /// The two bits the class takes in a task's id word: `Normal` is 0, so
    /// a task spawned without a class has a plain id there.
    #[inline]
    pub(crate) fn bits(self) -> u64 {
        self as u64
    }

    /// The inverse of `bits` (an unused pattern reads as `Normal`).
    #[inline]
    pub(crate) fn from_bits(bits: u64) -> Priority {
        match bits {
            1 => Priority::Critical,
            2 => Priority::Background,
            _ => Priority::Normal,
        }
    }

    /// The class a task spawned without one gets when `parent` is the class
    /// of the task that spawns it (`None`: not spawned from a task).
    /// Background is passed on, critical is not (see the type's docs).
    pub(crate) fn inherited(parent: Option<Priority>) -> Priority {
        match parent {
            Some(Priority::Background) => Priority::Background,
            _ => Priority::Normal,
        }
    }

    /// The lowercase name, as `Display` prints it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::Normal => "normal",
            Priority::Background => "background",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn bits_and_index_round_trip_for_every_class() {
        for (i, p) in Priority::ALL.into_iter().enumerate() {
            assert_eq!(Priority::from_bits(p.bits()), p);
            assert_eq!(p.index(), i);
        }
        assert_eq!(Priority::Normal.bits(), 0, "a plain id word reads as Normal");
    }

    #[test]
    fn only_background_is_inherited() {
        assert_eq!(Priority::inherited(Some(Priority::Background)), Priority::Background);
        assert_eq!(Priority::inherited(Some(Priority::Critical)), Priority::Normal);
        assert_eq!(Priority::inherited(Some(Priority::Normal)), Priority::Normal);
        assert_eq!(Priority::inherited(None), Priority::Normal);
    }

    #[test]
    fn display_names() {
        assert_eq!(Priority::Critical.to_string(), "critical");
        assert_eq!(Priority::Normal.to_string(), "normal");
        assert_eq!(Priority::Background.to_string(), "background");
    }
}
