//! `task::id()` / `try_id()`: the polled task's id, in tasks, `LocalSet`
//! tasks and `spawn_blocking` closures; none outside a task.

mod common;

#[test]
fn id_matches_the_join_handle_in_every_kind_of_task() {
    let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    let task = rt.spawn(async {
        weft::task::yield_now().await;
        weft::task::id()
    });
    let expected = task.id();
    assert_eq!(rt.block_on(task).unwrap(), expected);

    let blocking = rt.spawn_blocking(weft::task::try_id);
    let expected = blocking.id();
    assert_eq!(rt.block_on(blocking).unwrap(), Some(expected));

    let local = weft::task::LocalSet::new();
    let (got, expected) = local.block_on(&rt, async {
        let t = weft::task::spawn_local(async { weft::task::id() });
        let expected = t.id();
        (t.await.unwrap(), expected)
    });
    assert_eq!(got, expected);
}

#[test]
fn nested_task_polls_report_their_own_ids() {
    let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    let (outer, inner, outer_after) = rt
        .block_on(rt.spawn(async {
            let outer = weft::task::id();
            let inner = weft::spawn(async { weft::task::id() });
            let inner_id = inner.id();
            assert_eq!(inner.await.unwrap(), inner_id);
            (outer, inner_id, weft::task::id())
        }))
        .unwrap();
    assert_ne!(outer, inner);
    assert_eq!(outer, outer_after);
}

#[test]
fn there_is_no_id_outside_a_task() {
    assert_eq!(weft::task::try_id(), None);
    let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    assert_eq!(rt.block_on(async { weft::task::try_id() }), None);
    let err = std::panic::catch_unwind(weft::task::id).unwrap_err();
    assert!(common::panic_message(&*err).contains("try_id"));
}
