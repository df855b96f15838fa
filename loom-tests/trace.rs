//! The flight recorder's ring (`src/rt/trace/ring.rs`): a reader copying
//! the ring while its single writer wraps it never gets a torn event (one
//! whose words come from two different writes), and the external ring's
//! try-lock never lets two writers into one slot (an event is either
//! recorded whole or counted as dropped). docs/design/trace.md.

use super::model;
use crate::loom::sync::Arc;
use crate::rt::trace::event::Kind;
use crate::rt::trace::ring::{RawEvent, Ring};
use crate::rt::trace::Tracer;
use loom::thread;

/// What the writer stores as event `pos`: two events' words never mix
/// into a third event's.
fn payload(pos: u64) -> [u64; 3] {
    [pos + 100, pos + 200, pos + 300]
}

fn check(events: &[RawEvent]) {
    for e in events {
        assert_eq!(e.words, payload(e.pos), "torn event {e:?}");
    }
}

/// A two-slot ring written three times (the third write wraps onto the
/// first slot) while another thread copies it, twice.
#[test]
fn a_reader_copying_while_the_writer_wraps_never_sees_a_torn_event() {
    model(|| {
        let ring = Arc::new(Ring::new(2));
        let writer = {
            let ring = ring.clone();
            thread::spawn(move || {
                for pos in 0..3 {
                    ring.write(pos, payload(pos));
                }
            })
        };
        let mut out = Vec::new();
        ring.copy(&mut out);
        check(&out);
        out.clear();
        ring.copy(&mut out);
        check(&out);
        writer.join().unwrap();
        out.clear();
        ring.copy(&mut out);
        check(&out);
        let mut positions: Vec<u64> = out.iter().map(|e| e.pos).collect();
        positions.sort_unstable();
        assert_eq!(positions, [1, 2], "after the writer: the newest two events");
    });
}

/// Two outside threads record at once while a snapshot is taken: every
/// event is recorded whole or dropped (counted), never half-written.
#[test]
fn outside_threads_racing_for_the_external_ring_record_or_drop_whole_events() {
    model(|| {
        let tracer = Arc::new(Tracer::new(1, 4));
        let threads: Vec<_> = (0..2u64)
            .map(|i| {
                let tracer = tracer.clone();
                thread::spawn(move || tracer.record_external(Kind::Wake, 10 + i, 0, None))
            })
            .collect();
        let during = tracer.snapshot(&|_| None);
        assert!(during.len() <= 2);
        for t in threads {
            t.join().unwrap();
        }
        let after = tracer.snapshot(&|_| None);
        assert_eq!(after.len() as u64 + after.dropped_outside(), 2, "an event was lost uncounted");
    });
}
