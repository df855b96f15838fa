//! Stall stacks: the monitor takes a stalled worker thread's backtrace
//! (docs/design/stalls.md, "Stall stacks").

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use weft::runtime::{StallBacktrace, StallEvent};
use weft::Runtime;

/// A bound on waits that only a bug makes long.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// A `log` logger that keeps every record (one per test process).
struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        self.0.lock().unwrap().push(format!("{} {}", record.level(), record.args()));
    }
    fn flush(&self) {}
}

fn logs() -> &'static Capture {
    static LOGGER: OnceLock<&'static Capture> = OnceLock::new();
    LOGGER.get_or_init(|| {
        let l: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        log::set_logger(l).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Info);
        l
    })
}

/// The stall event of the task named `name`, once the monitor reported it.
fn stall_of(rt: &weft::Handle, name: &str) -> Option<StallEvent> {
    rt.recent_stalls().into_iter().find(|e| e.name() == Some(name))
}

/// Runs `body(reported)` as a task named `name` on a one-worker runtime;
/// `reported()` turns true once the monitor has reported the task's stall.
/// Returns the stall event.
fn stall_in(rt: &Runtime, name: &'static str, body: fn(&dyn Fn() -> bool)) -> StallEvent {
    let handle = rt.handle().clone();
    let task = weft::task::Builder::new()
        .name(name)
        .spawn_on(
            async move {
                let start = Instant::now();
                body(&|| {
                    assert!(start.elapsed() < HANG_GUARD, "the stall of {name} was never reported");
                    stall_of(&handle, name).is_some()
                });
            },
            rt.handle(),
        )
        .unwrap();
    rt.block_on(task).unwrap();
    stall_of(rt.handle(), name).expect("reported")
}

/// `stall_in` until the stall has a stack, at most `ATTEMPTS` times: the
/// monitor gives up on a thread that a crowded machine keeps off the CPU
/// for its whole wait, and that stall has no stack through no fault of
/// the protocol. Task names are `name` with the attempt appended.
fn stall_with_stack(
    rt: &Runtime,
    names: [&'static str; ATTEMPTS],
    body: fn(&dyn Fn() -> bool),
) -> StallBacktrace {
    for name in names {
        if let Some(bt) = stall_in(rt, name, body).backtrace() {
            return bt.clone();
        }
    }
    panic!("no stack in {ATTEMPTS} stalls of {}", names[0]);
}

const ATTEMPTS: usize = 3;

fn names(bt: &StallBacktrace) -> Vec<String> {
    bt.frames().iter().filter_map(|f| f.name().map(str::to_string)).collect()
}

fn has_frame(bt: &StallBacktrace, needle: &str) -> bool {
    names(bt).iter().any(|n| n.contains(needle))
}

#[inline(never)]
fn stuck_in_here(reported: &dyn Fn() -> bool) {
    let mut spins = 0u64;
    // On the CPU until the monitor has seen the stall (the check is cheap
    // against the spin, so nearly every sample finds the thread here).
    loop {
        for _ in 0..10_000 {
            spins = std::hint::black_box(spins + 1);
        }
        if reported() {
            break;
        }
    }
}

#[inline(never)]
fn asleep_in_here(reported: &dyn Fn() -> bool) {
    while !reported() {
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn one_worker() -> Runtime {
    Runtime::builder().worker_threads(1).build().unwrap()
}

#[test]
fn a_stall_on_the_cpu_has_the_stuck_function_in_its_backtrace() {
    logs();
    let rt = one_worker();
    let bt = &stall_with_stack(&rt, ["spinner", "spinner 2", "spinner 3"], stuck_in_here);
    assert!(has_frame(bt, "stuck_in_here"), "{bt}");
    // The signal handler's own frames are left out: the innermost frame
    // is the stalled code's.
    let first = names(bt).into_iter().next().unwrap_or_default();
    assert!(!first.contains("signal_hook_registry") && !first.contains("monitor::stack"), "{bt}");
    // The warning follows the event (the monitor hands the stall off
    // first) and names the innermost frames.
    let start = Instant::now();
    let warning = loop {
        let warned = logs()
            .0
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.starts_with("WARN") && l.contains("\"spinner") && l.contains("; stack: "))
            .cloned();
        if let Some(w) = warned {
            break w;
        }
        assert!(start.elapsed() < HANG_GUARD, "no warning for the stall");
        std::thread::sleep(Duration::from_millis(1));
    };
    // Where in the loop the signal lands decides how many inlined frames
    // come before `stuck_in_here`, so only the innermost one is sure to be
    // in the warning. The warning is the first stall's with a stack,
    // which need not be `bt`'s stall: match its own task's name.
    let innermost = |bt: &StallBacktrace| bt.frames()[0].name().map(str::to_string).unwrap_or_default();
    let this_one =
        rt.handle().recent_stalls().into_iter().find(|e| warning.contains(&format!("task {} ", e.task_id())));
    let stack =
        this_one.and_then(|e| e.backtrace().cloned()).expect("the warned stall is kept, with its stack");
    assert!(warning.contains("; stack: ") && warning.contains(&innermost(&stack)), "{warning}");
}

#[test]
fn a_stall_asleep_in_a_system_call_has_a_backtrace_too() {
    let rt = one_worker();
    // The signal interrupts the sleep (std's sleep resumes it afterwards):
    // the handler runs at once and the stack shows where the task sleeps.
    let bt = &stall_with_stack(&rt, ["sleeper", "sleeper 2", "sleeper 3"], asleep_in_here);
    assert!(has_frame(bt, "asleep_in_here"), "{bt}");
    // Usually the innermost frames are the sleep's (`clock_nanosleep`,
    // `std::thread::sleep`), but the signal may also land in the check
    // between two sleeps, so only the task's own function is asserted.
}

#[cfg(target_os = "linux")]
#[inline(never)]
fn with_the_signal_blocked(reported: &dyn Fn() -> bool) {
    // The mask is restored below, after which the pending signal (if
    // any) runs the handler, which must find nothing to do.
    // SAFETY: sigset_t is plain data that sigemptyset initialises; the
    // pointers are to live locals; changing this thread's own mask has no
    // other precondition.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGRTMIN() + 7);
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        asleep_in_here(reported);
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
}

#[test]
#[cfg(target_os = "linux")]
fn a_worker_with_the_signal_blocked_gives_no_stack_and_the_next_stall_still_gets_one() {
    let rt = one_worker();
    // The monitor waits a bounded time for a handler that cannot run,
    // reports the stall without a stack, and goes on (else the task,
    // which waits for the report, trips its hang guard).
    let event = stall_in(&rt, "masked", with_the_signal_blocked);
    assert!(event.backtrace().is_none(), "{:?}", event.backtrace().map(|b| b.to_string()));
    // The signal left pending runs the handler once unblocked: it finds
    // the request withdrawn and leaves the slot ready for the next stall.
    let bt = &stall_with_stack(&rt, ["after-masked", "after-masked 2", "after-masked 3"], stuck_in_here);
    assert!(has_frame(bt, "stuck_in_here"), "{bt}");
}

#[test]
fn stall_backtraces_can_be_switched_off() {
    let rt = Runtime::builder().worker_threads(1).stall_backtraces(false).build().unwrap();
    let event = stall_in(&rt, "no-stack", stuck_in_here);
    assert!(event.backtrace().is_none());
}
