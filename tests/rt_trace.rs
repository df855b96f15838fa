//! The flight recorder: `Handle::trace`'s Chrome/Perfetto JSON is valid
//! trace-event JSON, holds the events of a known workload with the right
//! task ids, can be taken while a worker is stuck in a poll or while every
//! worker spawns and drops tasks at full rate, is kept by the monitor at a
//! stall, and is written at shutdown when `WEFT_TRACE` names a file.

use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// Checks the rules of the trace-event format that a file can be checked
/// against, and returns the events: an object with a `traceEvents` array;
/// every event has `ph`, `ts`, `pid` and `tid`; `X` events have a
/// non-negative `dur`; `B`/`E` balance per thread; every flow id has one
/// start (`s`) and one end (`f`), the end not before the start; each
/// thread's timestamps never go back.
fn validate(json: &str) -> Vec<Value> {
    let root: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("not JSON ({e}): {json:.400}"));
    let events = root["traceEvents"].as_array().expect("a traceEvents array").clone();
    let mut last_ts: HashMap<(u64, u64), f64> = HashMap::new();
    let mut depth: HashMap<(u64, u64), i64> = HashMap::new();
    let mut flows: HashMap<u64, (usize, usize, f64, f64)> = HashMap::new();
    for e in &events {
        let ph = e["ph"].as_str().unwrap_or_else(|| panic!("no ph: {e}"));
        let ts = e["ts"].as_f64().unwrap_or_else(|| panic!("no ts: {e}"));
        let pid = e["pid"].as_u64().unwrap_or_else(|| panic!("no pid: {e}"));
        let tid = e["tid"].as_u64().unwrap_or_else(|| panic!("no tid: {e}"));
        assert!(ts >= 0.0, "negative ts: {e}");
        if ph == "M" {
            continue;
        }
        let prev = last_ts.entry((pid, tid)).or_insert(0.0);
        assert!(ts >= *prev, "ts goes back on tid {tid}: {ts} after {prev}: {e}");
        *prev = ts;
        match ph {
            "X" => assert!(e["dur"].as_f64().is_some_and(|d| d >= 0.0), "X without dur >= 0: {e}"),
            "B" => *depth.entry((pid, tid)).or_default() += 1,
            "E" => {
                let d = depth.entry((pid, tid)).or_default();
                *d -= 1;
                assert!(*d >= 0, "E without B: {e}");
            }
            "s" | "f" => {
                let id = e["id"].as_u64().unwrap_or_else(|| panic!("flow without id: {e}"));
                let f = flows.entry(id).or_insert((0, 0, 0.0, 0.0));
                if ph == "s" {
                    f.0 += 1;
                    f.2 = ts;
                } else {
                    f.1 += 1;
                    f.3 = ts;
                }
            }
            "i" => {}
            other => panic!("unexpected phase {other}: {e}"),
        }
    }
    assert!(depth.values().all(|&d| d == 0), "unbalanced B/E: {depth:?}");
    for (id, (s, f, s_ts, f_ts)) in &flows {
        assert_eq!((*s, *f), (1, 1), "flow {id} is not one start and one end");
        let _ = (s_ts, f_ts);
    }
    events
}

fn task_of(e: &Value) -> Option<u64> {
    e["args"]["task"].as_u64()
}

/// Poll slices named after their task carry that task's id.
fn check_poll_names(events: &[Value]) {
    for e in
        events.iter().filter(|e| e["ph"] == "X" && e["name"].as_str().is_some_and(|n| n.starts_with("task ")))
    {
        let id = task_of(e).unwrap_or_else(|| panic!("poll without a task id: {e}"));
        assert_eq!(e["name"], format!("task {id}"), "{e}");
    }
}

/// A gate a task waits at (a hand-written future, so the test needs no
/// feature): `opened` once `open` ran; `registered` once a waiter's waker
/// is stored.
#[derive(Default)]
struct Gate {
    open: AtomicBool,
    waker: Mutex<Option<Waker>>,
    registered: AtomicBool,
}

impl Gate {
    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
        if let Some(w) = self.waker.lock().unwrap().take() {
            w.wake();
        }
    }
}

struct Wait(Arc<Gate>);

