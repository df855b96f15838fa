//! The engine: everything that runs tasks, below the public modules.
//!
//! - `scheduler`: workers, their queues and runnext slots, the injector,
//!   stealing, the sleep protocol, parking, stall compensation.
//! - `task`: the task cell (state word, vtable, harness, waker, owned
//!   list, cell cache), `JoinHandle`, and task dumps.
//! - `local`: the engine half of a `LocalSet`.
//! - `blocking`: the elastic pool behind `spawn_blocking`.
//! - `netpoll`: the I/O driver the workers poll (no reactor thread).
//! - `time`: the timer wheels, one shard per worker.
//! - `monitor`: the sysmon thread (stall detection, quota tracking).
//! - `services`: the runtime-wide services beside the scheduler (I/O
//!   driver, timer shards, blocking pool, cell depot, `LocalSet` registry).
//! - `context`: what the current thread is (worker, `block_on`, entered).
//! - `coop`: the per-task operation budget; `clock`: cheap timestamps.
//! - `trace`: the flight recorder (per-worker event rings, trace JSON).
//! - `rand`: a per-thread random number for `select!`'s branch order.
//! - `tokio_context`: tokio's runtime context on weft's threads (feature
//!   `tokio-context`).
//!
//! The rule: nothing here names a public module (`runtime`, `task`,
//! `time`, `net`, `sync`, `metrics`); they name the engine. Only the
//! leaves (`loom`, `topology`) are below it. `scripts/import-graph.py`
//! checks it; docs/design/README.md draws it.

pub(crate) mod blocking;
pub(crate) mod clock;
pub(crate) mod context;
pub(crate) mod coop;
pub(crate) mod local;
pub(crate) mod monitor;
pub(crate) mod netpoll;
pub(crate) mod rand;
pub(crate) mod scheduler;
pub(crate) mod services;
pub(crate) mod task;
pub(crate) mod time;
pub(crate) mod tokio_context;
pub(crate) mod trace;
