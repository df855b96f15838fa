//! The runtime-wide services beside the scheduler: the I/O driver, the
//! timer shards, the blocking pool, the task-cell depot, the registry of
//! `LocalSet`s and the monitor's stall log.
//!
//! The scheduler decides who runs what; these are what tasks and workers
//! use while they run. All of them are built once, complete, from a
//! `Config`, before any worker starts; none is replaced afterwards.

use crate::loom::sync::{Arc, Mutex};
use crate::rt::blocking::{self, BlockingPool};
use crate::rt::local::LocalSetShared;
use crate::rt::monitor::StallLog;
use crate::rt::netpoll::Driver;
use crate::rt::task::cell_cache::CellDepot;
use crate::rt::time::TimerShards;
use std::io;

/// What the services are built from.
pub(crate) struct Config {
    /// Timer wheels (normally one per worker slot).
    pub(crate) timer_shards: usize,
    /// The blocking pool's settings.
    pub(crate) blocking: blocking::Config,
    /// Recycle task cells in a depot (`Builder::task_cell_cache`).
    pub(crate) task_cell_cache: bool,
    /// Every thread of the runtime enters tokio's context
    /// (`Builder::tokio_context`, `rt::tokio_context`).
    pub(crate) tokio_context: bool,
}

/// The runtime-wide services (see the module doc).
pub(crate) struct Services {
    /// The netpoller (shared with every I/O object, which keeps it alive).
    driver: Arc<Driver>,
    /// One timer wheel per worker (docs/design/timers.md).
    timers: TimerShards,
    /// The blocking pool (`spawn_blocking`; docs/design/blocking.md).
    blocking: BlockingPool,
    /// Where task cells past glibc's fast bins are recycled (`None`: off,
    /// `Builder::task_cell_cache(false)`, and under loom).
    cell_depot: Option<CellDepot>,
    /// `LocalSet`s first driven inside this runtime, for task dumps (a set
    /// adds itself on its first drive and removes itself when dropped).
    local_sets: Mutex<Vec<Arc<LocalSetShared>>>,
    /// Recent stall events (written by the monitor, read by
    /// `Handle::recent_stalls`).
    stall_log: Mutex<StallLog>,
    /// See `Config::tokio_context`.
    tokio_context: bool,
}

impl Services {
    /// Every service, from `config`. Fails only if the netpoller cannot be
    /// created.
    pub(crate) fn new(config: Config) -> io::Result<Services> {
        let driver = Arc::new(Driver::new()?);
        let timers = TimerShards::new(config.timer_shards);
        let blocking = BlockingPool::new(config.blocking);
        // A blocking thread going idle may be what a paused clock waits for
        // (docs/design/test-clock.md): tell the netpoller's owner.
        let (clock, kick) = (timers.shared_clock(), driver.clone());
        blocking.set_idle_hook(Box::new(move || {
            if clock.is_paused() {
                kick.wake();
            }
        }));
        Ok(Services {
            driver,
            timers,
            blocking,
            cell_depot: config.task_cell_cache.then(CellDepot::new),
            local_sets: Mutex::new(Vec::new()),
            stall_log: Mutex::new(StallLog::default()),
            tokio_context: config.tokio_context,
        })
    }

    pub(crate) fn driver(&self) -> &Arc<Driver> {
        &self.driver
    }

    pub(crate) fn timers(&self) -> &TimerShards {
        &self.timers
    }

    pub(crate) fn blocking(&self) -> &BlockingPool {
        &self.blocking
    }

    pub(crate) fn cell_depot(&self) -> Option<&CellDepot> {
        self.cell_depot.as_ref()
    }

    /// Whether the runtime's threads enter tokio's context.
    pub(crate) fn tokio_context(&self) -> bool {
        self.tokio_context
    }

    /// The monitor's stall log.
    pub(crate) fn stall_log(&self) -> &Mutex<StallLog> {
        &self.stall_log
    }

    /// Lists `set` for task dumps.
    pub(crate) fn register_local_set(&self, set: Arc<LocalSetShared>) {
        self.local_sets.lock().push(set);
    }

    /// Unlists `set` (it is being dropped).
    pub(crate) fn unregister_local_set(&self, set: &Arc<LocalSetShared>) {
        self.local_sets.lock().retain(|s| !Arc::ptr_eq(s, set));
    }

    /// The listed sets, cloned out so that no lock is held while they are
    /// walked.
    pub(crate) fn local_sets(&self) -> Vec<Arc<LocalSetShared>> {
        self.local_sets.lock().clone()
    }

    /// Shutdown: timers and I/O wake whoever waits on them, so a task or
    /// `block_on` future waiting there sees the shutdown.
    pub(crate) fn shutdown(&self) {
        self.timers.shutdown();
        self.driver.shutdown();
    }
}
