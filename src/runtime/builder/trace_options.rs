//! The `Builder` options of the flight recorder (`rt::trace`): its ring
//! size, and a trace written at shutdown.

use super::Builder;
use std::path::PathBuf;

impl Builder {
    /// Events kept per worker by the flight recorder (default 4096,
    /// rounded up to a power of two; 0 turns it off).
    ///
    /// Each worker records its recent scheduling events (poll starts with
    /// the task id, spawns, wakes, steals, parks, netpoll batches, timer
    /// passes, retirements) in a ring of this many 32-byte slots,
    /// overwriting the oldest (a short poll takes one event);
    /// [`Handle::trace`](crate::Handle::trace) copies the rings without
    /// stopping the workers. Memory: 32 bytes × `events` per worker slot
    /// (the worker threads plus as many spare slots for compensation),
    /// plus one ring of the same size for events from outside the runtime
    /// and a small one for the monitor: 4096 events on 4 worker threads
    /// take 9 rings of 128 KiB, about 1.1 MiB. Recording costs a few plain
    /// stores per event and reads no clock: events carry the worker's
    /// cached clock, and only the polls the worker times (one in 32) show
    /// their length.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).flight_recorder(0).build().unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// assert!(rt.handle().trace().is_empty());
    /// ```
    pub fn flight_recorder(&mut self, events: usize) -> &mut Self {
        self.flight_recorder = events;
        self
    }

    /// Writes the flight recorder's trace (Chrome/Perfetto JSON, see
    /// [`Handle::trace`](crate::Handle::trace)) to `path` when the runtime
    /// shuts down, after its workers have stopped. A file that cannot be
    /// written is reported through the `log` facade (error level); the
    /// shutdown goes on.
    ///
    /// The `WEFT_TRACE` environment variable, a path, overrides this, so
    /// an operator can ask for a trace without a rebuild.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("weft-doc-trace-{}.json", std::process::id()));
    /// let rt = weft::Runtime::builder().worker_threads(1).trace_on_shutdown(&path).build().unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// drop(rt);
    /// # if std::env::var_os("WEFT_TRACE").is_none() {
    /// assert!(std::fs::read_to_string(&path).unwrap().starts_with("{\"traceEvents\":["));
    /// # }
    /// # let _ = std::fs::remove_file(&path);
    /// ```
    pub fn trace_on_shutdown(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.trace_on_shutdown = Some(path.into());
        self
    }
}
