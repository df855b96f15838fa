//! Stall stacks: the stalled worker thread's backtrace, taken by a signal.
//!
//! Each worker owns a `StackSlot` (in its poll stamp) and, as it starts,
//! records its `pthread_t` there and a pointer to the slot in a
//! thread-local. To take a stack the monitor marks the slot `REQUESTED`,
//! sends `stack_signal()` to that thread (`pthread_kill`) and waits a
//! bounded time (`STACK_WAIT` to `STACK_WAIT_MAX`) until the slot reads
//! `DONE`. The handler, on the
//! worker thread, claims a `REQUESTED` slot (`CAPTURING`), walks its own
//! stack into the slot's preallocated buffer of raw instruction pointers
//! (no allocation, no lock: `_Unwind_Backtrace` through the backtrace
//! crate), and publishes `DONE`. The monitor then copies the pointers out;
//! symbols are looked up later, off the worker, when something displays
//! the stack (`StallBacktrace`).
//!
//! The hand-off itself (state word, buffer, who may write when) is
//! `capture.rs`; docs/design/stalls.md, "Stall stacks", has the
//! async-signal-safety argument and the limits.

use super::capture::CaptureSlot;
use crate::loom::sync::atomic::{AtomicU64, Ordering};
use std::cell::Cell;
use std::ffi::c_int;
use std::time::{Duration, Instant};

/// Frames kept per capture, the signal frames included.
const MAX_FRAMES: usize = 64;

/// How long the monitor waits for a capture at least. A thread that gets
/// the signal runs its handler as soon as it is on a CPU; one that has the
/// signal blocked, or waits in an uninterruptible sleep, does not, and
/// then the stall has no stack.
const STACK_WAIT: Duration = Duration::from_millis(20);
/// How long it waits at most: past `STACK_WAIT` it goes on waiting only
/// while the thread has had less than `HAD_ITS_CHANCE` of CPU since the
/// signal (on a crowded machine a runnable thread can wait that long for
/// a CPU, and a thread that has not run cannot have run its handler).
const STACK_WAIT_MAX: Duration = Duration::from_millis(250);
/// CPU time after which a thread that has not run the handler has the
/// signal blocked: more than the scheduler tick by which the kernel's
/// figure can trail a running thread.
const HAD_ITS_CHANCE: u64 = 10_000_000;

/// The signal used to interrupt a stalled worker: the real-time signal
/// `SIGRTMIN + 7` (not one that programs send by convention, and chained
/// through signal-hook-registry, so other handlers of it still run).
pub(crate) fn stack_signal() -> c_int {
    libc::SIGRTMIN() + 7
}

/// One worker's capture slot.
#[derive(Debug)]
pub(crate) struct StackSlot {
    /// The worker's `pthread_t` (0 until its thread starts).
    thread: AtomicU64,
    capture: CaptureSlot,
}

impl Default for StackSlot {
    fn default() -> Self {
        StackSlot { thread: AtomicU64::new(0), capture: CaptureSlot::new(MAX_FRAMES) }
    }
}

thread_local! {
    /// The slot of the worker running on this thread (null elsewhere).
    /// Const-initialised and without a destructor, so reading it is a
    /// plain load from the thread's static TLS block: nothing is
    /// allocated or registered, which the signal handler relies on.
    static CURRENT: Cell<*const StackSlot> = const { Cell::new(std::ptr::null()) };
}

/// Clears the thread's slot pointer when the worker's frame ends.
pub(crate) struct Registered(());

impl Drop for Registered {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set(std::ptr::null()));
    }
}

impl StackSlot {
    /// The calling thread is the worker that owns this slot (the slot
    /// outlives the worker's frame: it is in the runtime's shared state,
    /// which the worker holds). Installs the handler on first use.
    pub(crate) fn register_current(&self) -> Registered {
        // SAFETY: pthread_self has no preconditions and cannot fail.
        let me = unsafe { libc::pthread_self() };
        // Relaxed: the monitor reads it only for stalled polls of this
        // worker, which start after this store on the same thread and are
        // published to the monitor by the poll stamp's Release store.
        self.thread.store(me as u64, Ordering::Relaxed);
        CURRENT.with(|c| c.set(self));
        Registered(())
    }

