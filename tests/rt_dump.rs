//! Task dumps (`Handle::dump`), task names (`task::Builder`) and the
//! complete-but-unjoined state.
//!
//! No verdict depends on a sleep: waits are deadline loops over dumps or
//! flags (sleeping 1 ms between looks).

mod common;

use common::dump::{find, rt, wait_for};
use std::collections::HashSet;
use std::future::{pending, Future};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};
use weft::task::{Builder, Id, TaskInfo, TaskState};

/// The task `id` once the dump shows it in `state`.
#[track_caller]
fn wait_for_state(rt: &weft::Runtime, id: Id, state: TaskState) -> TaskInfo {
    wait_for(&format!("task {id} in state {state}"), || find(&rt.dump(), id).filter(|t| t.state() == state))
}

/// Polls a future once with a no-op waker.
fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Waker::from(Arc::new(Noop));
    std::pin::Pin::new(fut).poll(&mut Context::from_waker(&waker))
}

#[test]
fn named_task_shows_name_and_location() {
    let rt = rt(1);
    let line = line!() + 1;
    let named = Builder::new().name("conn-handler").spawn_on(pending::<()>(), rt.handle()).unwrap();
    let (inner, inner_line) = rt.block_on(async {
        let line = line!() + 1;
        let join = Builder::new().name("inner").spawn(pending::<()>()).unwrap();
        (join, line)
    });
    let plain_line = line!() + 1;
    let plain = rt.spawn(pending::<()>());

    let dump = rt.dump();
    let t = find(&dump, named.id()).expect("the named task is in the dump");
    assert_eq!(t.name(), Some("conn-handler"));
    assert_eq!((t.location().file(), t.location().line()), (file!(), line));
    let t = find(&dump, inner.id()).expect("the task spawned with Builder::spawn is in the dump");
    assert_eq!(t.name(), Some("inner"));
    assert_eq!((t.location().file(), t.location().line()), (file!(), inner_line));
    let t = find(&dump, plain.id()).expect("the unnamed task is in the dump");
    assert_eq!(t.name(), None);
    assert_eq!((t.location().file(), t.location().line()), (file!(), plain_line));

    let long = "x".repeat(Builder::MAX_NAME_LEN + 1);
    for bad in [long.as_str(), "line\nbreak"] {
        let err = Builder::new().name(bad).spawn_on(async {}, rt.handle()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
    assert_eq!(rt.dump().len(), 3, "a refused name spawns nothing");
}

#[test]
fn blocked_task_is_idle_and_its_time_since_last_poll_grows() {
    let rt = rt(2);
    let spawned = Instant::now();
    let join = rt.spawn(pending::<()>());
    let first = wait_for_state(&rt, join.id(), TaskState::Idle);
    let seen = spawned.elapsed();
    assert_eq!(first.polls(), 1);
    let since = first.since_last_poll().expect("polled once");
    // Workers time one poll in 32 (docs/design/dump.md): the length of this
    // one poll may be unknown. Known, it fits between the spawn and the dump.
    if let Some(d) = first.last_poll_duration() {
        assert!(d <= seen, "a poll of {d:?} within {seen:?}");
    }
    let later = wait_for("since_last_poll to grow", || {
        find(&rt.dump(), join.id())
            .filter(|t| t.since_last_poll().unwrap() > since + Duration::from_millis(5))
    });
    assert_eq!(later.state(), TaskState::Idle);
    assert_eq!(later.polls(), 1, "nobody woke it");
    assert!(later.age() >= later.since_last_poll().unwrap());
}

#[test]
fn busy_task_shows_running() {
    let rt = rt(2);
    let started = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let join = rt.spawn({
        let (started, stop) = (started.clone(), stop.clone());
        async move {
            started.store(true, SeqCst);
            while !stop.load(SeqCst) {
                std::hint::spin_loop();
            }
        }
    });
    wait_for("the busy task to start", || started.load(SeqCst).then_some(()));
    let t = find(&rt.dump(), join.id()).expect("listed");
    assert_eq!(t.state(), TaskState::Running);
    assert_eq!(t.polls(), 1);
    assert!(t.since_last_poll().is_some());
    assert_eq!(rt.dump().with_state(TaskState::Running).len(), 1);
    stop.store(true, SeqCst);
    rt.block_on(join).unwrap();
}

#[test]
fn complete_task_stays_listed_until_joined_or_dropped() {
    let rt = rt(2);
    let joined = rt.spawn(async { 7 });
    let dropped = rt.spawn(async { 8 });
    let detached_done = Arc::new(AtomicBool::new(false));
    drop(rt.spawn({
        let done = detached_done.clone();
        async move { done.store(true, SeqCst) }
    }));
    wait_for("both tasks to finish", || (joined.is_finished() && dropped.is_finished()).then_some(()));
    wait_for("the detached task to finish", || detached_done.load(SeqCst).then_some(()));

    let dump = wait_for("the detached task to leave the list", || Some(rt.dump()).filter(|d| d.len() == 2));
    for id in [joined.id(), dropped.id()] {
        assert_eq!(find(&dump, id).unwrap().state(), TaskState::Complete, "{dump}");
    }
    assert_eq!(rt.metrics().num_alive_tasks(), 0, "complete tasks are not alive");

    assert_eq!(rt.block_on(joined).unwrap(), 7);
    let dump = rt.dump();
    assert_eq!(dump.len(), 1, "the joined task left the list: {dump}");
    assert_eq!(find(&dump, dropped.id()).unwrap().state(), TaskState::Complete);
    drop(dropped);
    assert!(rt.dump().is_empty(), "the dropped handle's task left the list");
    assert_eq!(rt.metrics().num_alive_tasks(), 0);
}

#[test]
fn num_alive_tasks_keeps_meaning_not_yet_completed() {
    let rt = rt(2);
    let done: Vec<_> = (0..10).map(|i| rt.spawn(async move { i })).collect();
    let parked: Vec<_> = (0..5).map(|_| rt.spawn(pending::<()>())).collect();
    wait_for("10 tasks to finish", || done.iter().all(|j| j.is_finished()).then_some(()));
    wait_for("the 10 finished tasks to be flagged complete", || {
        Some(rt.dump()).filter(|d| d.with_state(TaskState::Complete).len() == 10)
    });
    assert_eq!(rt.metrics().num_alive_tasks(), 5, "only the pending tasks are alive");
    assert_eq!(rt.dump().len(), 15, "but the dump also lists the 10 unjoined ones");
    let mut done = done.into_iter();
    for (i, j) in done.by_ref().take(5).enumerate() {
        assert_eq!(rt.block_on(j).unwrap(), i);
    }
    assert_eq!(rt.dump().len(), 10);
    drop(done);
    drop(parked);
    assert_eq!(rt.dump().len(), 5, "detached pending tasks stay listed");
    assert_eq!(rt.metrics().num_alive_tasks(), 5);
}

#[test]
fn shutdown_frees_complete_unjoined_tasks_and_keeps_their_output() {
    let drops = Arc::new(AtomicUsize::new(0));
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let rt = rt(2);
    let mut joins: Vec<_> = (0..20)
        .map(|i| {
            let c = Counted(drops.clone());
            rt.spawn(async move {
                let _c = c;
                i
            })
        })
        .collect();
    wait_for("20 tasks to finish", || joins.iter().all(|j| j.is_finished()).then_some(()));
    assert_eq!(rt.dump().with_state(TaskState::Complete).len(), 20);
    drop(rt);
    assert_eq!(drops.load(SeqCst), 20, "every future dropped once");
    for (i, j) in joins.iter_mut().enumerate() {
        match poll_once(j) {
            Poll::Ready(Ok(v)) => assert_eq!(v, i),
            other => panic!("a complete task's output must survive shutdown: {other:?}"),
        }
    }
}

#[test]
#[cfg(feature = "time")]
fn older_than_and_not_polled_for_filter() {
    let rt = rt(2);
    let d = Duration::from_millis(100);
    let old = rt.spawn(pending::<()>());
    wait_for("the first task to be older than d", || find(&rt.dump(), old.id()).filter(|t| t.age() > d));
    let young = rt.spawn(pending::<()>());
    let ticker = rt.spawn(async {
        loop {
            weft::time::sleep(Duration::from_millis(1)).await;
        }
    });

    let dump = rt.dump();
    let older = dump.older_than(d);
    assert!(find(&older, old.id()).is_some(), "{dump}");
    for t in dump.tasks() {
        assert_eq!(find(&older, t.id()).is_some(), t.age() > d, "older_than must keep exactly age > d");
    }
    if find(&dump, young.id()).unwrap().age() <= d {
        assert!(find(&older, young.id()).is_none());
    }

    // A dump in which the ticker was polled recently and the parked task
    // (polled once, at its spawn) long ago.
    let dump = wait_for("a dump with the ticker recently polled and the young task unpolled for d", || {
        let dump = rt.dump();
        let tick = find(&dump, ticker.id())?.since_last_poll()?;
        let young = find(&dump, young.id())?.since_last_poll()?;
        (tick < d && young > d).then_some(dump)
    });
    let stale = dump.not_polled_for(d);
    assert!(find(&stale, old.id()).is_some() && find(&stale, young.id()).is_some(), "{dump}");
    assert!(find(&stale, ticker.id()).is_none(), "the ticker is polled every millisecond: {dump}");
}

#[test]
fn never_polled_tasks_count_as_not_polled_since_their_spawn() {
    // One worker, kept busy: a task spawned behind it is not polled until
    // the blocker ends (no stall monitor: it would hand the queue to a
    // spare thread once the blocker has run past its threshold, which a
    // slow test thread can let happen before the dump). The verdict is
    // taken from the first dump that shows the task unpolled and older
    // than d. `task::dump::tests` checks the same rule on fixed stamps.
    let rt = weft::Runtime::builder().worker_threads(1).stall_threshold(None).build().unwrap();
    let started = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let blocker = rt.spawn({
        let (started, stop) = (started.clone(), stop.clone());
        async move {
            started.store(true, SeqCst);
            while !stop.load(SeqCst) {
                std::hint::spin_loop();
            }
        }
    });
    wait_for("the blocker to run", || started.load(SeqCst).then_some(()));
    let waiting = rt.spawn(async {});
    let d = Duration::from_millis(2);
    let dump = wait_for("the queued task to age", || {
        let dump = rt.dump();
        let t = find(&dump, waiting.id())?;
        assert_eq!(t.polls(), 0, "the queued task was polled although the only worker is busy");
        (t.age() > d).then_some(dump)
    });
    let t = find(&dump, waiting.id()).unwrap();
    assert_eq!((t.state(), t.since_last_poll()), (TaskState::Scheduled, None));
    let stale = dump.not_polled_for(d);
    assert!(find(&stale, waiting.id()).is_some(), "never polled, spawned more than d ago");
    let b = find(&dump, blocker.id()).unwrap();
    assert_eq!(find(&stale, blocker.id()).is_some(), b.since_last_poll().unwrap() > d, "{dump}");
    stop.store(true, SeqCst);
    rt.block_on(async {
        blocker.await.unwrap();
        waiting.await.unwrap();
    });
}

#[test]
fn display_groups_tasks_spawned_at_one_line() {
    let rt = rt(2);
    let mut joins = Vec::new();
    let line = line!() + 2;
    for _ in 0..100 {
        joins.push(rt.spawn(pending::<()>()));
    }
    for _ in 0..3 {
        joins.push(Builder::new().name("other").spawn_on(pending::<()>(), rt.handle()).unwrap());
    }
    let dump = wait_for("all 103 tasks idle", || {
        Some(rt.dump()).filter(|d| d.with_state(TaskState::Idle).len() == 103)
    });
    let text = dump.to_string();
    println!("{text}");
    assert!(text.starts_with("task dump: 103 tasks in 2 groups, captured "), "{text}");
    let at = format!("rt_dump.rs:{line}:");
    let groups: Vec<&str> = text.lines().filter(|l| l.contains(&at)).collect();
    assert_eq!(groups.len(), 1, "one group for the line: {text}");
    // `pending()` is not weft's: an external wait with no weft site.
    assert!(groups[0].starts_with("100 tasks [external, "), "{}", groups[0]);
    assert!(groups[0].contains("], spawned at "), "{}", groups[0]);
    assert!(text.contains("3 tasks [external, "), "{text}");
    assert!(text.contains("name \"other\""), "{text}");
    assert!(text.contains("... (90 more)"), "ids are truncated: {text}");
    // Oldest group first: the 100 were spawned before the 3.
    assert!(text.find(&at).unwrap() < text.find("\"other\"").unwrap(), "{text}");
}

#[test]
fn dump_returns_promptly_while_a_worker_sleeps_in_a_poll() {
    let rt = rt(1);
    let started = Arc::new(AtomicBool::new(false));
    // The task blocks its worker until released (a hang guard gives up
    // after a minute and says so): the dump must return meanwhile.
    let (release, release_rx) = std::sync::mpsc::channel::<()>();
    let gave_up = Arc::new(AtomicBool::new(false));
    let join = rt.spawn({
        let (started, gave_up) = (started.clone(), gave_up.clone());
        async move {
            started.store(true, SeqCst);
            if release_rx.recv_timeout(Duration::from_secs(60)).is_err() {
                gave_up.store(true, SeqCst);
            }
        }
    });
    let parked = rt.spawn(pending::<()>());
    wait_for("the sleeping task to start", || started.load(SeqCst).then_some(()));
    let t0 = Instant::now();
    let dump = rt.dump();
    let took = t0.elapsed();
    assert!(!gave_up.load(SeqCst), "dump waited for the blocked worker ({took:?})");
    println!("dump took {took:?} while a worker was blocked");
    assert_eq!(find(&dump, join.id()).unwrap().state(), TaskState::Running);
    assert!(find(&dump, parked.id()).is_some());
    release.send(()).unwrap();
    rt.block_on(join).unwrap();
}

#[test]
fn stress_dumps_race_10k_spawns_and_completions() {
    const N: usize = 10_000;
    let rt = rt(2);
    let polls_done = Arc::new(AtomicUsize::new(0));
    let future_drops = Arc::new(AtomicUsize::new(0));
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let dumper = {
        let handle = rt.handle().clone();
        let stop = stop.clone();
        thread::spawn(move || {
            let mut dumps = 0;
            while !stop.load(SeqCst) {
                let dump = handle.dump();
                let ids: HashSet<Id> = dump.tasks().iter().map(|t| t.id()).collect();
                assert_eq!(ids.len(), dump.len(), "a task listed twice");
                let _ = dump.to_string();
                dumps += 1;
            }
            dumps
        })
    };
    let mut joins = Vec::with_capacity(N / 2);
    for i in 0..N {
        let c = Counted(future_drops.clone());
        let done = polls_done.clone();
        let fut = async move {
            let _c = c;
            if i % 3 == 0 {
                weft::task::yield_now().await;
            }
            done.fetch_add(1, SeqCst);
            i
        };
        // Half joined, half detached; some named.
        let join = if i % 7 == 0 {
            Builder::new().name("stress").spawn_on(fut, rt.handle()).unwrap()
        } else {
            rt.spawn(fut)
        };
        if i % 2 == 0 {
            joins.push((i, join));
        }
    }
    rt.block_on(async {
        for (i, j) in joins {
            assert_eq!(j.await.unwrap(), i);
        }
    });
    wait_for("every task to finish", || (future_drops.load(SeqCst) == N).then_some(()));
    stop.store(true, SeqCst);
    let dumps = dumper.join().unwrap();
    assert!(dumps > 0);
    assert_eq!(polls_done.load(SeqCst), N, "every task completed exactly once");
    assert_eq!(future_drops.load(SeqCst), N, "every future dropped exactly once");
    wait_for("the list to empty", || rt.dump().is_empty().then_some(()));
    assert_eq!(rt.metrics().num_alive_tasks(), 0);
    drop(rt);
    assert_eq!(future_drops.load(SeqCst), N, "no future dropped twice at shutdown");
}

#[test]
fn local_set_tasks_are_in_the_dumps_of_the_runtime_that_drove_the_set() {
    let rt = rt(1);
    let local = weft::task::LocalSet::new();
    let worker_task = rt.spawn(pending::<()>());
    // Spawned before the set is driven: not listed anywhere yet.
    let early = local.spawn_local(pending::<()>());
    assert!(find(&rt.dump(), early.id()).is_none(), "an undriven set is in no runtime's dumps");
    let handles = local.block_on(&rt, async {
        let handles: Vec<_> = (0..3).map(|_| weft::task::spawn_local(pending::<()>())).collect();
        weft::task::yield_now().await; // they get their first poll
        let dump = weft::Handle::current().dump();
        for h in &handles {
            let info = find(&dump, h.id()).expect("a local task is in the dump");
            assert!(info.is_local());
            assert_eq!(info.location().file(), file!());
        }
        handles
    });
    // The set is not being driven now; its tasks are still listed.
    let dump = rt.dump();
    let local_ids: HashSet<Id> = dump.tasks().iter().filter(|t| t.is_local()).map(|t| t.id()).collect();
    let expected: HashSet<Id> = handles.iter().map(|h| h.id()).chain([early.id()]).collect();
    assert_eq!(local_ids, expected);
    let worker = find(&dump, worker_task.id()).expect("the worker task is in the dump");
    assert!(!worker.is_local());
    for h in &handles {
        assert_eq!(find(&dump, h.id()).unwrap().state(), TaskState::Idle);
    }
    drop(local);
    assert!(rt.dump().tasks().iter().all(|t| !t.is_local()), "a dropped set leaves the dumps");
    drop(handles);
}

#[test]
fn a_dump_from_another_thread_sees_a_local_task_blocked_in_its_poll() {
    let rt = rt(1);
    let (started_tx, started_rx) = std::sync::mpsc::channel::<Id>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    thread::scope(|s| {
        let rt = &rt;
        s.spawn(move || {
            let local = weft::task::LocalSet::new();
            local.block_on(rt, async move {
                let blocker = weft::task::spawn_local(async move {
                    // Blocks the set's thread inside the local task's poll.
                    release_rx.recv().unwrap();
                });
                started_tx.send(blocker.id()).unwrap();
                blocker.await.unwrap();
            });
        });
        let id = started_rx.recv().unwrap();
        let info = wait_for_state(rt, id, TaskState::Running);
        assert!(info.is_local());
        release_tx.send(()).unwrap();
    });
    // Completed (and joined): gone, and the set with it.
    assert!(rt.dump().tasks().iter().all(|t| !t.is_local()));
}
