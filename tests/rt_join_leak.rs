//! A `JoinHandle` misused or given up on leaks neither its task nor, through
//! the task's reference to its scheduler, the runtime: after the runtime is
//! dropped, the process has the file descriptors it had before (each
//! runtime's netpoller owns an epoll fd and a waker fd, freed only when the
//! last reference to the runtime's shared state goes).
//!
//! Each test runs in a child process (this binary re-executed with only
//! that test), so the fd counts see no other test's runtimes.

mod common;

use common::child::{fd_count, is_child, run_child};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Waker};

const OK_MARKER: &str = "WEFT-CHILD-OK";
const ROUNDS: usize = 20;

fn assert_child_ok(test_name: &str) {
    let (ok, stdout, stderr) = run_child(test_name);
    assert!(
        ok && stdout.contains(OK_MARKER),
        "child {test_name} failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
}

fn runtime() -> weft::Runtime {
    weft::Runtime::builder().worker_threads(2).build().expect("build runtime")
}

#[test]
fn a_join_handle_polled_again_after_ready_leaks_no_runtime() {
    const NAME: &str = "a_join_handle_polled_again_after_ready_leaks_no_runtime";
    if !is_child(NAME) {
        return assert_child_ok(NAME);
    }
    let before = fd_count();
    for _ in 0..ROUNDS {
        let rt = runtime();
        let mut handle = rt.spawn(async { 42 });
        assert_eq!(rt.block_on(&mut handle).unwrap(), 42);
        let again = catch_unwind(AssertUnwindSafe(|| {
            let mut cx = Context::from_waker(Waker::noop());
            let _ = Pin::new(&mut handle).poll(&mut cx);
        }));
        assert!(again.is_err(), "a second poll after Ready panics");
        drop(handle);
        drop(rt);
    }
    assert_eq!(fd_count(), before, "a runtime outlived its drop");
    println!("{OK_MARKER}");
}

/// Needs weft's channels to hand each task the other's handle.
#[cfg(feature = "sync")]
mod given_up_handles {
    use super::*;
    use std::future::poll_fn;
    use std::sync::mpsc;
    use std::task::Poll;
    use weft::task::JoinHandle;

    /// Polls `handle` once (registering the caller's waker in the task it
    /// watches) and drops it.
    async fn poll_once_and_drop<T>(mut handle: JoinHandle<T>) {
        let mut polled = false;
        poll_fn(|cx| {
            if !polled {
                polled = true;
                assert!(Pin::new(&mut handle).poll(cx).is_pending(), "the watched task never ends");
            }
            Poll::Ready(())
        })
        .await;
        drop(handle);
    }

    #[test]
    fn tasks_that_gave_up_on_each_others_handles_leak_no_runtime() {
        const NAME: &str = "given_up_handles::tasks_that_gave_up_on_each_others_handles_leak_no_runtime";
        if !is_child(NAME) {
            return assert_child_ok(NAME);
        }
        let before = fd_count();
        for _ in 0..ROUNDS {
            let rt = runtime();
            let (done_tx, done_rx) = mpsc::channel::<()>();
            // Each task waits for the other's handle, polls it once, drops it and
            // then waits for ever (until shutdown cancels it).
            let (a_tx, a_rx) = weft::sync::oneshot::channel::<JoinHandle<()>>();
            let (b_tx, b_rx) = weft::sync::oneshot::channel::<JoinHandle<()>>();
            let watcher = |rx: weft::sync::oneshot::Receiver<JoinHandle<()>>, done: mpsc::Sender<()>| async move {
                poll_once_and_drop(rx.await.expect("the other task's handle")).await;
                done.send(()).unwrap();
                std::future::pending::<()>().await;
            };
            let a = rt.spawn(watcher(a_rx, done_tx.clone()));
            let b = rt.spawn(watcher(b_rx, done_tx));
            a_tx.send(b).expect("a waits");
            b_tx.send(a).expect("b waits");
            for _ in 0..2 {
                done_rx.recv().expect("both tasks polled the other's handle");
            }
            drop(rt);
        }
        assert_eq!(fd_count(), before, "a runtime outlived its drop");
        println!("{OK_MARKER}");
    }
}