impl Future for Wait {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.open.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        *self.0.waker.lock().unwrap() = Some(cx.waker().clone());
        self.0.registered.store(true, Ordering::SeqCst);
        if self.0.open.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[test]
fn a_trace_is_valid_trace_event_json_with_one_named_track_per_worker() {
    let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    rt.block_on(async {
        let tasks: Vec<_> = (0..50).map(|i| weft::spawn(async move { i })).collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let json = rt.handle().trace().to_json();
    let events = validate(&json);
    check_poll_names(&events);
    let names: Vec<&str> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .filter_map(|e| e["args"]["name"].as_str())
        .collect();
    assert!(names.contains(&"worker 0") && names.contains(&"worker 1"), "{names:?}");
    assert!(names.contains(&"monitor") && names.contains(&"outside the runtime"), "{names:?}");
    assert!(events.iter().any(|e| e["ph"] == "X"), "no poll slice");
}

#[test]
fn ten_tasks_that_each_wake_another_show_their_spawns_polls_and_wakes() {
    let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
    let (waiters, wakers) = rt.block_on(async {
        let mut waiters = Vec::new();
        let mut wakers = Vec::new();
        let mut joins = Vec::new();
        for _ in 0..10 {
            let gate = Arc::new(Gate::default());
            let waiter = weft::spawn(Wait(gate.clone()));
            // The waiter's waker is stored before its waker task exists,
            // so each waker task's `open` is a real wake.
            while !gate.registered.load(Ordering::SeqCst) {
                weft::task::yield_now().await;
            }
            let waker = weft::spawn(async move { gate.open() });
            waiters.push(waiter.id().as_u64());
            wakers.push(waker.id().as_u64());
            joins.push(waiter);
            joins.push(waker);
        }
        for j in joins {
            j.await.unwrap();
        }
        (waiters, wakers)
    });
    let events = validate(&rt.handle().trace().to_json());
    check_poll_names(&events);
    let with = |ph: &str, name: &str, id: u64| {
        events.iter().filter(|e| e["ph"] == ph && e["name"] == name && task_of(e) == Some(id)).count()
    };
    for (&waiter, &waker) in waiters.iter().zip(&wakers) {
        assert_eq!(with("i", "spawn", waiter), 1, "spawn of {waiter}");
        assert_eq!(with("i", "spawn", waker), 1, "spawn of {waker}");
        assert!(with("X", &format!("task {waiter}"), waiter) >= 2, "two polls of {waiter}");
        assert!(with("X", &format!("task {waker}"), waker) >= 1, "a poll of {waker}");
        assert_eq!(with("i", "wake", waiter), 1, "the wake of {waiter}");
        // The wake's arrow ends at a poll of the woken task, on that
        // poll's track and stamp.
        let end = events
            .iter()
            .find(|e| e["ph"] == "f" && e["name"] == "wake" && task_of(e) == Some(waiter))
            .unwrap_or_else(|| panic!("no wake arrow to {waiter}"));
        assert!(
            events.iter().any(|e| e["ph"] == "X"
                && task_of(e) == Some(waiter)
                && e["tid"] == end["tid"]
                && e["ts"] == end["ts"]),
            "the arrow to {waiter} ends at none of its polls: {end}"
        );
    }
}

#[test]
fn a_trace_taken_while_a_worker_is_stuck_in_a_poll_returns_and_shows_the_open_poll() {
    let rt = weft::Runtime::builder().worker_threads(2).stall_threshold(None).build().unwrap();
    let (in_tx, in_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let stuck = rt.spawn(async move {
        in_tx.send(weft::task::id().as_u64()).unwrap();
        // Blocks its worker until the test releases it.
        let _ = release_rx.recv();
    });
    let id = in_rx.recv().unwrap();
    let handle = rt.handle().clone();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || done_tx.send(handle.trace().to_json()).unwrap());
    // A hang guard, not a timing verdict.
    let json = done_rx.recv_timeout(Duration::from_secs(60)).expect("the snapshot hung behind a stuck poll");
    release_tx.send(()).unwrap();
    rt.block_on(stuck).unwrap();
    let events = validate(&json);
    assert!(
        events.iter().any(|e| e["ph"] == "X" && task_of(e) == Some(id) && e["args"]["unfinished"] == true),
        "no open poll slice for the stuck task {id}"
    );
}

#[test]
fn snapshots_beside_spawns_and_drops_at_full_rate_hold_only_valid_events() {
    const SPAWNERS: usize = 4;
    const TASKS_EACH: usize = 20_000;
    let rt = weft::Runtime::builder().worker_threads(2).flight_recorder(256).build().unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let spawners: Vec<_> = (0..SPAWNERS)
        .map(|_| {
            let done = done.clone();
            rt.spawn(async move {
                let mut ids = Vec::with_capacity(TASKS_EACH);
                for i in 0..TASKS_EACH {
                    // Spawned and dropped at once (detached), half yielding once.
                    let task = weft::spawn(async move {
                        if i % 2 == 0 {
                            weft::task::yield_now().await;
                        }
                    });
                    ids.push(task.id().as_u64());
                    if i % 64 == 0 {
                        weft::task::yield_now().await;
                    }
                }
                done.fetch_add(1, Ordering::SeqCst);
                ids
            })
        })
        .collect();
    let mut seen = Vec::new();
    let mut snapshots = 0;
    // At least a few snapshots even if the spawners finish first.
    while done.load(Ordering::SeqCst) < SPAWNERS || snapshots < 20 {
        let events = validate(&rt.handle().trace().to_json());
        check_poll_names(&events);
        seen.extend(events.iter().filter_map(task_of));
        snapshots += 1;
    }
    let mut known: std::collections::HashSet<u64> = spawners.iter().map(|s| s.id().as_u64()).collect();
    for s in spawners {
        known.extend(rt.block_on(s).unwrap());
    }
    // A torn event would show as an id no task has (a stamp or a count
    // in the id word).
    for id in seen {
        assert!(known.contains(&id), "task id {id} in a trace is no task of this runtime");
    }
    assert!(snapshots >= 20);
}

#[test]
fn the_monitor_keeps_a_trace_of_each_stall_it_reports() {
    let rt = weft::Runtime::builder()
        .worker_threads(2)
        .stall_threshold(Some(Duration::from_millis(10)))
        .build()
        .unwrap();
    let (in_tx, in_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let stuck = rt.spawn(async move {
        in_tx.send(weft::task::id().as_u64()).unwrap();
        let _ = release_rx.recv();
    });
    let id = in_rx.recv().unwrap();
    // Wait for the monitor's report (a hang guard, not a timing verdict).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let traces = loop {
        let traces = rt.handle().recent_stall_traces();
        if !traces.is_empty() {
            break traces;
        }
        assert!(std::time::Instant::now() < deadline, "no stall trace after a minute");
        std::thread::sleep(Duration::from_millis(2));
    };
    release_tx.send(()).unwrap();
    rt.block_on(stuck).unwrap();
    let events = validate(&traces[0].to_json());
    assert!(
        events.iter().any(|e| e["ph"] == "i" && e["name"] == "stall" && task_of(e) == Some(id)),
        "the stall trace has no stall event for task {id}"
    );
    assert!(
        events.iter().any(|e| e["ph"] == "X" && task_of(e) == Some(id) && e["args"]["unfinished"] == true),
        "the stall trace does not show the stalled poll of task {id}"
    );
}

#[test]
fn a_runtime_without_the_recorder_gives_an_empty_valid_trace() {
    let rt = weft::Runtime::builder().worker_threads(1).flight_recorder(0).build().unwrap();
    rt.block_on(rt.spawn(async {})).unwrap();
    let trace = rt.handle().trace();
    assert!(trace.is_empty());
    let events = validate(&trace.to_json());
    assert!(events.iter().all(|e| e["ph"] == "M"));
}

const ROLE: &str = "WEFT_TEST_TRACE_ROLE";

#[test]
fn weft_trace_writes_a_trace_file_at_shutdown() {
    const NAME: &str = "weft_trace_writes_a_trace_file_at_shutdown";
    if std::env::var(ROLE).is_ok_and(|r| r == "child") {
        let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
        rt.block_on(async {
            let tasks: Vec<_> = (0..8u64).map(|i| weft::spawn(async move { i })).collect();
            for t in tasks {
                t.await.unwrap();
            }
        });
        drop(rt);
        return;
    }
    let path = std::env::temp_dir().join(format!("weft-rt-trace-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
        .env(ROLE, "child")
        .env("WEFT_TRACE", &path)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn the child test process");
    // The child runs a short workload and exits; a hang guard kills it.
    let pid = child.id() as libc::pid_t;
    let (done_tx, done_rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = done_rx.recv_timeout(Duration::from_secs(60)) {
            // SAFETY: kill(2) on the child's pid, which is not reaped before
            // the test has waited on it.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    let status = child.wait().unwrap();
    drop(done_tx);
    assert!(status.success(), "child failed: {status}");
    let json = std::fs::read_to_string(&path).expect("WEFT_TRACE wrote no file");
    let _ = std::fs::remove_file(&path);
    let events = validate(&json);
    check_poll_names(&events);
    assert!(events.iter().filter(|e| e["ph"] == "X").count() >= 8, "fewer poll slices than tasks");
}
