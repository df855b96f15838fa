//! hyper 1.x on weft: the four adapters hyper asks a runtime for, written
//! against weft's public API only.
//!
//! - [`WeftIo`]: `hyper::rt::Read` + `hyper::rt::Write` over any
//!   `futures_io::AsyncRead + AsyncWrite` (weft's `TcpStream` implements
//!   both on the netpoller).
//! - [`WeftExecutor`]: `hyper::rt::Executor`, spawning on weft
//!   (`weft::spawn`, task detached).
//! - [`WeftTimer`] + [`WeftSleep`]: `hyper::rt::Timer` / `hyper::rt::Sleep`
//!   over `weft::time::sleep_until`, with an in-place `reset`.
//!
//! Included by `tests/ecosystem.rs` with `#[path]`, so the other test
//! crates that use `tests/common/` do not compile hyper.

use futures_io::{AsyncRead, AsyncWrite};
use std::future::Future;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// hyper's I/O traits over a futures-io stream.
#[derive(Debug)]
pub struct WeftIo<T>(pub T);

impl<T: AsyncRead + Unpin> hyper::rt::Read for WeftIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // hyper hands out possibly uninitialized memory; futures-io reads
        // into `&mut [u8]`, so zero it first (cheap next to a syscall).
        // SAFETY: `as_mut` requires that we never de-initialize bytes that
        // are initialized: we only write zeros, which initializes them.
        let spare: &mut [MaybeUninit<u8>] = unsafe { buf.as_mut() };
        for b in spare.iter_mut() {
            b.write(0);
        }
        // SAFETY: every byte of `spare` was initialized just above, and
        // `MaybeUninit<u8>` has the layout of `u8`; the new slice borrows
        // `spare` exclusively for its lifetime.
        let bytes: &mut [u8] = unsafe { &mut *(spare as *mut [MaybeUninit<u8>] as *mut [u8]) };
        let n = match Pin::new(&mut self.0).poll_read(cx, bytes) {
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        // SAFETY: `advance(n)` requires the first `n` bytes of the cursor to
        // be initialized: all of them are (zeroed, then `n <= len` of them
        // written by the read).
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for WeftIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

/// Runs hyper's background futures as weft tasks.
#[derive(Debug, Clone, Copy, Default)]
pub struct WeftExecutor;

impl<F> hyper::rt::Executor<F> for WeftExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        // Dropping the JoinHandle detaches the task; it keeps running.
        drop(weft::spawn(fut));
    }
}

/// hyper's timer on weft's timer wheel.
#[derive(Debug, Clone, Copy, Default)]
pub struct WeftTimer;

/// How many sleeps [`WeftTimer`] has created and how many it has reset in
/// place, process-wide (tests read them to show hyper used the timer).
/// Relaxed: plain event counters, read after the work is joined.
pub static SLEEPS_CREATED: AtomicUsize = AtomicUsize::new(0);
/// See [`SLEEPS_CREATED`].
pub static SLEEPS_RESET: AtomicUsize = AtomicUsize::new(0);

/// A `weft::time::Sleep` as a `hyper::rt::Sleep`. The weft `Sleep` is
/// `!Unpin` (its entry is linked by address), so it lives in its own box
/// and this wrapper is `Unpin`.
#[derive(Debug)]
pub struct WeftSleep(Pin<Box<weft::time::Sleep>>);

impl Future for WeftSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl hyper::rt::Sleep for WeftSleep {}

impl hyper::rt::Timer for WeftTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        SLEEPS_CREATED.fetch_add(1, Relaxed);
        Box::pin(WeftSleep(Box::pin(weft::time::sleep(duration))))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        SLEEPS_CREATED.fetch_add(1, Relaxed);
        let deadline = weft::time::Instant::from_std(deadline);
        Box::pin(WeftSleep(Box::pin(weft::time::sleep_until(deadline))))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<WeftSleep>() {
            // Ours: move the deadline of the same timer (no allocation).
            Some(mut ours) => {
                SLEEPS_RESET.fetch_add(1, Relaxed);
                ours.0.as_mut().reset(weft::time::Instant::from_std(new_deadline));
            }
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}
