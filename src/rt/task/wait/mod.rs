//! Why a task waits: the wait kind and await site that weft's leaf
//! futures leave in the polled task's header when they return `Pending`,
//! and the "runnable since" stamp of a sample of notifications
//! (docs/design/dump.md, "Wait reasons and await sites").
//!
//! A leaf future captures `Location::caller()` when it is built
//! (`#[track_caller]` down from the public method the user calls) and,
//! when its poll returns `Pending`, calls [`record`]: one thread-local
//! read (the task this thread polls, `context::polling`), a lookup in the
//! site table (`sites`) and one Relaxed store to that task's header.
//! Outside a weft task's poll (`block_on`'s own future, another
//! executor) it does nothing.
//!
//! The header word and who writes it when are in `raw::TaskStats`.

pub(crate) mod sites;

use super::raw::Header;
use crate::rt::context;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

/// What a task waits for: the kind of the weft future that last returned
/// `Pending` in its poll, from [`TaskWait::kind`](crate::task::TaskWait::kind).
///
/// `Display` gives short names in the spirit of Go's goroutine dumps
/// (`mpsc recv`, `mutex lock`, `sleep`, `io read`, ...).
///
/// ```
/// use weft::task::WaitKind;
/// assert_eq!(WaitKind::MpscRecv.to_string(), "mpsc recv");
/// assert_eq!(WaitKind::External.to_string(), "external");
/// ```
#[non_exhaustive]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum WaitKind {
    /// A future that is not weft's (another crate's, or a hand-written
    /// one) kept the task waiting; the site is the last weft-known one.
    External = 1,
    /// `mpsc::Receiver::recv` (bounded or unbounded).
    MpscRecv,
    /// `mpsc::Sender::send` / `reserve` (waiting for capacity).
    MpscSend,
    /// `mpmc::Receiver::recv`.
    MpmcRecv,
    /// `mpmc::Sender::send` (waiting for capacity).
    MpmcSend,
    /// `oneshot::Receiver`.
    OneshotRecv,
    /// `broadcast::Receiver::recv`.
    BroadcastRecv,
    /// `watch::Receiver::changed` / `wait_for`.
    WatchChanged,
    /// A sender's `closed()`: waiting for every receiver to go.
    ChannelClosed,
    /// `Notify::notified`.
    Notify,
    /// `Semaphore::acquire*`.
    SemaphoreAcquire,
    /// `Mutex::lock*`.
    MutexLock,
    /// `RwLock::read*`.
    RwLockRead,
    /// `RwLock::write*`.
    RwLockWrite,
    /// `Barrier::wait`.
    Barrier,
    /// `OnceCell::get_or_init` while another task initialises it.
    OnceCell,
    /// `time::sleep` / `sleep_until` (also a `timeout`'s deadline).
    Sleep,
    /// `Interval::tick`.
    IntervalTick,
    /// A socket or pipe read (readiness).
    IoRead,
    /// A socket or pipe write (readiness).
    IoWrite,
    /// `accept` on a listener.
    Accept,
    /// `connect` on a socket.
    Connect,
    /// A `JoinHandle`: waiting for another task to finish.
    Join,
    /// `JoinSet::join_next`.
    JoinSet,
    /// Work on the blocking pool (`spawn_blocking`, `fs`).
    Blocking,
    /// A signal (`signal::ctrl_c`, `unix::Signal::recv`).
    Signal,
    /// A child process's exit (`process::Child::wait`).
    ProcessWait,
    /// `context::Context::cancelled`: waiting for a cancel or deadline.
    ContextDone,
}

impl WaitKind {
    /// Every kind, indexed by its code minus one.
    const ALL: [WaitKind; 28] = [
        WaitKind::External,
        WaitKind::MpscRecv,
        WaitKind::MpscSend,
        WaitKind::MpmcRecv,
        WaitKind::MpmcSend,
        WaitKind::OneshotRecv,
        WaitKind::BroadcastRecv,
        WaitKind::WatchChanged,
        WaitKind::ChannelClosed,
        WaitKind::Notify,
        WaitKind::SemaphoreAcquire,
        WaitKind::MutexLock,
        WaitKind::RwLockRead,
        WaitKind::RwLockWrite,
        WaitKind::Barrier,
        WaitKind::OnceCell,
        WaitKind::Sleep,
        WaitKind::IntervalTick,
        WaitKind::IoRead,
        WaitKind::IoWrite,
        WaitKind::Accept,
        WaitKind::Connect,
        WaitKind::Join,
        WaitKind::JoinSet,
        WaitKind::Blocking,
        WaitKind::Signal,
        WaitKind::ProcessWait,
        WaitKind::ContextDone,
    ];

