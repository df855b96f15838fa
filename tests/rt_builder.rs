//! Building a runtime, and `block_on`: bad worker counts, defaults, stack
//! size, `block_on` misuse (inside a task, nested), and that a blocked
//! `block_on` parks its thread instead of spinning.

use std::future::{poll_fn, Future};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use weft::{Builder, Handle, Runtime};

mod common;
use common::panic_message;

fn runtime(workers: usize) -> Runtime {
    Runtime::builder().worker_threads(workers).thread_name("builder-test-worker").build().unwrap()
}

// ----- worker counts ---------------------------------------------------------------------------

#[test]
fn zero_worker_threads_is_an_invalid_input_error() {
    let result = catch_unwind(|| Runtime::builder().worker_threads(0).build());
    let err = result.expect("build must not panic").expect_err("0 workers must be refused");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("worker_threads(0)"), "the error should say what was wrong: {err}");
}

#[test]
fn too_many_worker_threads_is_an_error() {
    for n in [1 << 20, usize::MAX / 2, usize::MAX] {
        let result = catch_unwind(|| Runtime::builder().worker_threads(n).build());
        let err = result.expect("build must not panic").expect_err("an absurd worker count must be refused");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "worker_threads({n}): {err}");
    }
}

#[test]
fn builder_can_be_corrected_and_reused() {
    let mut b = Builder::new();
    b.worker_threads(0);
    assert!(b.build().is_err());
    b.worker_threads(2).thread_name("reused");
    let a = b.build().unwrap();
    let c = b.build().unwrap();
    assert_eq!((a.metrics().num_workers(), c.metrics().num_workers()), (2, 2));
    assert_eq!(a.block_on(a.spawn(async { 1 })).unwrap() + c.block_on(c.spawn(async { 2 })).unwrap(), 3);
    assert!(format!("{b:?}").contains("worker_threads"));
}

#[test]
fn runtime_new_works_with_the_default_worker_count() {
    let rt = Runtime::new().unwrap();
    let cpus = thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let n = rt.metrics().num_workers();
    assert!((1..=cpus).contains(&n), "default worker count {n} for {cpus} CPUs");
    assert_eq!(rt.block_on(async { 6 * 7 }), 42);
    assert_eq!(rt.block_on(rt.spawn(async { "spawned" })).unwrap(), "spawned");
    assert!(format!("{rt:?}").contains("Runtime"));
}

#[test]
fn one_worker_runtime_runs_many_tasks() {
    let rt = runtime(1);
    let sum: u64 = rt.block_on(async {
        let hs: Vec<_> = (0..1_000u64).map(|i| weft::spawn(async move { i })).collect();
        let mut s = 0;
        for h in hs {
            s += h.await.unwrap();
        }
        s
    });
    assert_eq!(sum, 499_500);
}

/// Runs `f` on a helper thread; None if it did not return within `limit`
/// (the helper is then left behind, blocked).
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).ok()
}

#[test]
fn unspawnable_worker_thread_is_an_os_error_not_a_hang() {
    // A stack larger than the address space: pthread_create fails.
    let result = within(Duration::from_secs(30), || {
        catch_unwind(|| Runtime::builder().worker_threads(2).thread_stack_size(1 << 48).build().map(drop))
            .map_err(|p| panic_message(p.as_ref()))
    })
    .expect("build() hung after failing to spawn a worker");
    let err = result.expect("build must not panic").expect_err("a worker thread cannot have that stack");
    assert!(err.to_string().contains("cannot spawn worker thread"), "{err}");
}

#[test]
fn thread_name_with_a_nul_byte_is_an_error_not_a_panic_or_hang() {
    let result = within(Duration::from_secs(10), || {
        catch_unwind(|| Runtime::builder().worker_threads(2).thread_name("bad\0name").build().map(drop))
            .map_err(|p| panic_message(p.as_ref()))
    })
    .expect("build() with a NUL in the thread name hung");
    let err = result.expect("build must return an error, not panic, on a bad thread name").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn panicking_thread_name_fn_is_an_error_not_a_hang() {
    let result = within(Duration::from_secs(10), || {
        let calls = AtomicUsize::new(0);
        catch_unwind(move || {
            Runtime::builder()
                .worker_threads(2)
                .thread_name_fn(move || {
                    if calls.fetch_add(1, SeqCst) == 1 {
                        panic!("name fn boom");
                    }
                    "named".to_string()
                })
                .build()
                .map(drop)
        })
        .map_err(|p| panic_message(p.as_ref()))
    })
    .expect("build() hung after the thread_name_fn panicked");
    let err = result.expect("build must contain the name fn's panic").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("thread_name_fn panicked"), "{err}");
}

