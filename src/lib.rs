//! weft: an embeddable M:N async runtime.
//!
//! Many cheap tasks (stackless futures) run on a few worker threads, spread
//! by a work-stealing scheduler in the spirit of Go's runtime: per-worker
//! queues with a runnext slot, a global injector, stealing half of a
//! victim's queue, and a sleep protocol that never loses a wake-up.
//!
//! ```
//! let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
//! let sum = rt.block_on(async {
//!     let handles: Vec<_> = (0..10u64).map(|i| weft::spawn(async move { i * i })).collect();
//!     let mut sum = 0;
//!     for h in handles {
//!         sum += h.await.unwrap();
//!     }
//!     sum
//! });
//! assert_eq!(sum, 285);
//! ```
//!
//! [`Handle::dump`] lists every live task (name, spawn location, state,
//! age, polls) without stopping the runtime, to find leaked and stuck
//! tasks; name tasks with [`task::Builder`].
//!
//! Sockets (TCP, UDP, Unix domain) live in [`net`]; they run on the
//! netpoller built into the runtime (no reactor thread). Timers (`sleep`,
//! `timeout`, `interval`) are in [`time`].
//!
//! Blocking code runs on a separate elastic pool through
//! [`task::spawn_blocking`]; files and directories ([`fs`]) use it.
//!
//! [`select!`] waits on several futures and runs the branch of the first
//! to complete (random start, `biased;`, `if` preconditions, `else`, no
//! `.fuse()`); [`join!`] and [`try_join!`] wait for all of them. Channel
//! receivers, intervals and listeners are [`Stream`](stream::Stream)s
//! ([`stream`]).
//!
//! # Features
//!
//! The first eight are on by default; with `default-features = false` an embedder picks
//! what it uses. The scheduler, tasks, `JoinSet`, `LocalSet`,
//! `spawn_blocking`, dumps, metrics and stall detection are always there.
//!
//! - `net`: the [`net`] module (TCP, UDP, Unix-domain sockets).
//! - `time`: the [`time`] module (`sleep`, `timeout`, `interval`,
//!   `Instant`). Without it the workers' timer wheel stays, unused.
//! - `sync`: the [`sync`] module (channels: `oneshot`, `mpsc`, `watch`,
//!   `broadcast`; `Mutex`, `RwLock`, `Semaphore`, `Notify`, `OnceCell`,
//!   `Barrier`).
//! - `fs`: the [`fs`] module (`read`, `write`, `File`, `read_dir`, ...
//!   on the blocking pool).
//! - `macros`: `#[weft::main]` and `#[weft::test]`. (`select!`, `join!`
//!   and `try_join!` are always there: declarative macros, nothing to
//!   build.)
//! - `topology`: cgroup quota, cpuset, NUMA and SMT detection from /proc
//!   and /sys, live quota tracking and worker pinning
//!   (`Builder::rounding`, `pin_workers`, `quota_refresh`). Without it a
//!   runtime runs `std::thread::available_parallelism()` workers, fixed,
//!   unpinned, on one NUMA node; the [`topology`] types still report it.
//! - `signal` (Unix): the [`signal`] module: `ctrl_c()` and
//!   `unix::signal(kind)`, on the netpoller, no extra thread.
//! - `process` (Unix): the [`process`] module: `Command` and `Child` with
//!   piped stdio on the netpoller and child exit seen through pidfd
//!   (Linux) or `SIGCHLD`. Turns on `signal`.
//!
//! Off by default, for integration with the tokio-based ecosystem:
//!
//! - `tokio-io`: `tokio::io::AsyncRead`/`AsyncWrite` on the stream sockets
//!   and their halves and (with `fs`) `AsyncRead`/`AsyncWrite`/`AsyncSeek`
//!   on `fs::File` (besides `futures_io`'s), for tokio-util codecs,
//!   hyper-util's `TokioIo`, tokio-rustls. Adds tokio with no features.
//! - `hyper`: the `hyper` module: hyper's executor, timer and I/O traits
//!   on weft, and `serve` (HTTP/1 and HTTP/2, graceful shutdown) for a
//!   hyper or tower service such as an axum `Router`. Turns on `net`,
//!   `time`, `sync` and `tokio-io`.
//! - `tokio-context`: `Builder::tokio_context`, under which every thread of
//!   the runtime runs inside the context of a process-wide tokio runtime,
//!   so crates that call `tokio::spawn`, `tokio::time` or `tokio::net`
//!   work inside weft tasks.

// The design (layers, protocols and the arguments for them) is written
// down in docs/design/, starting at docs/design/README.md.

#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]
// The crate docs link `net`, `time` and `sync`, which a build without
// those features does not have.
#![cfg_attr(
    not(all(
        feature = "net",
        feature = "time",
        feature = "sync",
        feature = "fs",
        feature = "signal",
        feature = "process",
        unix
    )),
    allow(rustdoc::broken_intra_doc_links, rustdoc::private_intra_doc_links)
)]

#[cfg(all(feature = "sync", feature = "time", not(all(test, loom))))]
pub mod context;
#[cfg(all(feature = "sync", feature = "time", not(all(test, loom))))]
pub mod errgroup;
#[cfg(all(feature = "fs", not(all(test, loom))))]
pub mod fs;
#[cfg(all(feature = "hyper", not(all(test, loom))))]
pub mod hyper;
pub(crate) mod loom;
// `select!`, `join!`, `try_join!` (exported at the crate root) and what
// their expansions name.
#[doc(hidden)]
pub mod macros;
pub mod metrics;
#[cfg(all(feature = "net", not(all(test, loom))))]
pub mod net;
#[cfg(all(unix, feature = "process", not(all(test, loom))))]
pub mod process;
pub(crate) mod rt;
pub mod runtime;
#[cfg(all(unix, feature = "signal"))]
pub mod signal;
pub mod stream;
#[cfg(feature = "sync")]
pub mod sync;
pub mod task;
#[cfg(feature = "time")]
pub mod time;
pub mod topology;

#[cfg(all(test, not(loom)))]
mod test_log;

pub use runtime::{spawn, Builder, Handle, Runtime};

pub use task::{JoinError, JoinHandle};
/// `#[weft::main]`: run `async fn main` on a new runtime (feature `macros`).
#[cfg(feature = "macros")]
pub use weft_macros::main;
/// `#[weft::test]`: run an `async fn` test on a new runtime (feature `macros`).
#[cfg(feature = "macros")]
pub use weft_macros::test;

#[cfg(all(test, loom))]
#[path = "../loom-tests/mod.rs"]
mod loom_tests;

/// The porting guide from Go (docs/from-go.md): its code blocks run as doc
/// tests, so the guide cannot drift from the API.
#[cfg(all(doctest, feature = "sync", feature = "time"))]
#[doc = include_str!("../docs/from-go.md")]
mod from_go_guide {}
