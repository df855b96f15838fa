//! Multi-producer, single-consumer channels: [`channel`] (bounded, with
//! back-pressure) and [`unbounded_channel`].
//!
//! Senders are cheap to clone; the receiver is unique. Messages from one
//! sender arrive in the order they were sent. A sender can be downgraded
//! to a weak one ([`WeakSender`], [`WeakUnboundedSender`]) that does not
//! keep the channel open and upgrades back while a sender lives.
//!
//! ```
//! let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
//! rt.block_on(async {
//!     let (tx, mut rx) = weft::sync::mpsc::channel(16);
//!     for id in 0..4 {
//!         let tx = tx.clone();
//!         weft::spawn(async move {
//!             for seq in 0..10 {
//!                 tx.send((id, seq)).await.unwrap();
//!             }
//!         });
//!     }
//!     drop(tx); // the stream ends when the last clone is gone
//!     let mut n = 0;
//!     while let Some((_id, _seq)) = rx.recv().await {
//!         n += 1;
//!     }
//!     assert_eq!(n, 40);
//! });
//! ```
//!
//! # Close semantics
//!
//! - The receiver sees the end (`recv` → `None`, `try_recv` →
//!   `Disconnected`) only after every sender is gone (or it closed itself)
//!   *and* every message sent before was received.
//! - Senders get their value back (`SendError`, `TrySendError::Closed`)
//!   once the receiver is dropped or [closed](Receiver::close); waiting
//!   senders wake with that error.
//! - Messages still buffered when the receiver is dropped are dropped
//!   then, exactly once. No message is lost or duplicated: each one is
//!   received, handed back to its sender, or dropped with the receiver.
//!
//! # Cancel safety
//!
//! | operation | dropped before it completes |
//! | --- | --- |
//! | `Receiver::recv`, `recv_many` (both flavours) | cancel-safe: no message is taken out of the channel except in the poll that returns it |
//! | `Sender::send` (bounded) | the value is dropped, not sent; no slot is lost |
//! | `Sender::reserve`, `reserve_owned` | cancel-safe: no slot is lost |
//! | `Sender::closed`, `UnboundedSender::closed` | cancel-safe |
//! | `UnboundedSender::send`, `try_send`, `try_recv` | not futures |
//!
//! All receive and send futures take part in the cooperative budget, and
//! work under any executor (they need only the `Waker`).

// Design
//
// One lock around a ring buffer and the receiver's waker (Go's `hchan`),
// with two refinements: the receiver swaps the whole buffer into a
// private batch under one lock acquisition and then hands messages out
// without locking; and the bounded channel counts its free slots in a
// semaphore, so a full channel's senders queue FIFO outside the channel
// lock and each is woken exactly when a slot frees. Why this and not a
// lock-free block list, and why no wake-up is lost: see
// `docs/design/channels.md`.

mod bounded;
mod chan;
pub mod error;
mod rx;
mod unbounded;

pub use bounded::{channel, OwnedPermit, Permit, Receiver, Sender, WeakSender};
pub use unbounded::{unbounded_channel, UnboundedReceiver, UnboundedSender, WeakUnboundedSender};
