//! `TraceSnapshot`: the flight recorder's rings, copied at one moment and
//! decoded, ready to be written as trace-event JSON.

use super::event::Event;
use super::ring::Ring;
use crate::loom::sync::StdArc as Arc;
use std::fmt;
use std::io;
use std::path::Path;

/// What the runtime's flight recorder held at one moment: each worker's
/// most recent scheduling events (polls, spawns, wakes, steals, parks,
/// netpoll batches, timer passes), the monitor's (stalls, compensations)
/// and those of threads outside the runtime. From
/// [`Handle::trace`](crate::Handle::trace) and
/// [`Handle::recent_stall_traces`](crate::Handle::recent_stall_traces).
///
/// Write it as Chrome/Perfetto trace-event JSON and open the file in
/// <https://ui.perfetto.dev> (or `chrome://tracing`): one track per
/// worker, each poll a slice named after its task, arrows from a wake
/// or spawn to the woken task's next poll and from a steal's victim to
/// the thief.
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     let tasks: Vec<_> = (0..4).map(|i| weft::spawn(async move { i })).collect();
///     for t in tasks {
///         t.await.unwrap();
///     }
/// });
/// let json = rt.handle().trace().to_json();
/// assert!(json.starts_with("{\"traceEvents\":["));
/// ```
///
/// Cheap to clone (the events are shared).
#[derive(Clone)]
pub struct TraceSnapshot {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) tracks: Vec<Track>,
    /// When the copy was taken (`clock::now_ns` scale).
    pub(super) taken_at: u64,
    /// Events from outside threads dropped because another one was
    /// recording at the same moment (since the runtime started).
    pub(super) dropped_external: u64,
}

/// One ring's events, oldest first.
pub(super) struct Track {
    pub(super) name: String,
    pub(super) events: Vec<Event>,
    /// The task the ring's worker was polling when the copy was taken.
    pub(super) polling: Option<u64>,
}

impl TraceSnapshot {
    /// The trace as Chrome/Perfetto trace-event JSON
    /// (`{"traceEvents":[...]}`).
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = self.write_chrome_json(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Writes the trace as Chrome/Perfetto trace-event JSON to `out`.
    pub fn write_chrome_json(&self, out: &mut impl io::Write) -> io::Result<()> {
        super::chrome::write(&self.inner, out)
    }

    /// Writes the JSON to a new file at `path` (replacing one that is
    /// there).
    pub fn write_to_file(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let mut file = io::BufWriter::new(std::fs::File::create(path)?);
        self.write_chrome_json(&mut file)?;
        io::Write::flush(&mut file)
    }

    /// The number of events copied (all tracks).
    pub fn len(&self) -> usize {
        self.inner.tracks.iter().map(|t| t.events.len()).sum()
    }

    /// True if no event was recorded (or the recorder is off:
    /// `Builder::flight_recorder(0)`).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(all(test, loom))]
impl TraceSnapshot {
    /// Events from outside threads dropped at a contended try-lock.
    pub(crate) fn dropped_outside(&self) -> u64 {
        self.inner.dropped_external
    }
}

impl fmt::Debug for TraceSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceSnapshot")
            .field("tracks", &self.inner.tracks.len())
            .field("events", &self.len())
            .finish_non_exhaustive()
    }
}

/// Copies rings into a snapshot.
pub(super) struct Builder {
    tracks: Vec<Track>,
    dropped: u64,
    raw: Vec<super::ring::RawEvent>,
}

impl Builder {
    pub(super) fn new() -> Builder {
        Builder { tracks: Vec::new(), dropped: 0, raw: Vec::new() }
    }

    /// Copies `ring` as the track `name`: its complete events in their
    /// order, stamps made non-decreasing (each writer's clock is
    /// monotonic; this only guards the rendering).
    pub(super) fn track(&mut self, name: String, ring: &Ring, polling: Option<u64>) {
        self.raw.clear();
        ring.copy(&mut self.raw);
        self.raw.sort_unstable_by_key(|e| e.pos);
        let mut events: Vec<Event> = self.raw.iter().filter_map(|&raw| Event::decode(raw)).collect();
        let mut last = 0;
        for e in &mut events {
            e.ts = e.ts.max(last);
            last = e.ts;
        }
        self.tracks.push(Track { name, events, polling });
    }

    pub(super) fn dropped(&mut self, n: u64) {
        self.dropped = n;
    }

    pub(super) fn finish(self) -> TraceSnapshot {
        TraceSnapshot {
            inner: Arc::new(Inner {
                tracks: self.tracks,
                taken_at: crate::rt::clock::now_ns(),
                dropped_external: self.dropped,
            }),
        }
    }
}
