//! `weft::signal`: delivery to every receiver (several tasks, several
//! runtimes), the last signal of a storm never lost, receivers dropped
//! without harm to the others, `ctrl_c`, and bad signal numbers refused.
//!
//! Each test uses its own signal, so tests running at the same time do
//! not see each other's deliveries (a stray delivery would only make a
//! `recv` complete early, never hang one).

#![cfg(unix)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Poll;
use weft::signal::unix::{signal, Signal, SignalKind};

fn rt(workers: usize) -> weft::Runtime {
    weft::Runtime::builder().worker_threads(workers).build().unwrap()
}

/// Raises `sig` at the calling thread: the handler has run when this
/// returns.
fn raise(sig: libc::c_int) {
    // SAFETY: raise(3) has no memory-safety obligations.
    assert_eq!(unsafe { libc::raise(sig) }, 0);
}

/// Takes every delivery that is already there, without waiting.
async fn drain_ready(sig: &mut Signal) {
    std::future::poll_fn(|cx| {
        while let Poll::Ready(Some(())) = sig.poll_recv(cx) {}
        Poll::Ready(())
    })
    .await
}

#[test]
fn receivers_in_several_tasks_are_all_woken() {
    rt(2).block_on(async {
        let receivers: Vec<Signal> = (0..8).map(|_| signal(SignalKind::user_defined1()).unwrap()).collect();
        let tasks: Vec<_> =
            receivers.into_iter().map(|mut sig| weft::spawn(async move { sig.recv().await })).collect();
        // From another thread, at the whole process: any thread may take it.
        std::thread::spawn(|| {
            // SAFETY: kill(2) and getpid(2) have no memory-safety obligations.
            assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGUSR1) }, 0);
        })
        .join()
        .unwrap();
        for t in tasks {
            assert_eq!(t.await.unwrap(), Some(()));
        }
    });
}

#[test]
fn a_storm_of_1000_then_recv_completes_and_the_next_is_not_lost() {
    rt(2).block_on(async {
        let mut sig = signal(SignalKind::user_defined2()).unwrap();
        // 1000 deliveries: the socket fills and most bytes are dropped,
        // the pending flag holds.
        std::thread::spawn(|| (0..1000).for_each(|_| raise(libc::SIGUSR2))).join().unwrap();
        assert_eq!(sig.recv().await, Some(()));
        drain_ready(&mut sig).await;
        // After the storm is taken, one more delivery still wakes.
        raise(libc::SIGUSR2);
        assert_eq!(sig.recv().await, Some(()));
    });
}

#[test]
fn the_last_signal_of_a_concurrent_storm_is_seen() {
    rt(2).block_on(async {
        let mut sig = signal(SignalKind::alarm()).unwrap();
        let storm_over = Arc::new(AtomicBool::new(false));
        let over = storm_over.clone();
        let receiver = weft::spawn(async move {
            let mut seen = 0u64;
            loop {
                assert_eq!(sig.recv().await, Some(()));
                seen += 1;
                if over.load(SeqCst) {
                    return seen;
                }
            }
        });
        let raiser = std::thread::spawn(move || {
            (0..1000).for_each(|_| raise(libc::SIGALRM));
            // The flag is set before the last delivery: the receiver stops
            // only if that last delivery reaches it.
            storm_over.store(true, SeqCst);
            raise(libc::SIGALRM);
        });
        let seen = receiver.await.unwrap();
        raiser.join().unwrap();
        assert!((1..=1001).contains(&seen), "seen {seen}");
    });
}

#[test]
fn dropping_a_receiver_does_not_break_the_others() {
    rt(2).block_on(async {
        let mut keep = signal(SignalKind::hangup()).unwrap();
        let mut gone = signal(SignalKind::hangup()).unwrap();
        // `gone` registers as a waiter, then is dropped while waiting.
        let polled = std::future::poll_fn(|cx| Poll::Ready(gone.poll_recv(cx))).await;
        assert!(polled.is_pending());
        drop(gone);
        let waiter = weft::spawn(async move { keep.recv().await });
        raise(libc::SIGHUP);
        assert_eq!(waiter.await.unwrap(), Some(()));
        // A receiver made after the drop works too.
        let mut later = signal(SignalKind::hangup()).unwrap();
        raise(libc::SIGHUP);
        assert_eq!(later.recv().await, Some(()));
    });
}

#[test]
fn receivers_on_two_runtimes_both_see_a_signal() {
    let (a, b) = (rt(1), rt(1));
    let mut on_a = a.block_on(async { signal(SignalKind::window_change()).unwrap() });
    let mut on_b = b.block_on(async { signal(SignalKind::window_change()).unwrap() });
    let task_a = a.spawn(async move { on_a.recv().await });
    let task_b = b.spawn(async move { on_b.recv().await });
    raise(libc::SIGWINCH);
    assert_eq!(a.block_on(task_a).unwrap(), Some(()));
    assert_eq!(b.block_on(task_b).unwrap(), Some(()));
}

#[test]
fn ctrl_c_completes_on_sigint() {
    rt(1).block_on(async {
        let mut fut = Box::pin(weft::signal::ctrl_c());
        // The first poll installs the SIGINT handler: only then may the
        // test process receive SIGINT.
        assert!(futures::poll!(fut.as_mut()).is_pending());
        raise(libc::SIGINT);
        fut.await.unwrap();
    });
}

#[test]
fn bad_signal_numbers_are_refused() {
    rt(1).block_on(async {
        for signum in [0, -1, 1000, libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, libc::SIGFPE, libc::SIGILL] {
            let err = signal(SignalKind::from_raw(signum)).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "signal {signum}");
        }
    });
}

#[test]
fn a_receiver_needs_a_runtime() {
    assert!(signal(SignalKind::user_defined1()).is_err());
}

/// Threads of this process.
#[cfg(target_os = "linux")]
fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").expect("read /proc/self/task").count()
}

/// Delivery runs on the runtime's own threads: receiving a signal (and,
/// with `process`, waiting for a child) starts no thread. In a child
/// process, so other tests' runtimes do not change the count.
#[cfg(target_os = "linux")]
#[test]
fn delivery_starts_no_thread() {
    const NAME: &str = "delivery_starts_no_thread";
    if !common::child::is_child(NAME) {
        let (ok, out, err) = common::child::run_child(NAME);
        assert!(ok, "child failed:\n{out}\n{err}");
        return;
    }
    let rt = rt(2);
    rt.block_on(async { weft::spawn(async {}).await.unwrap() });
    let before = thread_count();
    rt.block_on(async {
        let mut sig = signal(SignalKind::user_defined1()).unwrap();
        raise(libc::SIGUSR1);
        assert_eq!(sig.recv().await, Some(()));
        #[cfg(feature = "process")]
        assert!(weft::process::Command::new("true").status().await.unwrap().success());
    });
    assert_eq!(thread_count(), before);
}

#[test]
fn a_signal_receiver_is_a_stream() {
    use futures::StreamExt;
    rt(1).block_on(async {
        let mut sig = signal(SignalKind::terminate()).unwrap();
        raise(libc::SIGTERM);
        assert_eq!(sig.next().await, Some(()));
    });
}
