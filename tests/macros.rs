//! `#[weft::main]` and `#[weft::test]` (the `macros` feature): the body runs
//! on a weft runtime with the requested worker count, return types are
//! kept, and `?` works in the body.
#![cfg(feature = "macros")]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The names of the worker threads that run `n` tasks which all wait at a
/// barrier for each other: they must run on `n` different workers at once.
async fn distinct_workers(n: usize) -> usize {
    let barrier = Arc::new(std::sync::Barrier::new(n));
    let names = Arc::new(Mutex::new(HashSet::new()));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let barrier = barrier.clone();
            let names = names.clone();
            weft::spawn(async move {
                names.lock().unwrap().insert(std::thread::current().id());
                // Blocks the worker on purpose: only n distinct workers can
                // all pass it.
                barrier.wait();
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    let count = names.lock().unwrap().len();
    count
}

// A `#[weft::main]` function is an ordinary fn; the tests call it.
#[weft::main(worker_threads = 2)]
async fn main_with_two_workers() -> usize {
    assert!(weft::Handle::try_current().is_ok(), "the body runs inside the runtime");
    assert_eq!(weft::Handle::current().metrics().num_workers(), 2);
    distinct_workers(2).await
}

#[weft::main]
async fn main_default() -> Result<u32, std::num::ParseIntError> {
    let n: u32 = weft::spawn(async { "41" }).await.unwrap().parse()?;
    Ok(n + 1)
}

#[weft::main]
async fn main_error() -> Result<u32, std::num::ParseIntError> {
    let n: u32 = "not a number".parse()?;
    Ok(n)
}

#[test]
fn main_runs_the_body_on_a_runtime() {
    assert_eq!(main_with_two_workers(), 2);
    assert_eq!(main_default(), Ok(42));
    assert!(main_error().is_err(), "`?` returns the error from the body");
    // The runtime is gone afterwards.
    assert!(weft::Handle::try_current().is_err());
}

#[weft::test]
async fn test_default() {
    let v = weft::spawn(async { 1 + 1 }).await.unwrap();
    assert_eq!(v, 2);
}

#[weft::test(worker_threads = 2)]
async fn test_with_two_workers() {
    assert_eq!(weft::Handle::current().metrics().num_workers(), 2);
    assert_eq!(distinct_workers(2).await, 2);
}

#[cfg(feature = "net")]
#[weft::test(worker_threads = 1)]
async fn test_result_ok() -> Result<(), std::io::Error> {
    assert_eq!(weft::Handle::current().metrics().num_workers(), 1);
    let listener = weft::net::TcpListener::bind("127.0.0.1:0").await?;
    listener.local_addr()?;
    Ok(())
}

#[weft::test(crate = "weft")]
async fn test_crate_path() {
    let mut set = weft::task::JoinSet::new();
    set.spawn(async { 5 });
    assert_eq!(set.join_next().await.unwrap().unwrap(), 5);
}

#[weft::test]
#[should_panic(expected = "a test body that panics")]
async fn test_panics_propagate() {
    panic!("a test body that panics");
}

#[weft::test]
async fn test_non_send_body() {
    // The body is block_on'ed on the test thread, not spawned: it may hold
    // !Send values across awaits.
    let rc = std::rc::Rc::new(3);
    weft::task::yield_now().await;
    assert_eq!(*rc, 3);
}
