//! The flight recorder: every worker keeps a fixed ring of its recent
//! scheduling events (polls, spawns, wakes, steals, parks, netpoll
//! batches, timer passes, retirements), the monitor one of its own (stalls,
//! compensations), and threads outside the runtime share one more; a
//! snapshot copies them all without stopping anyone and renders them as
//! Chrome/Perfetto trace-event JSON.
//!
//! - `ring.rs`: one ring, single writer, lock-free readers (a per-slot
//!   seqlock; the protocol and its argument are in its module doc and in
//!   docs/design/trace.md).
//! - `event.rs`: event kinds, their encoding, the writer's `Recorder`.
//! - `snapshot.rs`: the public `TraceSnapshot`, built from copies of the
//!   rings.
//! - `chrome.rs`: the JSON writer.
//!
//! Who writes what:
//! - worker `i`'s ring: only the thread that holds worker `i`'s `Core`
//!   (its `Recorder` lives there), stamped with the core's cached clock;
//! - the monitor's ring: only the monitor thread;
//! - the external ring: any other thread, one at a time under a try-lock;
//!   an event that finds it taken is dropped (and counted), never waited
//!   for.

mod chrome;
pub(crate) mod event;
pub(crate) mod ring;
mod snapshot;

pub(crate) use event::{Kind, Recorder};
pub use snapshot::TraceSnapshot;

use crate::loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::loom::sync::{Arc, Mutex};
use ring::Ring;
use std::collections::VecDeque;

/// Events per worker ring unless the builder says otherwise.
pub(crate) const DEFAULT_CAPACITY: usize = 4096;
/// The monitor's ring holds at most this many events (it records only
/// stalls and compensations).
const MONITOR_CAPACITY: usize = 256;
/// How many stall snapshots a runtime keeps.
pub(crate) const STALL_TRACES: usize = 4;

/// The rings of one runtime, and the snapshots its monitor took at stalls.
pub(crate) struct Tracer {
    /// One ring per worker slot; empty when the recorder is off.
    workers: Box<[Arc<Ring>]>,
    /// Events from threads that are not workers of this runtime.
    external: Option<External>,
    /// The monitor's events.
    monitor: Option<Arc<Ring>>,
    /// Snapshots taken when the monitor reported a stall, oldest first.
    stall_traces: Mutex<VecDeque<TraceSnapshot>>,
}

/// The shared ring for outside threads, with its try-lock.
struct External {
    /// The try-lock: true while a thread writes.
    busy: AtomicBool,
    /// The next event's number (read and written under `busy`).
    pos: AtomicU64,
    /// The last stamp written (under `busy`), so stamps never go back.
    last_ts: AtomicU64,
    /// Events dropped because another thread held `busy`.
    dropped: AtomicU64,
    ring: Ring,
}

impl Tracer {
    /// Rings of `capacity` events (rounded up to a power of two) for
    /// `workers` worker slots; `capacity` 0 turns the recorder off.
    pub(crate) fn new(workers: usize, capacity: usize) -> Tracer {
        let on = capacity > 0;
        Tracer {
            workers: if on {
                (0..workers).map(|_| Arc::new(Ring::new(capacity))).collect()
            } else {
                Box::new([])
            },
            external: on.then(|| External {
                busy: AtomicBool::new(false),
                pos: AtomicU64::new(0),
                last_ts: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                ring: Ring::new(capacity),
            }),
            monitor: on.then(|| Arc::new(Ring::new(capacity.min(MONITOR_CAPACITY)))),
            stall_traces: Mutex::new(VecDeque::new()),
        }
    }

    /// The recorder for worker slot `index` (its `Core` keeps it).
    pub(crate) fn worker_recorder(&self, index: usize) -> Recorder {
        Recorder::new(self.workers.get(index).cloned())
    }

    /// The monitor thread's recorder (one monitor per runtime).
    #[cfg_attr(all(test, loom), allow(dead_code))] // the monitor's; no monitor under loom
    pub(crate) fn monitor_recorder(&self) -> Recorder {
        Recorder::new(self.monitor.clone())
    }

    /// Records an event from a thread that is not one of this runtime's
    /// workers (or is one without its core: inside `block_in_place`),
    /// stamped `ts` or, if `None`, with the coarse clock. Dropped if
    /// another thread is recording one right now.
    pub(crate) fn record_external(&self, kind: Kind, subject: u64, arg: u64, ts: Option<u64>) {
        let Some(ext) = &self.external else { return };
        // Relaxed: a hint that saves the RMW when the lock is taken; the
        // swap decides.
        // Acquire (swap): pairs with the Release store that ends the
        // previous holder's turn, so its `pos` and `last_ts` are seen.
        if ext.busy.load(Ordering::Relaxed) || ext.busy.swap(true, Ordering::Acquire) {
            // Relaxed: a count for the snapshot, outside any protocol.
            ext.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // Relaxed (these three): written only under the lock, whose
        // Acquire/Release carries them from holder to holder. The stamp is
        // read under the lock so that the ring's stamps follow its order.
        let pos = ext.pos.load(Ordering::Relaxed);
        let ts = ts.unwrap_or_else(crate::rt::clock::coarse_now_ns).max(ext.last_ts.load(Ordering::Relaxed));
        ext.ring.write(pos, [ts, subject, kind as u64 | arg << 8]);
        ext.pos.store(pos + 1, Ordering::Relaxed);
        ext.last_ts.store(ts, Ordering::Relaxed);
        // Release: pairs with the next holder's Acquire swap.
        ext.busy.store(false, Ordering::Release);
    }

    /// A snapshot of every ring, now. Never waits for a writer.
    /// `polling(i)` is the task worker `i` is polling, if any.
    pub(crate) fn snapshot(&self, polling: &dyn Fn(usize) -> Option<u64>) -> TraceSnapshot {
        let mut builder = snapshot::Builder::new();
        for (index, ring) in self.workers.iter().enumerate() {
            builder.track(format!("worker {index}"), ring, polling(index));
        }
        if let Some(ext) = &self.external {
            builder.track("outside the runtime".to_string(), &ext.ring, None);
            // Relaxed: a count, read for information.
            builder.dropped(ext.dropped.load(Ordering::Relaxed));
        }
        if let Some(ring) = &self.monitor {
            builder.track("monitor".to_string(), ring, None);
        }
        builder.finish()
    }

    /// True if the recorder is on.
    #[cfg_attr(all(test, loom), allow(dead_code))] // the monitor's; no monitor under loom
    pub(crate) fn is_on(&self) -> bool {
        !self.workers.is_empty()
    }

    /// Keeps `snapshot`, taken when the monitor reported a stall (the
    /// newest `STALL_TRACES` are kept).
    #[cfg_attr(all(test, loom), allow(dead_code))] // the monitor's; no monitor under loom
    pub(crate) fn keep_stall_trace(&self, snapshot: TraceSnapshot) {
        let mut kept = self.stall_traces.lock();
        if kept.len() == STALL_TRACES {
            kept.pop_front();
        }
        kept.push_back(snapshot);
    }

    /// The kept stall snapshots, oldest first.
    pub(crate) fn stall_traces(&self) -> Vec<TraceSnapshot> {
        self.stall_traces.lock().iter().cloned().collect()
    }
}
