//! hyper on weft (feature `hyper`): the runtime pieces hyper asks for,
//! and a server entry point.
//!
//! - [`Executor`]: `hyper::rt::Executor`, spawning hyper's background
//!   futures as weft tasks.
//! - [`Timer`] and [`Sleep`]: `hyper::rt::Timer` on weft's timer wheel;
//!   `reset` moves a sleep's deadline in place.
//! - `hyper::rt::Read` and `hyper::rt::Write` are implemented on
//!   [`TcpStream`](crate::net::TcpStream) and
//!   [`UnixStream`](crate::net::UnixStream) themselves: hand a weft socket
//!   to any hyper connection builder (client or server) as it is.
//! - [`serve`]: accept connections from a [`Listener`] and serve HTTP/1
//!   and HTTP/2 with a hyper service (or a tower service, such as an axum
//!   `Router`, through [`TowerToHyperService`]), with graceful shutdown.
//!
//! The feature is off by default: hyper, hyper-util and h2 are a large
//! build that an embedder without an HTTP server should not pay for. It
//! turns on `net`, `time`, `sync` and `tokio-io`.
//!
//! An axum app on weft:
//!
//! ```
//! use axum::{routing::get, Router};
//! use weft::hyper::{serve, TowerToHyperService};
//!
//! let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
//! rt.block_on(async {
//!     let app = Router::new().route("/", get(|| async { "hello from weft" }));
//!     let listener = weft::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let server = serve(listener, TowerToHyperService::new(app))
//!         .with_graceful_shutdown(async { /* e.g. wait for SIGTERM */ });
//!     server.await.unwrap(); // the signal above is already done: stops at once
//! });
//! ```

mod executor;
mod io;
mod listener;
mod serve;
mod timer;
mod tracker;

pub use executor::Executor;
pub use hyper_util::service::TowerToHyperService;
pub use listener::Listener;
pub use serve::{serve, Serve, WithGracefulShutdown, DEFAULT_SHUTDOWN_TIMEOUT};
pub use timer::{Sleep, Timer};
