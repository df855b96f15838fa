//! `Builder::tokio_context`: code written for tokio (`tokio::spawn`,
//! `tokio::time`, `tokio::net`) runs inside weft tasks, blocking closures,
//! thread hooks and `block_on`; without the option it finds no tokio
//! runtime, as before.

#![cfg(feature = "tokio-context")]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;
use weft::Runtime;

fn runtime() -> Runtime {
    Runtime::builder().worker_threads(2).tokio_context(true).build().unwrap()
}

#[test]
fn tokio_spawn_and_tokio_time_work_inside_a_weft_task() {
    let rt = runtime();
    let out = rt.block_on(rt.spawn(async {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let timed_out = tokio::time::timeout(Duration::from_millis(1), std::future::pending::<()>()).await;
        let spawned = tokio::spawn(async { 6 * 7 }).await.unwrap();
        (timed_out.is_err(), spawned)
    }));
    assert_eq!(out.unwrap(), (true, 42));
}

#[test]
fn tokio_sockets_work_inside_weft_tasks() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = runtime();
    let echoed = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // The server is a weft task using tokio's listener and stream.
        let server = weft::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&buf).await.unwrap();
        });
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(b"hello").await.unwrap();
        let mut back = [0u8; 5];
        c.read_exact(&mut back).await.unwrap();
        server.await.unwrap();
        back
    });
    assert_eq!(&echoed, b"hello");
}

#[test]
fn blocking_closures_and_block_on_see_the_tokio_context() {
    let rt = runtime();
    let in_blocking = rt.block_on(async {
        weft::task::spawn_blocking(|| tokio::runtime::Handle::try_current().is_ok()).await
    });
    assert!(in_blocking.unwrap(), "a blocking-pool thread is inside tokio's context");
    assert!(rt.block_on(async { tokio::runtime::Handle::try_current().is_ok() }), "block_on is inside it");
    // Outside block_on the caller's thread is left as it was.
    assert!(tokio::runtime::Handle::try_current().is_err());
}

#[test]
fn thread_start_hooks_run_inside_the_tokio_context() {
    let inside = Arc::new(AtomicUsize::new(0));
    let i2 = inside.clone();
    let rt = Runtime::builder()
        .worker_threads(2)
        .tokio_context(true)
        .on_thread_start(move || {
            if tokio::runtime::Handle::try_current().is_ok() {
                i2.fetch_add(1, SeqCst);
            }
        })
        .build()
        .unwrap();
    // Every worker slot's thread (the two workers and their spares) has run
    // its hook once the runtime is shut down.
    let slots = rt.metrics().workers().len();
    drop(rt);
    assert_eq!(inside.load(SeqCst), slots);
}

#[test]
fn without_the_option_a_weft_task_has_no_tokio_context() {
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    let found = rt.block_on(rt.spawn(async { tokio::runtime::Handle::try_current().is_ok() }));
    assert!(!found.unwrap());
}

#[test]
fn runtimes_share_one_tokio_runtime() {
    // Two weft runtimes hand tokio::spawn to the same tokio runtime: a
    // task spawned from one is joined from the other.
    let a = runtime();
    let b = runtime();
    // The handle is returned, not awaited, so the join happens on `b`.
    let (tx, rx) = std::sync::mpsc::channel();
    a.block_on(a.spawn(async move { tx.send(tokio::spawn(async { "from a" })).unwrap() })).unwrap();
    let handle = rx.recv().unwrap();
    assert_eq!(b.block_on(b.spawn(handle)).unwrap().unwrap(), "from a");
}
