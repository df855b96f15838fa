//! `Handle::block_on`: from plain threads and blocking closures, with the
//! runtime current inside; a clear panic on a worker or when nested.

mod common;

#[test]
fn block_on_from_a_plain_thread_runs_the_future_with_the_runtime_current() {
    let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    let handle = rt.handle().clone();
    let out = std::thread::spawn(move || {
        handle.block_on(async {
            let a = weft::spawn(async { 40 });
            a.await.unwrap() + 2
        })
    })
    .join()
    .unwrap();
    assert_eq!(out, 42);
}

#[test]
fn block_on_works_inside_a_blocking_closure() {
    let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    let out = rt.block_on(rt.spawn_blocking(|| {
        weft::Handle::current().block_on(async { weft::spawn(async { 7 }).await.unwrap() })
    }));
    assert_eq!(out.unwrap(), 7);
}

#[test]
fn block_on_inside_a_task_panics_with_advice() {
    let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    let err = rt.block_on(rt.spawn(async { weft::Handle::current().block_on(async {}) })).unwrap_err();
    let msg = common::panic_message(&*err.into_panic());
    assert!(msg.contains("Handle::block_on") && msg.contains("worker"), "{msg}");
}

#[test]
fn nested_block_on_panics() {
    let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    let handle = rt.handle().clone();
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { handle.block_on(async {}) })
    }))
    .unwrap_err();
    assert!(common::panic_message(&*err).contains("already inside block_on"));
}
