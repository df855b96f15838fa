//! `sync::OnceCell`: one initializer runs however many callers race, a
//! cancelled or failed initializer lets the next one try, `set` refuses
//! while initializing, and the value is dropped exactly once.
#![cfg(feature = "sync")]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use weft::sync::{OnceCell, SetError};

fn runtime(workers: usize) -> weft::Runtime {
    weft::Runtime::builder().worker_threads(workers).build().unwrap()
}

#[test]
fn concurrent_initializers_run_exactly_one_init_function() {
    let rt = runtime(4);
    for _ in 0..50 {
        let cell = Arc::new(OnceCell::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let (cell, runs) = (cell.clone(), runs.clone());
                rt.spawn(async move {
                    *cell
                        .get_or_init(|| async {
                            runs.fetch_add(1, SeqCst);
                            for _ in 0..3 {
                                weft::task::yield_now().await;
                            }
                            i
                        })
                        .await
                })
            })
            .collect();
        let values: Vec<_> = rt.block_on(async {
            let mut v = Vec::new();
            for t in tasks {
                v.push(t.await.unwrap());
            }
            v
        });
        assert_eq!(runs.load(SeqCst), 1, "exactly one init function ran");
        assert!(values.iter().all(|v| *v == values[0]), "everyone got the winner's value: {values:?}");
    }
}

#[test]
fn a_cancelled_initializer_lets_the_next_caller_initialize() {
    let rt = runtime(2);
    rt.block_on(async {
        let cell = Arc::new(OnceCell::new());
        let (started_tx, started_rx) = weft::sync::oneshot::channel();
        let stuck = {
            let cell = cell.clone();
            weft::spawn(async move {
                *cell
                    .get_or_init(|| async move {
                        started_tx.send(()).unwrap();
                        std::future::pending::<u32>().await
                    })
                    .await
            })
        };
        started_rx.await.unwrap();
        // The first initializer holds the right to initialize, so `set`
        // is refused; a second caller queues behind it (or arrives after
        // the abort: it initializes either way).
        assert!(matches!(cell.set(0), Err(SetError::InitializingError(0))));
        let waiter = {
            let cell = cell.clone();
            weft::spawn(async move { *cell.get_or_init(|| async { 2 }).await })
        };
        stuck.abort();
        assert!(stuck.await.unwrap_err().is_cancelled());
        assert_eq!(waiter.await.unwrap(), 2, "the queued caller ran its own init function");
        assert_eq!(cell.get(), Some(&2));
    });
}

#[test]
fn a_failed_initializer_leaves_the_cell_empty_for_the_next() {
    let rt = runtime(1);
    rt.block_on(async {
        let cell = OnceCell::new();
        assert_eq!(cell.get_or_try_init(|| async { Err::<u8, _>("no") }).await, Err("no"));
        assert!(!cell.initialized());
        assert_eq!(cell.get_or_try_init(|| async { Ok::<_, &str>(4) }).await, Ok(&4));
        assert_eq!(cell.get_or_try_init(|| async { Ok::<_, &str>(5) }).await, Ok(&4));
    });
}

#[test]
fn a_panicking_initializer_lets_the_next_caller_initialize() {
    let rt = runtime(1);
    let cell = Arc::new(OnceCell::new());
    let c = cell.clone();
    let panicked = rt.block_on(rt.spawn(async move {
        c.get_or_init(|| async {
            if c2_panics() {
                panic!("init failed");
            }
            0
        })
        .await;
    }));
    assert!(panicked.unwrap_err().is_panic());
    assert_eq!(rt.block_on(async { *cell.get_or_init(|| async { 8 }).await }), 8);
}

#[test]
fn set_take_and_into_inner() {
    let mut cell = OnceCell::new();
    assert_eq!(cell.get(), None);
    cell.set(String::from("a")).unwrap();
    assert!(cell.set(String::from("b")).unwrap_err().is_already_init_err());
    assert_eq!(cell.take().as_deref(), Some("a"));
    assert!(!cell.initialized());
    cell.set(String::from("c")).unwrap();
    *cell.get_mut().unwrap() += "d";
    assert_eq!(cell.into_inner().as_deref(), Some("cd"));
}

#[test]
fn the_value_is_dropped_exactly_once() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let cell = OnceCell::new_with(Some(Counted(drops.clone())));
    let clone_free = OnceCell::<Counted>::new();
    drop(clone_free);
    assert_eq!(drops.load(SeqCst), 0);
    drop(cell);
    assert_eq!(drops.load(SeqCst), 1);
    let mut cell = OnceCell::new_with(Some(Counted(drops.clone())));
    drop(cell.take());
    drop(cell);
    assert_eq!(drops.load(SeqCst), 2);
}

static GLOBAL: OnceCell<u64> = OnceCell::const_new();

#[test]
fn a_static_cell_initializes_once() {
    let rt = runtime(2);
    let a = rt.block_on(async { *GLOBAL.get_or_init(|| async { 11 }).await });
    let b = rt.block_on(async { *GLOBAL.get_or_init(|| async { 12 }).await });
    assert_eq!((a, b), (11, 11));
}

fn c2_panics() -> bool {
    true
}