// ----- thread stack size -----------------------------------------------------------------------

/// The current thread's stack size as the C library reports it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn current_stack_size() -> usize {
    // SAFETY: an all-zero pthread_attr_t is a valid out-parameter for
    // pthread_getattr_np, which initialises it.
    let mut attr: libc::pthread_attr_t = unsafe { std::mem::zeroed() };
    // SAFETY: `attr` is a valid, writable pthread_attr_t, and pthread_self()
    // is the calling (live) thread.
    assert_eq!(unsafe { libc::pthread_getattr_np(libc::pthread_self(), &mut attr) }, 0);
    let mut addr = std::ptr::null_mut();
    let mut size = 0usize;
    // SAFETY: `attr` was initialised above; the out-pointers are valid.
    assert_eq!(unsafe { libc::pthread_attr_getstack(&attr, &mut addr, &mut size) }, 0);
    // SAFETY: `attr` was initialised by pthread_getattr_np and is destroyed once.
    unsafe { libc::pthread_attr_destroy(&mut attr) };
    size
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn thread_stack_size_is_applied_to_workers() {
    const SIZE: usize = 8 * 1024 * 1024 + 64 * 1024;
    let rt = Runtime::builder().worker_threads(2).thread_stack_size(SIZE).build().unwrap();
    let sizes: Vec<usize> = rt.block_on(async {
        let hs: Vec<_> = (0..8).map(|_| weft::spawn(async { current_stack_size() })).collect();
        let mut v = Vec::new();
        for h in hs {
            v.push(h.await.unwrap());
        }
        v
    });
    for s in sizes {
        assert!((SIZE..2 * SIZE).contains(&s), "worker stack is {s} bytes, asked for {SIZE}");
    }
}

#[test]
fn small_thread_stack_size_still_runs_tasks() {
    let rt = Runtime::builder().worker_threads(2).thread_stack_size(128 * 1024).build().unwrap();
    assert_eq!(rt.block_on(rt.spawn(async { 3 })).unwrap(), 3);
}

// ----- block_on misuse -----------------------------------------------------------------------------

#[test]
fn block_on_inside_a_task_panics_with_a_reason() {
    let rt = Arc::new(runtime(2));
    let other = Arc::new(runtime(1));
    for target in [rt.clone(), other] {
        let task = rt.spawn(async move { target.block_on(async { 1 }) });
        let err = rt.block_on(task).expect_err("block_on on a worker thread must panic");
        assert!(err.is_panic(), "{err:?}");
        let msg = panic_message(err.into_panic().as_ref());
        assert!(msg.contains("inside a weft worker thread"), "the message should say why: {msg:?}");
        assert!(msg.contains(".await"), "the message should say what to do instead: {msg:?}");
    }
    // The worker that panicked still runs tasks.
    assert_eq!(rt.block_on(rt.spawn(async { 2 })).unwrap(), 2);
}

#[test]
fn nested_block_on_panics_with_a_reason() {
    let rt = runtime(1);
    let other = runtime(1);
    for inner in [&rt, &other] {
        let result = rt.block_on(async { catch_unwind(AssertUnwindSafe(|| inner.block_on(async { 1 }))) });
        let payload = result.expect_err("nested block_on must panic");
        let msg = panic_message(payload.as_ref());
        assert!(msg.contains("already inside block_on"), "the message should say why: {msg:?}");
    }
    // The thread is usable for block_on again.
    assert_eq!(rt.block_on(async { 5 }), 5);
    assert_eq!(other.block_on(async { 6 }), 6);
}

#[test]
fn block_on_whose_future_panics_leaves_the_thread_usable() {
    let rt = runtime(1);
    let err = catch_unwind(AssertUnwindSafe(|| rt.block_on(async { panic!("inside block_on") })))
        .expect_err("the panic propagates out of block_on");
    assert_eq!(panic_message(err.as_ref()), "inside block_on");
    assert!(Handle::try_current().is_err(), "the runtime is no longer current after the unwind");
    assert_eq!(rt.block_on(async { 7 }), 7);
}

