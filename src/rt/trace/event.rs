//! What the flight recorder records: event kinds, their three-word
//! encoding in a ring slot, and the single writer's handle (`Recorder`).
//!
//! Words: `[timestamp (clock::now_ns scale), subject, kind | arg << 8]`.
//! The subject is a task id for task events, a worker index for steals
//! (the victim) and compensations, 0 where there is none.

use super::ring::{RawEvent, Ring};
use crate::loom::sync::Arc;

/// An event kind (the low byte of the third word).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// A worker starts polling task `subject`.
    PollStart = 1,
    /// The poll of task `subject` returned (recorded for timed polls only:
    /// an untimed poll ends on its start stamp, and the next event of its
    /// worker that is not a spawn, wake or `block_in_place` closes it).
    PollEnd = 2,
    /// Task `subject` was spawned (queued for its first poll).
    Spawn = 3,
    /// Task `subject` was woken (by the ring's owner: a worker, or an
    /// outside thread in the external ring).
    Wake = 4,
    /// `arg` tasks were stolen from worker `subject`.
    Steal = 5,
    /// The worker went to sleep.
    Park = 6,
    /// The worker woke up.
    Unpark = 7,
    /// A netpoll returned `arg` events.
    Netpoll = 8,
    /// `arg` timers fired.
    Timers = 9,
    /// The worker left the active set (CPU quota, end of a compensation).
    Retire = 10,
    /// The worker came back into the active set.
    Unretire = 11,
    /// Task `subject` entered `block_in_place` (`arg` 1 if a spare worker
    /// was let in for it).
    BlockInPlace = 12,
    /// Task `subject` left `block_in_place`.
    BlockInPlaceEnd = 13,
    /// The monitor let a spare worker in for stalled worker `arg`.
    Compensate = 14,
    /// The compensation for worker `arg` ended.
    CompensateEnd = 15,
    /// Task `subject`'s poll on worker `arg` was reported as a stall.
    StallBegin = 16,
    /// That poll returned.
    StallEnd = 17,
}

impl Kind {
    fn from_u8(byte: u8) -> Option<Kind> {
        use Kind::*;
        const ALL: [Kind; 17] = [
            PollStart,
            PollEnd,
            Spawn,
            Wake,
            Steal,
            Park,
            Unpark,
            Netpoll,
            Timers,
            Retire,
            Unretire,
            BlockInPlace,
            BlockInPlaceEnd,
            Compensate,
            CompensateEnd,
            StallBegin,
            StallEnd,
        ];
        ALL.get(usize::from(byte).wrapping_sub(1)).copied()
    }

    /// The name shown in the trace viewer.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::PollStart | Kind::PollEnd => "poll",
            Kind::Spawn => "spawn",
            Kind::Wake => "wake",
            Kind::Steal => "steal",
            Kind::Park => "park",
            Kind::Unpark => "unpark",
            Kind::Netpoll => "netpoll",
            Kind::Timers => "timers fired",
            Kind::Retire => "retire",
            Kind::Unretire => "unretire",
            Kind::BlockInPlace => "block_in_place",
            Kind::BlockInPlaceEnd => "block_in_place end",
            Kind::Compensate => "compensate",
            Kind::CompensateEnd => "compensate end",
            Kind::StallBegin => "stall",
            Kind::StallEnd => "stall end",
        }
    }
}

/// A decoded event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    /// Its number in its ring's sequence.
    pub(crate) pos: u64,
    /// `clock::now_ns` scale (nanoseconds since the process epoch, plus 1).
    pub(crate) ts: u64,
    pub(crate) kind: Kind,
    pub(crate) subject: u64,
    pub(crate) arg: u64,
}

impl Event {
    /// `None` for a slot whose kind byte is not a kind (cannot happen for
    /// a complete slot; the reader drops it rather than trust it).
    pub(crate) fn decode(raw: RawEvent) -> Option<Event> {
        let [ts, subject, tail] = raw.words;
        let kind = Kind::from_u8(tail as u8)?;
        Some(Event { pos: raw.pos, ts, kind, subject, arg: tail >> 8 })
    }
}

/// The single writer's handle on a ring: the ring and its event count.
/// A worker's lives in its `Core`, the monitor's in its stall detector.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    /// `None`: the flight recorder is off.
    ring: Option<Arc<Ring>>,
    /// Events written so far (the next event's number).
    pos: u64,
}

impl Recorder {
    pub(crate) fn new(ring: Option<Arc<Ring>>) -> Recorder {
        Recorder { ring, pos: 0 }
    }

    /// Records one event stamped `ts`. A few plain stores; nothing when
    /// the recorder is off.
    #[inline]
    pub(crate) fn record(&mut self, ts: u64, kind: Kind, subject: u64, arg: u64) {
        if let Some(ring) = &self.ring {
            ring.write(self.pos, [ts, subject, kind as u64 | arg << 8]);
            self.pos += 1;
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn every_kind_survives_the_encoding_and_unknown_bytes_are_dropped() {
        for byte in 1..=17u8 {
            let kind = Kind::from_u8(byte).unwrap();
            assert_eq!(kind as u8, byte);
            let raw = RawEvent { pos: 3, words: [10, 42, kind as u64 | 7 << 8] };
            let e = Event::decode(raw).unwrap();
            assert_eq!((e.pos, e.ts, e.kind, e.subject, e.arg), (3, 10, kind, 42, 7));
        }
        assert!(Event::decode(RawEvent { pos: 0, words: [1, 1, 0] }).is_none());
        assert!(Event::decode(RawEvent { pos: 0, words: [1, 1, 18] }).is_none());
    }
}