    /// The kind with code `code` (0, and codes no kind has: none).
    pub(crate) fn from_code(code: u8) -> Option<WaitKind> {
        let i = usize::from(code).checked_sub(1)?;
        WaitKind::ALL.get(i).copied()
    }

    fn name(self) -> &'static str {
        match self {
            WaitKind::External => "external",
            WaitKind::MpscRecv => "mpsc recv",
            WaitKind::MpscSend => "mpsc send",
            WaitKind::MpmcRecv => "mpmc recv",
            WaitKind::MpmcSend => "mpmc send",
            WaitKind::OneshotRecv => "oneshot recv",
            WaitKind::BroadcastRecv => "broadcast recv",
            WaitKind::WatchChanged => "watch changed",
            WaitKind::ChannelClosed => "channel closed",
            WaitKind::Notify => "notify",
            WaitKind::SemaphoreAcquire => "semaphore acquire",
            WaitKind::MutexLock => "mutex lock",
            WaitKind::RwLockRead => "rwlock read",
            WaitKind::RwLockWrite => "rwlock write",
            WaitKind::Barrier => "barrier wait",
            WaitKind::OnceCell => "once cell init",
            WaitKind::Sleep => "sleep",
            WaitKind::IntervalTick => "interval tick",
            WaitKind::IoRead => "io read",
            WaitKind::IoWrite => "io write",
            WaitKind::Accept => "accept",
            WaitKind::Connect => "connect",
            WaitKind::Join => "join",
            WaitKind::JoinSet => "join set",
            WaitKind::Blocking => "blocking pool",
            WaitKind::Signal => "signal",
            WaitKind::ProcessWait => "process wait",
            WaitKind::ContextDone => "context done",
        }
    }
}

impl fmt::Display for WaitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// A weft leaf future returned `Pending` at `site`: the task this thread
/// is polling (if any) now waits for `kind`. Cheap enough for every
/// `Pending`: a thread-local read, a table probe and one store.
#[inline]
pub(crate) fn record(kind: WaitKind, site: &'static Location<'static>) {
    let addr = context::with(|c| c.polling.get()).unwrap_or(0) & !1;
    if addr == 0 {
        return;
    }
    // SAFETY: a non-zero `polling` is the header of the task whose poll is
    // in progress on this thread (set by `waker::enter_poll`, restored by
    // `leave_poll` before the poll's RUNNING ends); the poll holds a
    // reference, so the header is alive. This thread holds RUNNING, the
    // one writer of the wait fields during a poll (`raw::TaskStats`).
    let header = unsafe { &*(addr as *const Header) };
    header.stats.set_wait(kind, sites::intern(site));
}

/// [`record`] for a leaf future with no site of its own (a `JoinHandle`,
/// awaited directly): the site index 0, "unknown".
#[inline]
pub(crate) fn record_unsited(kind: WaitKind) {
    let addr = context::with(|c| c.polling.get()).unwrap_or(0) & !1;
    if addr == 0 {
        return;
    }
    // SAFETY: as in `record`.
    let header = unsafe { &*(addr as *const Header) };
    header.stats.set_wait(kind, 0);
}

/// Wraps `fut` so that each `Pending` it returns is recorded as a wait
/// for `kind` at the caller's location (`#[track_caller]`: the location
/// of the user's call when every function between is `#[track_caller]`).
#[track_caller]
#[inline]
pub(crate) fn waiting<F: Future>(kind: WaitKind, fut: F) -> Waiting<F> {
    Waiting { fut, kind, site: Location::caller() }
}

