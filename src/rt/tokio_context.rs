//! Tokio's runtime context on weft's threads (feature `tokio-context`).
//!
//! Crates written for tokio (reqwest, hyper-util's pooled client, tower's
//! timeouts, many database drivers) call `tokio::spawn`, `tokio::time` or
//! `tokio::net`, which find tokio's runtime through a thread-local and
//! panic when there is none. A runtime built with
//! `Builder::tokio_context(true)` makes every one of its threads (workers,
//! compensating spares, blocking threads, and the thread inside
//! `Runtime::block_on`) enter the context of one tokio runtime, so those
//! calls work inside weft tasks.
//!
//! The tokio runtime is process-wide, started on first use, with a single
//! worker thread (`weft-tokio-context`) that drives tokio's I/O and timer
//! drivers and runs what is handed to `tokio::spawn`. What weft spawns
//! stays on weft's scheduler; only tokio's own resources go through that
//! thread: a tokio socket's readiness or a tokio timer's expiry wakes the
//! weft task from there, one cross-thread wake per event, and a
//! `tokio::spawn`ed task runs on that one thread. Entering costs a
//! thread-local write when a thread starts, nothing per poll.
//!
//! The guard a thread holds is tokio's `EnterGuard`; guards must be
//! dropped in the reverse order of entering, which holds here because each
//! is scoped to its thread's main function (or to one `block_on` call).

#[cfg(all(feature = "tokio-context", not(all(test, loom))))]
mod on {
    use std::io;
    // The one tokio runtime this process needs; never dropped (its thread
    // lives as long as the process, like a lazily started global driver).
    use std::sync::{Mutex, OnceLock};

    static STARTING: Mutex<()> = Mutex::new(());
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

    /// The process-wide tokio runtime, started on first call.
    pub(crate) fn handle() -> io::Result<&'static tokio::runtime::Handle> {
        if let Some(rt) = RUNTIME.get() {
            return Ok(rt.handle());
        }
        // One builder at a time, so no second runtime is ever built and then
        // dropped (dropping one inside an async context panics).
        let _starting = STARTING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(rt) = RUNTIME.get() {
            return Ok(rt.handle());
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("weft-tokio-context")
            .enable_all()
            .build()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("weft: cannot start the tokio runtime for tokio_context: {e}"),
                )
            })?;
        Ok(RUNTIME.get_or_init(|| rt).handle())
    }

    /// Enters tokio's context on this thread until the guard drops. Only
    /// called after `handle()` succeeded (the runtime builder starts it).
    pub(crate) fn enter() -> tokio::runtime::EnterGuard<'static> {
        RUNTIME
            .get()
            .expect("weft: the tokio runtime is started when the weft runtime is built")
            .handle()
            .enter()
    }
}

#[cfg(all(feature = "tokio-context", not(all(test, loom))))]
pub(crate) use on::handle;

/// What a thread of a runtime built with `tokio_context` holds while it
/// runs (nothing without the feature).
#[cfg(all(feature = "tokio-context", not(all(test, loom))))]
pub(crate) type Guard = tokio::runtime::EnterGuard<'static>;
#[cfg(not(all(feature = "tokio-context", not(all(test, loom)))))]
pub(crate) type Guard = ();

/// Enters tokio's context on this thread if the runtime asked for it.
pub(crate) fn enter(enabled: bool) -> Option<Guard> {
    #[cfg(all(feature = "tokio-context", not(all(test, loom))))]
    {
        enabled.then(on::enter)
    }
    #[cfg(not(all(feature = "tokio-context", not(all(test, loom)))))]
    {
        debug_assert!(!enabled, "tokio_context is only settable with the feature");
        None
    }
}
