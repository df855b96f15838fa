//! Asynchronous streams: the [`Stream`] trait of `futures-core` (the one
//! `futures`, `tokio-stream` and most stream libraries implement and
//! consume), on weft's receivers, timers and listeners.
//!
//! # Which types are streams
//!
//! A type is a `Stream` itself when polling it as one needs no state it
//! does not already have; it then streams what its receive method
//! returns:
//!
//! | type | item | ends |
//! | --- | --- | --- |
//! | [`mpsc::Receiver<T>`](crate::sync::mpsc::Receiver), [`mpsc::UnboundedReceiver<T>`](crate::sync::mpsc::UnboundedReceiver) | `T` | when every sender is gone and the buffer is drained |
//! | [`mpmc::Receiver<T>`](crate::sync::mpmc::Receiver) (each clone one consumer; every message reaches one of them) | `T` | when the channel is closed and drained |
//! | [`time::Interval`](crate::time::Interval) | the tick's scheduled `Instant` | never |
//! | [`net::TcpListener`](crate::net::TcpListener), [`net::UnixListener`](crate::net::UnixListener) | `io::Result` of the accepted stream | never |
//! | [`signal::unix::Signal`](crate::signal::unix::Signal) (Unix) | `()` per delivery seen | when its runtime has shut down |
//!
//! An mpmc receive, like a broadcast one, keeps its place in the
//! channel's queue of waiting receivers between polls; the `Receiver`
//! holds that place itself (allocated the first time it waits as a
//! stream), so the receiver needs no wrapper.
//!
//! Two are wrapped, as `tokio-stream` does, because their stream needs
//! more than the receiver holds:
//!
//! - [`BroadcastStream`]: a broadcast receive keeps its place in the
//!   channel's waiter list between polls (the `recv` future holds it);
//!   the wrapper holds it for the stream. Items are `Result<T,
//!   Lagged>`: a receiver that fell behind learns how many values it
//!   missed and goes on.
//! - [`WatchStream`]: a watch channel has a value, not a sequence; the
//!   wrapper decides what the sequence is (the current value, then each
//!   change, or the changes only) and clones the value out.
//!
//! The choice, against wrapping everything as `tokio-stream` does: tokio
//! keeps `futures-core` out of its own API under its 1.0 stability
//! promise, so it needs a separate crate of wrappers. weft already
//! exposes the `futures-io` traits on its sockets, and `futures-core` is
//! small and stable, so a receiver is a stream without a wrapper type to
//! learn; wrappers remain only where they carry state. Combinators
//! (`next`, `map`, `filter`, `take`) come from `futures::StreamExt` or
//! `tokio_stream::StreamExt`, which work with any `Stream`.
//!
//! ```
//! use futures::StreamExt;
//!
//! let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
//! rt.block_on(async {
//!     let (tx, rx) = weft::sync::mpsc::unbounded_channel();
//!     for i in 1..=3 {
//!         tx.send(i).unwrap();
//!     }
//!     drop(tx);
//!     let doubled: Vec<u32> = rx.map(|i| i * 2).collect().await;
//!     assert_eq!(doubled, [2, 4, 6]);
//! });
//! ```
//!
//! # Cancel safety
//!
//! `poll_next` of each of these streams loses nothing when the future
//! awaiting it (`StreamExt::next`) is dropped before it completes: an item
//! leaves its source only in the poll that returns it. `next()` on them
//! is as safe in a `select!` loop as the receive methods. An mpmc
//! receiver waiting as a stream may be handed a message while nobody
//! polls it; the message stays in the receiver for its next poll (or goes
//! to another consumer if it is dropped), so a consumer that stops
//! polling its stream should drop it (see
//! [`Receiver::poll_recv`](crate::sync::mpmc::Receiver::poll_recv)).

pub use futures_core::Stream;

#[cfg(feature = "sync")]
mod broadcast;
mod impls;
#[cfg(feature = "sync")]
mod watch;

#[cfg(feature = "sync")]
pub use broadcast::{BroadcastStream, Lagged};
#[cfg(feature = "sync")]
pub use watch::WatchStream;
