//! A multi-producer, multi-consumer channel: bounded, or with capacity 0
//! a rendezvous channel (Go's `chan T`, buffered and unbuffered).
//!
//! [`Sender`] and [`Receiver`] are both `Clone`. Every message goes to
//! exactly one receiver, so a pool of workers can share one queue of jobs
//! (Go's `for job := range jobs`). With capacity `n >= 1` a send waits
//! while `n` messages are buffered; with capacity 0 nothing is buffered
//! and a send completes only when a receiver has taken the value.
//!
//! ```
//! let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
//! rt.block_on(async {
//!     let (jobs, queue) = weft::sync::mpmc::channel::<u32>(16);
//!     let (results, mut done) = weft::sync::mpsc::unbounded_channel();
//!     for _ in 0..4 {
//!         let (queue, results) = (queue.clone(), results.clone());
//!         weft::spawn(async move {
//!             while let Some(job) = queue.recv().await {
//!                 results.send(job * 2).unwrap();
//!             }
//!         });
//!     }
//!     drop((queue, results));
//!     for job in 0..100 {
//!         jobs.send(job).await.unwrap();
//!     }
//!     jobs.close(); // like Go's close(jobs): the workers drain, then stop
//!     let mut sum = 0;
//!     while let Some(r) = done.recv().await {
//!         sum += r;
//!     }
//!     assert_eq!(sum, 9900);
//! });
//! ```
//!
//! Each `Receiver` is also a [`Stream`](crate::stream::Stream) of the
//! messages it receives ([`Receiver::poll_recv`]), ending once the
//! channel is closed and drained, so a worker can be written with
//! `StreamExt` combinators (`rx.clone().for_each(...)`).
//!
//! # Close semantics
//!
//! - The channel closes on [`Sender::close`] or [`Receiver::close`]
//!   (either side, Go's `close(ch)`), when the last `Sender` is dropped,
//!   or when the last `Receiver` is dropped.
//! - After the close, every send fails and gives its value back
//!   ([`SendError`], [`TrySendError::Closed`]), including sends that were
//!   waiting. Receivers still get every buffered message; then every
//!   receiver sees the end (`recv` → `None`, `try_recv` →
//!   [`TryRecvError::Closed`]).
//! - When the last receiver is dropped, buffered messages are dropped
//!   then. No message is lost or duplicated: each is received once,
//!   handed back to its sender, or dropped once.
//!
//! # Cancel safety
//!
//! | operation | dropped before it completes |
//! | --- | --- |
//! | [`Receiver::recv`] | cancel-safe: a message taken from the channel is returned by the same poll; a message a sender handed to the waiting future goes to the next waiting receiver, or back to the head of the buffer |
//! | [`Sender::send`] | the value was not delivered and is dropped with the future; once a receiver has taken it, the send counts as done |
//! | [`Receiver::poll_recv`], the `Stream` | cancel-safe as `recv`: a message leaves the channel only in the poll that returns it; one handed to the receiver while it waited stays there for its next poll, and goes on to the next waiting receiver (or the buffer's head) when the receiver is dropped |
//! | `try_send`, `try_recv` | not futures |
//!
//! Both futures and the `Stream` take part in weft's cooperative budget
//! (one unit per completed send or receive), and work under any executor (they need
//! only the `Waker`).
//!
//! # Compared with [`mpsc`](super::mpsc)
//!
//! `mpsc` has one receiver that batches messages out of the shared queue,
//! permits (`reserve`) and an unbounded flavour; use it when one task
//! consumes. `mpmc` is the one to share work among several consumers, or
//! to rendezvous.

// Design (docs/design/channels.md, "mpmc"): Go's `hchan`. One lock around
// the buffer and two intrusive FIFO queues of waiters living in the
// pinned futures: senders holding their values, receivers with a slot a
// sender hands a value into. A sender gives its value to the oldest
// waiting receiver before it looks at the buffer, so a waiting receiver
// means nothing is buffered; a receiver that frees a buffer slot moves
// the oldest waiting sender's value in. No wake-up is lost because every
// check and every registration happen under the one lock.

mod chan;
mod error;
mod recv;
mod send;

pub use error::{SendError, TryRecvError, TrySendError};
pub use recv::{Receiver, RecvFuture};
pub use send::{SendFuture, Sender};

use crate::loom::sync::Arc;
use chan::Chan;

/// Creates a multi-producer, multi-consumer channel buffering up to
/// `capacity` messages; `capacity == 0` makes a rendezvous channel, where
/// a send completes only once a receiver has taken its value.
///
/// Any capacity is accepted (the buffer grows as needed up to it).
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// rt.block_on(async {
///     let (tx, rx) = weft::sync::mpmc::channel::<&str>(0);
///     assert!(tx.try_send("nobody is receiving").is_err());
///     let receiver = weft::spawn(async move { rx.recv().await });
///     tx.send("hello").await.unwrap();
///     assert_eq!(receiver.await.unwrap(), Some("hello"));
/// });
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan::new(capacity));
    (Sender { chan: chan.clone() }, Receiver::new(chan))
}