/// [`waiting`] over `std::future::poll_fn(f)`.
#[cfg_attr(not(any(feature = "time", feature = "sync")), allow(dead_code))] // the time, net and mpsc leaves
#[track_caller]
#[inline]
pub(crate) fn poll_fn<T, F>(kind: WaitKind, f: F) -> Waiting<std::future::PollFn<F>>
where
    F: FnMut(&mut Context<'_>) -> Poll<T>,
{
    waiting(kind, std::future::poll_fn(f))
}

/// A future that records its `Pending`s as waits (see [`waiting`]).
#[must_use = "futures do nothing unless polled"]
pub(crate) struct Waiting<F> {
    fut: F,
    kind: WaitKind,
    site: &'static Location<'static>,
}

impl<F: Future> Future for Waiting<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `fut` is pinned structurally: it is never moved out of
        // `self` (no method hands it out by value, and `Waiting` has no
        // `Drop` that could move it); the other fields are `Copy`.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above.
        let fut = unsafe { Pin::new_unchecked(&mut this.fut) };
        let out = fut.poll(cx);
        if out.is_pending() {
            record(this.kind, this.site);
        }
        out
    }
}

/// A site a named leaf future keeps (built by `#[track_caller]`
/// constructors) and records on `Pending` with [`WaitSite::pending`].
#[cfg_attr(not(any(feature = "sync", feature = "time")), allow(dead_code))] // their leaves' only
#[derive(Copy, Clone, Debug)]
pub(crate) struct WaitSite {
    kind: WaitKind,
    site: &'static Location<'static>,
}

impl WaitSite {
    /// The caller's location, waiting for `kind`.
    #[cfg_attr(not(feature = "sync"), allow(dead_code))] // the sync leaves'
    #[track_caller]
    #[inline]
    pub(crate) fn here(kind: WaitKind) -> WaitSite {
        WaitSite { kind, site: Location::caller() }
    }

    /// `site`, waiting for `kind`.
    #[cfg_attr(not(feature = "time"), allow(dead_code))] // the time leaves'
    #[inline]
    pub(crate) fn at(kind: WaitKind, site: &'static Location<'static>) -> WaitSite {
        WaitSite { kind, site }
    }

    /// `fut`, recording its `Pending`s as waits at this site.
    #[cfg_attr(not(feature = "sync"), allow(dead_code))] // the sync leaves'
    #[inline]
    pub(crate) fn wrap<F: Future>(self, fut: F) -> Waiting<F> {
        Waiting { fut, kind: self.kind, site: self.site }
    }

    /// Records the wait if `poll` is `Pending`; returns `poll`.
    #[cfg_attr(not(any(feature = "sync", feature = "time")), allow(dead_code))]
    #[inline]
    pub(crate) fn pending<T>(self, poll: Poll<T>) -> Poll<T> {
        if poll.is_pending() {
            record(self.kind, self.site);
        }
        poll
    }
}

/// Notifications per thread of which one is stamped with the precise
/// clock for the schedule-latency sample (`mark_runnable`): the poll-timing
/// sample's rate, for the same reason (a clock read costs as much as a
/// cheap poll).
const RUNNABLE_SAMPLE: u32 = crate::rt::scheduler::stats::POLL_TIMING_SAMPLE as u32;

/// The owner of a `Notified` is about to queue it: if this notification is
/// this thread's sampled one, the clock (for the task's "runnable since"
/// stamp); else `None`. A thread-local countdown.
#[inline]
pub(crate) fn runnable_stamp_ns() -> Option<u64> {
    let sampled = context::with(|c| {
        let left = c.runnable_countdown.get();
        c.runnable_countdown.set(if left == 0 { RUNNABLE_SAMPLE - 1 } else { left - 1 });
        left == 0
    })
    .unwrap_or(false);
    if sampled {
        Some(crate::rt::clock::now_ns())
    } else {
        None
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_names_are_distinct() {
        let mut names = std::collections::HashSet::new();
        for (i, k) in WaitKind::ALL.iter().enumerate() {
            assert_eq!(*k as u8 as usize, i + 1);
            assert_eq!(WaitKind::from_code(*k as u8), Some(*k));
            assert!(names.insert(k.to_string()), "{k:?}");
        }
        assert_eq!(WaitKind::from_code(0), None);
        assert_eq!(WaitKind::from_code(WaitKind::ALL.len() as u8 + 1), None);
        assert!((WaitKind::ALL.len() as u32) < 1 << 7, "the wait word has 7 bits for the kind");
    }
}