    /// Called by the monitor: the worker's stack, or `None` if it did not
    /// arrive in time (signal blocked, handler not run, an earlier capture
    /// still in flight, or no handler installed). `cpu_ns` reads the
    /// worker thread's CPU time, where it can be read.
    pub(crate) fn capture(&self, cpu_ns: impl Fn() -> Option<u64>) -> Option<Box<[usize]>> {
        if !install() {
            return None;
        }
        // Relaxed: see `register_current`.
        let thread = self.thread.load(Ordering::Relaxed);
        if thread == 0 {
            return None;
        }
        let request = self.capture.request()?;
        // SAFETY: `thread` is the pthread_t of a worker thread of this
        // runtime. The monitor asks only while that worker is inside a
        // poll, and the runtime joins or detaches its workers only after
        // the monitor thread has stopped, so the id names a thread that
        // has not been joined or detached (glibc's requirement for a valid
        // pthread_t). The signal number is a valid real-time signal.
        let sent = unsafe { libc::pthread_kill(thread as libc::pthread_t, stack_signal()) };
        if sent != 0 {
            return self.capture.withdraw(request);
        }
        let cpu_at_signal = cpu_ns();
        let sent_at = Instant::now();
        let mut spins = 0u32;
        loop {
            if let Some(ips) = self.capture.done(&request) {
                return Some(ips);
            }
            let waited = sent_at.elapsed();
            if waited >= STACK_WAIT {
                let had_its_chance = match (cpu_at_signal, cpu_ns()) {
                    (Some(before), Some(now)) => now.saturating_sub(before) >= HAD_ITS_CHANCE,
                    _ => true,
                };
                if had_its_chance || waited >= STACK_WAIT_MAX {
                    return self.capture.withdraw(request);
                }
            }
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
    }

    /// The handler's part, on the worker thread.
    fn capture_here(&self) {
        self.capture.fill(|push| {
            // SAFETY: trace_unsynchronized is unsafe only because it takes
            // no lock against other users of the crate's unwinder; this
            // walk reads this thread's own stack only. Why the walk itself
            // is async-signal-safe here: docs/design/stalls.md, "Stall
            // stacks". The callback neither allocates nor panics: `push`
            // stores into the preallocated buffer and says when it is full.
            unsafe { backtrace::trace_unsynchronized(|frame| push(frame.ip() as usize)) };
        });
    }
}

/// The signal handler (through signal-hook-registry, which saves and
/// restores errno around it): capture into this thread's slot, if it is a
/// worker's and a capture was asked for.
fn on_signal(_: &libc::siginfo_t) {
    let Ok(slot) = CURRENT.try_with(Cell::get) else { return };
    if slot.is_null() {
        return;
    }
    // SAFETY: a non-null pointer was set by `register_current` on this
    // thread and is cleared before the worker's frame (which keeps the
    // slot alive) ends; the handler runs on this thread, so it sees the
    // pointer while the slot lives.
    let slot = unsafe { &*slot };
    slot.capture_here();
}

/// Installs the handler once per process; false if it cannot be.
fn install() -> bool {
    static INSTALLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *INSTALLED.get_or_init(|| {
        // SAFETY: register_sigaction's contract is that the action is
        // async-signal-safe: `on_signal` reads a const-initialised
        // thread-local, does atomic loads and stores and a compare-exchange,
        // and walks the stack without allocating or locking (the
        // argument: docs/design/stalls.md, "Stall stacks"). The signal is
        // not one of the forbidden ones (SIGKILL, SIGSTOP, SIGILL, SIGFPE,
        // SIGSEGV).
        match unsafe { signal_hook_registry::register_sigaction(stack_signal(), on_signal) } {
            Ok(_) => true,
            Err(e) => {
                log::warn!(
                    "weft: cannot install the stall-stack signal handler: {e}; stalls will have no stack"
                );
                false
            }
        }
    })
}