#[test]
fn sequential_block_on_on_many_threads() {
    let rt = Arc::new(runtime(2));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let rt = rt.clone();
            thread::spawn(move || {
                (0..50).map(|i| rt.block_on(rt.spawn(async move { t * 100 + i })).unwrap()).sum::<usize>()
            })
        })
        .collect();
    let total: usize = threads.into_iter().map(|t| t.join().unwrap()).sum::<usize>();
    assert_eq!(total, (0..4).map(|t| (0..50).map(|i| t * 100 + i).sum::<usize>()).sum());
}

#[test]
fn enter_guards_nest() {
    let two = runtime(2);
    let three = runtime(3);
    let workers = || Handle::current().metrics().num_workers();
    let g2 = two.enter();
    assert_eq!(workers(), 2);
    {
        let _g3 = three.enter();
        assert_eq!(workers(), 3);
    }
    assert_eq!(workers(), 2);
    drop(g2);
    assert!(Handle::try_current().is_err());
}

// ----- block_on wake-ups -----------------------------------------------------------------------------

/// A one-shot slot a plain thread fills while `block_on` waits on it.
#[derive(Default)]
struct Slot {
    value: Mutex<(Option<u32>, Option<Waker>)>,
}

impl Slot {
    fn fill(&self, v: u32) {
        let waker = {
            let mut g = self.value.lock().unwrap();
            g.0 = Some(v);
            g.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    async fn take(&self) -> u32 {
        poll_fn(|cx| {
            let mut g = self.value.lock().unwrap();
            match g.0.take() {
                Some(v) => Poll::Ready(v),
                None => {
                    g.1 = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }
}

#[test]
fn block_on_of_a_future_woken_from_another_thread_completes() {
    let rt = runtime(1);
    for i in 0..2_000u32 {
        let slot = Arc::new(Slot::default());
        let s = slot.clone();
        let t = thread::spawn(move || s.fill(i));
        assert_eq!(rt.block_on(slot.take()), i);
        t.join().unwrap();
    }
}

/// CPU time this thread has used so far.
#[cfg(target_os = "linux")]
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID
    // is supported on every Linux this crate targets.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(target_os = "linux")]
#[test]
fn block_on_parks_instead_of_spinning() {
    let rt = runtime(1);
    let slot = Arc::new(Slot::default());
    let s = slot.clone();
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let waker_thread = thread::spawn(move || {
        ready_rx.recv().unwrap();
        // The workload: keep block_on waiting for 300 ms.
        thread::sleep(Duration::from_millis(300));
        s.fill(9);
    });
    let cpu_before = thread_cpu_time();
    let start = Instant::now();
    let polls = AtomicUsize::new(0);
    let v = rt.block_on(async {
        let fut = slot.take();
        let mut fut = std::pin::pin!(fut);
        poll_fn(|cx| {
            if polls.fetch_add(1, SeqCst) == 0 {
                ready_tx.send(()).unwrap();
            }
            fut.as_mut().poll(cx)
        })
        .await
    });
    let wall = start.elapsed();
    let cpu = thread_cpu_time() - cpu_before;
    waker_thread.join().unwrap();
    assert_eq!(v, 9);
    assert!(wall >= Duration::from_millis(300), "block_on returned before the wake: {wall:?}");
    // A spinning block_on would burn most of the 300 ms; a parked one uses
    // next to nothing. 50 ms leaves room for a loaded machine.
    assert!(
        cpu < Duration::from_millis(50),
        "block_on used {cpu:?} of CPU while waiting {wall:?}: is it spinning?"
    );
    assert!(polls.load(SeqCst) <= 3, "block_on polled {} times for one wake", polls.load(SeqCst));
}

#[test]
fn yield_now_inside_block_on_returns() {
    let rt = runtime(1);
    let n = rt.block_on(async {
        for _ in 0..100 {
            weft::task::yield_now().await;
        }
        100
    });
    assert_eq!(n, 100);
}

#[test]
fn block_on_wakes_from_a_task_of_its_runtime() {
    let rt = runtime(2);
    let slot = Arc::new(Slot::default());
    let s = slot.clone();
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    drop(rt.spawn(async move {
        weft::task::yield_now().await;
        f.store(true, SeqCst);
        s.fill(4);
    }));
    assert_eq!(rt.block_on(slot.take()), 4);
    assert!(flag.load(SeqCst));
}
