//! Synchronisation between tasks: channels.
//!
//! Everything here is runtime-independent: the futures need only the
//! `Waker` they are polled with, so they also work when awaited outside
//! weft (another executor, a hand-written `block_on`). Inside weft they
//! take part in the cooperative budget, so a task looping over an
//! always-ready channel still yields to its neighbours.
//!
//! - [`oneshot`]: one value, once (request/reply).
//! - [`mpsc`]: many producers, one consumer; bounded with back-pressure,
//!   or unbounded.
//! - [`watch`]: one value that changes; receivers see the latest.
//! - [`broadcast`]: every value to every receiver, a bounded ring; slow
//!   receivers skip ahead (`Lagged`).
//!
//! # Cancel safety of the channels
//!
//! | future | dropped before it completes |
//! | --- | --- |
//! | `oneshot::Receiver` | closes the channel (a later `send` gets its value back) |
//! | `oneshot::Sender::closed` | nothing lost |
//! | `mpsc` `recv`, `recv_many` | nothing lost: a message leaves the channel only in the poll that returns it |
//! | `mpsc::Sender::send` | its own value is dropped unsent; no capacity is lost |
//! | `mpsc::Sender::reserve`, `reserve_owned` | no capacity is lost |
//! | `mpsc` `closed` | nothing lost |
//! | `watch::Receiver::changed` | nothing marked seen |
//! | `watch::Sender::closed` | nothing lost |
//! | `broadcast::Receiver::recv` | nothing lost: a position is consumed only in the poll that returns it |
//!
//! Design and wake-up arguments: `docs/design/channels.md`.

pub mod broadcast;
pub mod mpsc;
pub mod oneshot;
pub(crate) mod wait_list;
pub mod watch;
