//! Runtime metrics: counts of workers and tasks, queue depths, the
//! per-worker counters (polls, steals, parks, runnext hits, overflows,
//! injector pulls, busy time, netpoll events, timers fired), the
//! poll-duration histogram, and the Prometheus exposition (checked with the
//! strict parser in `common/prometheus.rs`, also served over HTTP).
//!
//! Per-worker counters are published every 61 ticks and whenever a worker
//! parks, so tests that check them first let the runtime go idle, waiting
//! (with a failure deadline) for the published figure.

use std::future::{pending, poll_fn};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use weft::metrics::{PollHistogram, RuntimeMetrics};
#[cfg(feature = "net")]
use weft::net::{TcpListener, TcpStream};
use weft::task::JoinHandle;
use weft::Runtime;

#[path = "common/prometheus.rs"]
mod prometheus;

const DEADLINE: Duration = Duration::from_secs(60);

fn runtime(workers: usize) -> Runtime {
    Runtime::builder().worker_threads(workers).thread_name("metrics-test-worker").build().unwrap()
}

/// A runtime whose worker a `Blocker` may hold for as long as the test
/// needs: with stall detection on, a blocker held past the threshold (a
/// test thread descheduled on a busy machine is enough) is a stall, and
/// a compensating worker takes the queued tasks these tests count.
fn runtime_for_blockers(workers: usize) -> Runtime {
    Runtime::builder()
        .worker_threads(workers)
        .thread_name("metrics-test-worker")
        .stall_threshold(None)
        .build()
        .unwrap()
}

/// Waits (bounded) until the runtime's metrics satisfy `cond`; returns them.
#[track_caller]
fn wait_for(rt: &Runtime, what: &str, cond: impl Fn(&RuntimeMetrics) -> bool) -> RuntimeMetrics {
    let start = Instant::now();
    loop {
        let m = rt.metrics();
        if cond(&m) {
            return m;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting until {what}; metrics:\n{m}");
        thread::sleep(Duration::from_millis(1));
    }
}

fn join_all<T: Send + 'static>(rt: &Runtime, handles: Vec<JoinHandle<T>>) -> Vec<T> {
    rt.block_on(async move {
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    })
}

/// Occupies a runtime's worker inside a task's poll until released.
struct Blocker {
    release: mpsc::Sender<()>,
    task: JoinHandle<()>,
}

impl Blocker {
    fn start(rt: &Runtime, inside: impl FnOnce() + Send + 'static) -> Blocker {
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let task = rt.spawn(async move {
            inside();
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        });
        started_rx.recv().unwrap();
        Blocker { release: release_tx, task }
    }

    fn release(self, rt: &Runtime) {
        self.release.send(()).unwrap();
        rt.block_on(self.task).unwrap();
    }
}

#[test]
fn num_workers_matches_the_builder() {
    for n in [1, 2, 3, 8] {
        let rt = runtime(n);
        let m = rt.metrics();
        assert_eq!(m.num_workers(), n);
        assert_eq!(m.workers().len(), 2 * n, "n workers and n spare slots");
        assert_eq!(m.spare_slots(), n);
        assert_eq!(rt.handle().metrics().num_workers(), n);
        let _ = m.worker(n - 1);
    }
}

#[test]
fn worker_index_out_of_range_panics() {
    let rt = runtime(2);
    let m = rt.metrics();
    // 2 workers + 2 spare slots.
    assert!(std::panic::catch_unwind(|| m.worker(4).polls()).is_err());
}

#[test]
fn spawned_tasks_count_counts_every_spawn() {
    let rt = runtime(2);
    assert_eq!(rt.metrics().spawned_tasks_count(), 0, "block_on and startup spawn nothing");
    let hs: Vec<_> = (0..250).map(|i| rt.spawn(async move { i })).collect();
    assert_eq!(rt.metrics().spawned_tasks_count(), 250, "counted at spawn, before any task runs");
    join_all(&rt, hs);
    // Spawns from inside tasks count too, and finished tasks stay counted.
    rt.block_on(rt.spawn(async {
        let hs: Vec<_> = (0..50).map(|_| weft::spawn(async {})).collect();
        for h in hs {
            h.await.unwrap();
        }
    }))
    .unwrap();
    assert_eq!(rt.metrics().spawned_tasks_count(), 250 + 1 + 50);
}

#[test]
fn num_alive_tasks_counts_pending_tasks_and_returns_to_zero() {
    let rt = runtime(2);
    assert_eq!(rt.metrics().num_alive_tasks(), 0);
    let pending_tasks: Vec<_> = (0..100).map(|_| rt.spawn(pending::<()>())).collect();
    assert_eq!(rt.metrics().num_alive_tasks(), 100, "a spawned task is alive at once");
    let quick: Vec<_> = (0..100).map(|i| rt.spawn(async move { i })).collect();
    assert!(rt.metrics().num_alive_tasks() >= 100);
    join_all(&rt, quick);
    // A task is counted complete before its JoinHandle can see COMPLETE,
    // so the count is exact as soon as the joins return.
    assert_eq!(rt.metrics().num_alive_tasks(), 100, "only the pending tasks are alive");
    for t in &pending_tasks {
        t.abort();
    }
    for t in pending_tasks {
        assert!(rt.block_on(t).unwrap_err().is_cancelled());
    }
    assert_eq!(rt.metrics().num_alive_tasks(), 0, "no task is alive");
}

/// Completions are counted per worker (and apart for other threads); the
/// live count is spawns minus completions. Tasks that complete every way
/// (joined, detached, aborted, panicking, spawned from outside, from
/// tasks, from several threads at once, inside `block_in_place`) bring
/// it back to exactly zero, and every spawn is counted once.
#[test]
fn num_alive_tasks_is_exact_over_every_way_of_completing() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 500;
    let rt = Arc::new(runtime(2));
    let children = Arc::new(AtomicUsize::new(0));
    let spawners: Vec<_> = (0..THREADS)
        .map(|t| {
            let (rt, children) = (rt.clone(), children.clone());
            thread::spawn(move || {
                let mut joins = Vec::new();
                for i in 0..PER_THREAD {
                    let children = children.clone();
                    let body = async move {
                        match i % 5 {
                            // Spawns a child from inside a task and joins it.
                            0 => {
                                children.fetch_add(1, SeqCst);
                                weft::spawn(async {}).await.unwrap()
                            }
                            1 => weft::task::block_in_place(|| {}),
                            2 => weft::task::yield_now().await,
                            3 if t == 0 => panic!("deliberate panic in task {i}"),
                            _ => {}
                        }
                    };
                    let handle = rt.spawn(body);
                    match i % 3 {
                        0 => joins.push(handle),
                        1 => drop(handle),
                        _ => {
                            handle.abort();
                            joins.push(handle);
                        }
                    }
                }
                for h in joins {
                    match rt.block_on(h) {
                        Ok(()) => {}
                        Err(e) => assert!(e.is_cancelled() || e.is_panic(), "{e:?}"),
                    }
                }
            })
        })
        .collect();
    for s in spawners {
        s.join().unwrap();
    }
    let m = wait_for(&rt, "every detached task completed", |m| m.num_alive_tasks() == 0);
    // Spawns: the top-level ones plus one child per task that got as far
    // as spawning it (an aborted task may never run).
    let expected = (THREADS * PER_THREAD + children.load(SeqCst)) as u64;
    assert_eq!(m.spawned_tasks_count(), expected);
    assert_eq!(rt.metrics().num_alive_tasks(), 0, "the count stays at zero");
}

#[test]
fn detached_tasks_are_alive_until_they_complete() {
    let rt = runtime_for_blockers(1);
    let blocker = Blocker::start(&rt, || {});
    for _ in 0..20 {
        drop(rt.spawn(async {}));
    }
    assert_eq!(rt.metrics().num_alive_tasks(), 21, "20 queued detached tasks + the blocker");
    blocker.release(&rt);
    wait_for(&rt, "every detached task completed", |m| m.num_alive_tasks() == 0);
}

#[test]
fn global_queue_depth_counts_remote_spawns_while_the_worker_is_busy() {
    let rt = runtime_for_blockers(1);
    assert_eq!(rt.metrics().global_queue_depth(), 0);
    let blocker = Blocker::start(&rt, || {});
    let hs: Vec<_> = (0..40).map(|i| rt.spawn(async move { i })).collect();
    assert_eq!(rt.metrics().global_queue_depth(), 40, "remote spawns wait in the global queue");
    blocker.release(&rt);
    assert_eq!(join_all(&rt, hs).len(), 40);
    assert_eq!(rt.metrics().global_queue_depth(), 0);
}

#[test]
fn local_queue_depth_counts_tasks_spawned_by_a_running_task() {
    let rt = runtime_for_blockers(1);
    let (hs_tx, hs_rx) = mpsc::channel();
    // Inside the blocker's poll, spawn 30 tasks: one goes to the runnext
    // slot, the other 29 to the worker's local queue.
    let blocker = Blocker::start(&rt, move || {
        let hs: Vec<_> = (0..30).map(|i| weft::spawn(async move { i })).collect();
        hs_tx.send(hs).unwrap();
    });
    let m = rt.metrics();
    assert_eq!(m.worker(0).local_queue_depth(), 29, "runnext holds one, the queue the rest:\n{m}");
    assert_eq!(m.global_queue_depth(), 0);
    blocker.release(&rt);
    assert_eq!(join_all(&rt, hs_rx.recv().unwrap()).len(), 30);
    assert_eq!(rt.metrics().worker(0).local_queue_depth(), 0);
}

#[test]
fn polls_sum_to_at_least_the_tasks_polled() {
    let rt = runtime(2);
    let n = 1_000u64;
    let hs: Vec<_> = (0..n).map(|i| rt.spawn(async move { i })).collect();
    join_all(&rt, hs);
    let m = wait_for(&rt, "every poll is published", |m| m.total_polls() >= n);
    let per_worker: u64 = m.workers().iter().map(|w| w.polls()).sum();
    assert_eq!(per_worker, m.total_polls());
    // Each task completes in its one poll and is never woken: exact.
    assert_eq!(m.total_polls(), n, "{n} single-poll tasks");
}

#[test]
fn polls_count_every_poll_of_a_yielding_task() {
    let rt = runtime(1);
    rt.block_on(rt.spawn(async {
        for _ in 0..99 {
            weft::task::yield_now().await;
        }
    }))
    .unwrap();
    let m = wait_for(&rt, "100 polls are published", |m| m.total_polls() >= 100);
    assert_eq!(m.total_polls(), 100, "one poll per yield plus the last: exact once idle");
}

/// Spins the calling thread for `d` (a workload).
fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

#[test]
fn steals_happen_when_one_worker_spawns_a_burst() {
    const BURST: usize = 200;
    let rt = runtime(2);
    let mut expected_polls = 0u64;
    let mut attempts = 0;
    let started = Instant::now();
    loop {
        attempts += 1;
        // One parent task spawns the burst from a worker (into that worker's
        // runnext slot and local queue) and returns; the burst's tasks are
        // detached and each polled once, so the exact poll count is known.
        let ran: Arc<Vec<AtomicU8>> = Arc::new((0..BURST).map(|_| AtomicU8::new(0)).collect());
        let left = Arc::new(AtomicUsize::new(BURST));
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let (r, l) = (ran.clone(), left.clone());
        drop(rt.spawn(async move {
            for i in 0..BURST {
                let (r, l, done_tx) = (r.clone(), l.clone(), done_tx.clone());
                weft::spawn(async move {
                    spin(Duration::from_micros(50));
                    r[i].fetch_add(1, SeqCst);
                    if l.fetch_sub(1, SeqCst) == 1 {
                        done_tx.send(()).unwrap();
                    }
                });
            }
        }));
        done_rx.recv_timeout(DEADLINE).expect("the burst did not finish");
        expected_polls += BURST as u64 + 1;
        // Once the published polls reach the true total, every worker has
        // published everything it did (steals are published with polls).
        let m = wait_for(&rt, "the burst's polls are published", |m| m.total_polls() >= expected_polls);
        assert_eq!(m.total_polls(), expected_polls, "one poll per task");
        assert!(ran.iter().all(|f| f.load(SeqCst) == 1), "a task of the burst ran twice or never");
        if m.total_steals() > 0 {
            let ops: u64 = m.workers().iter().map(|w| w.steal_operations()).sum();
            assert!(
                ops > 0 && ops <= m.total_steals(),
                "steal operations {ops}, steals {}",
                m.total_steals()
            );
            let stealer = m.workers().iter().position(|w| w.steals() > 0).unwrap();
            assert!(m.worker(stealer).polls() > 0, "the stealing worker ran what it stole:\n{m}");
            break;
        }
        // On a loaded machine the second worker may not wake before the
        // burst is done; retry until one steals, for up to a minute.
        assert!(
            started.elapsed() < DEADLINE,
            "no steals after {attempts} bursts of {BURST} spinning tasks:\n{m}"
        );
    }
}

#[test]
fn parks_are_counted_when_workers_idle() {
    let rt = runtime(2);
    rt.block_on(rt.spawn(async {})).unwrap();
    // The spare slots retire at start instead of parking.
    let workers = |m: &weft::metrics::RuntimeMetrics| m.workers()[..m.worker_threads()].to_vec();
    let m = wait_for(&rt, "every worker parked", |m| workers(m).iter().all(|w| w.parks() > 0));
    assert!(workers(&m).iter().all(|w| w.parks() > 0));
}

#[test]
fn runnext_hits_for_a_ping_pong() {
    #[derive(Default)]
    struct Court {
        hits: AtomicUsize,
        wakers: Mutex<[Option<Waker>; 2]>,
    }
    async fn player(court: Arc<Court>, me: usize, rounds: usize) {
        for r in 0..rounds {
            let target = 2 * r + me;
            poll_fn(|cx| {
                let mut w = court.wakers.lock().unwrap();
                w[me] = Some(cx.waker().clone());
                if court.hits.load(SeqCst) == target {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
            court.hits.fetch_add(1, SeqCst);
            let other = court.wakers.lock().unwrap()[1 - me].take();
            if let Some(w) = other {
                w.wake();
            }
        }
    }
    let rt = runtime(1);
    let court = Arc::new(Court::default());
    let hs = vec![rt.spawn(player(court.clone(), 0, 500)), rt.spawn(player(court.clone(), 1, 500))];
    join_all(&rt, hs);
    assert_eq!(court.hits.load(SeqCst), 1_000);
    let m = wait_for(&rt, "the ping-pong's runnext hits are published", |m| m.worker(0).runnext_hits() > 0);
    // A wake from the running task puts the other player in runnext: most
    // of the 1,000 hand-overs go through it.
    assert!(m.worker(0).runnext_hits() >= 500, "only {} runnext hits:\n{m}", m.worker(0).runnext_hits());
}

#[test]
fn injector_pulls_count_remote_spawns() {
    let rt = runtime(1);
    let hs: Vec<_> = (0..100).map(|i| rt.spawn(async move { i })).collect();
    join_all(&rt, hs);
    let m = wait_for(&rt, "injector pulls are published", |m| m.worker(0).injector_pulls() > 0);
    assert!(m.worker(0).injector_pulls() <= 100);
}

#[test]
fn overflows_are_counted_when_a_task_spawns_more_than_the_local_queue_holds() {
    let rt = runtime(1);
    let n = 1_000;
    let done = rt
        .block_on(rt.spawn(async move {
            let hs: Vec<_> = (0..n).map(|i| weft::spawn(async move { i })).collect();
            let mut c = 0;
            for h in hs {
                h.await.unwrap();
                c += 1;
            }
            c
        }))
        .unwrap();
    assert_eq!(done, n);
    let m = wait_for(&rt, "overflows are published", |m| m.worker(0).overflows() > 0);
    assert!(m.worker(0).overflows() >= 3, "{n} local spawns overflow a 256-slot queue several times:\n{m}");
}

#[test]
fn metrics_display_lists_every_worker() {
    let rt = runtime(3);
    let text = rt.metrics().to_string();
    assert!(text.contains("workers=3"), "{text}");
    for i in 0..3 {
        assert!(text.contains(&format!("worker {i}:")), "{text}");
    }
}

#[test]
fn metrics_display_labels_the_spare_slots() {
    let rt = runtime(2);
    let m = rt.metrics();
    assert_eq!(m.spare_slots(), 2);
    let text = m.to_string();
    for i in 2..4 {
        assert!(text.contains(&format!("  spare {i}:")), "{text}");
        assert!(!text.contains(&format!("worker {i}:")), "slot {i} is a spare, not a worker:\n{text}");
    }
}

#[test]
fn a_two_worker_runtimes_spare_series_are_marked_spare() {
    let rt = runtime(2);
    rt.block_on(rt.spawn(async {})).unwrap();
    let text = rt.metrics().to_prometheus();
    let exp = prometheus::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(exp.value("weft_worker_threads", &[]), Some(2.0));
    assert_eq!(exp.value("weft_spare_slots", &[]), Some(2.0));
    for family in &exp.families {
        for s in family.samples.iter().filter(|s| s.label("worker").is_some()) {
            let index: usize = s.label("worker").unwrap().parse().unwrap();
            let spare = if index < 2 { None } else { Some("true") };
            assert_eq!(s.label("spare"), spare, "{} {:?}", s.name, s.labels);
        }
    }
    let polls = exp.family("weft_worker_polls_total").unwrap();
    let workers = polls.samples.iter().filter(|s| s.label("spare").is_none()).count();
    assert_eq!(workers, 2, "two unmarked series, the worker threads'");
}

/// Workers time one poll in this many (the histogram is a sample).
const TIMED_ONE_IN: u64 = 32;

/// Waits until the runtime is idle and every worker has published: the
/// polls reach `polls` and each worker's histogram counts its timed polls
/// (its 32nd, 64th, ... poll).
#[track_caller]
fn wait_published(rt: &Runtime, polls: u64) -> RuntimeMetrics {
    wait_for(rt, "every poll is published", |m| {
        m.total_polls() >= polls
            && m.workers().iter().all(|w| w.poll_histogram().total_count() == w.polls() / TIMED_ONE_IN)
    })
}

#[test]
fn busy_time_and_the_histogram_record_a_20ms_poll() {
    let bound = Duration::from_micros(32_768);
    assert_eq!(PollHistogram::bucket_bound(15), Some(bound));
    let started = Instant::now();
    for attempt in 1.. {
        let rt = runtime(1);
        // The worker times its 32nd poll: 31 empty tasks first, one at a
        // time, then the 20 ms spin.
        for _ in 1..TIMED_ONE_IN {
            rt.block_on(rt.spawn(async {})).unwrap();
        }
        rt.block_on(rt.spawn(async { spin(Duration::from_millis(20)) })).unwrap();
        let m = wait_published(&rt, TIMED_ONE_IN);
        assert_eq!(m.total_polls(), TIMED_ONE_IN, "one poll per task:\n{m}");
        let w = m.worker(0);
        let busy = w.busy_duration();
        assert!(busy >= Duration::from_millis(20), "busy {busy:?} for a 20 ms spin");
        let h = w.poll_histogram();
        assert_eq!(h.total_count(), 1, "the 32nd poll is the timed one");
        let polled = h.sum();
        assert!(polled >= Duration::from_millis(20) && polled <= busy, "{polled:?} of {busy:?}");
        // (The spare slot was busy for the moment it took to retire.)
        assert!(m.total_busy_duration() >= busy);
        assert_eq!(&m.poll_histogram(), h, "one worker: the merged histogram is its own");
        let k = h.counts().iter().position(|&c| c == 1).unwrap();
        assert_eq!(k, PollHistogram::bucket_of(polled));
        if k == 15 {
            assert!(polled <= bound);
            break;
        }
        // The poll can only run long (the worker descheduled for 12 ms on a
        // loaded machine), never short: retry until one does not, for up
        // to a minute (a hang guard).
        assert!(k > 15, "a 20 ms poll landed in bucket {k}");
        assert!(
            started.elapsed() < DEADLINE,
            "the 20 ms poll overran 32.768 ms in all {attempt} attempts (last {polled:?})"
        );
    }
}

#[test]
fn the_histogram_counts_one_published_poll_in_thirty_two() {
    let rt = runtime(2);
    let hs: Vec<_> = (0..300)
        .map(|_| {
            rt.spawn(async {
                weft::task::yield_now().await;
                weft::task::yield_now().await;
            })
        })
        .collect();
    join_all(&rt, hs);
    let m = wait_published(&rt, 900);
    assert_eq!(m.total_polls(), 900, "three polls per task:\n{m}");
    let timed: u64 = m.workers().iter().map(|w| w.polls() / TIMED_ONE_IN).sum();
    assert_eq!(m.poll_histogram().total_count(), timed);
    for w in m.workers() {
        assert_eq!(w.poll_histogram().total_count(), w.polls() / TIMED_ONE_IN);
        assert!(w.poll_histogram().sum() <= w.busy_duration());
    }
    assert!(m.total_busy_duration() > Duration::ZERO);
}

#[test]
#[cfg(feature = "net")]
fn netpoll_events_grow_after_a_tcp_exchange() {
    let rt = runtime(2);
    let before = rt.metrics().total_netpoll_events();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = weft::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0; 4];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&buf).await.unwrap();
        });
        let client = weft::spawn(async move {
            let mut c = TcpStream::connect(addr).await.unwrap();
            c.write_all(b"ping").await.unwrap();
            let mut buf = [0; 4];
            c.read_exact(&mut buf).await.unwrap();
            buf
        });
        server.await.unwrap();
        assert_eq!(&client.await.unwrap(), b"ping");
    });
    // A worker's events are published when it next parks.
    let m = wait_for(&rt, "netpoll events are published", |m| m.total_netpoll_events() > before);
    assert!(m.total_netpoll_events() >= 1, "{m}");
}

#[test]
#[cfg(feature = "time")]
fn timers_fired_grow_after_sleeps() {
    let rt = runtime(2);
    assert_eq!(rt.metrics().total_timers_fired(), 0);
    let hs: Vec<_> = (0..5u64)
        .map(|i| rt.spawn(async move { weft::time::sleep(Duration::from_millis(20 + 3 * i)).await }))
        .collect();
    join_all(&rt, hs);
    let m = wait_for(&rt, "the fired timers are published", |m| m.total_timers_fired() >= 5);
    assert_eq!(m.total_timers_fired(), 5, "one fire per sleep:\n{m}");
}

#[test]
fn metrics_display_shows_the_new_counters() {
    let rt = runtime(2);
    rt.block_on(rt.spawn(async {})).unwrap();
    let text = wait_published(&rt, 1).to_string();
    for key in ["busy=", "netpoll_events=", "timers_fired=", "stalls="] {
        assert!(text.contains(key), "{key} missing:\n{text}");
    }
}

#[test]
fn the_prometheus_text_of_a_live_runtime_is_valid_and_consistent() {
    let rt = runtime(2);
    let hs: Vec<_> = (0..100).map(|_| rt.spawn(async { spin(Duration::from_micros(30)) })).collect();
    join_all(&rt, hs);
    let m = wait_published(&rt, 100);
    let text = m.to_prometheus();
    let exp = prometheus::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(exp.families.iter().all(|f| f.name.starts_with("weft_") && !f.help.is_empty()));
    assert_eq!(exp.value("weft_workers", &[]), Some(2.0));
    assert_eq!(exp.value("weft_spawned_tasks_total", &[]), Some(100.0));
    let hist = exp.family("weft_poll_duration_seconds").expect("the histogram family");
    assert_eq!(hist.kind, "histogram");
    let first = hist.samples.iter().find(|s| s.name.ends_with("_bucket")).unwrap();
    assert_eq!(first.label("le"), Some("1e-06"));
    for (i, w) in m.workers().iter().enumerate() {
        let worker = [("worker", i.to_string())];
        let worker: Vec<(&str, &str)> = worker.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let polls = exp.value("weft_worker_polls_total", &worker).unwrap();
        assert_eq!(polls, w.polls() as f64);
        let timed = (w.polls() / TIMED_ONE_IN) as f64;
        assert_eq!(exp.value("weft_poll_duration_seconds_count", &worker), Some(timed));
        let busy = exp.value("weft_worker_busy_seconds_total", &worker).unwrap();
        assert!(exp.value("weft_poll_duration_seconds_sum", &worker).unwrap() <= busy);
        assert!((busy - w.busy_duration().as_secs_f64()).abs() < 1e-9);
        assert_eq!(exp.value("weft_worker_stalls_total", &worker), Some(0.0));
    }
}

/// The Prometheus text served by a weft `TcpListener` (feature `net`).
#[cfg(feature = "net")]
mod over_http {
    use super::*;

    /// Answers one HTTP/1.1 request: `GET /metrics` with the runtime's
    /// Prometheus text, anything else with 404; then closes.
    async fn serve_metrics_once(mut stream: TcpStream) -> std::io::Result<()> {
        let mut head = Vec::new();
        let mut chunk = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            head.extend_from_slice(&chunk[..n]);
        }
        let head = String::from_utf8_lossy(&head);
        let response = if head.starts_with("GET /metrics ") {
            let body = weft::Handle::current().metrics().to_prometheus();
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        } else {
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
        };
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown(std::net::Shutdown::Write)
    }

    /// Sends `GET path` to `addr`; returns (head, body).
    async fn http_get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
        let mut c = TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        c.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = c.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            response.extend_from_slice(&chunk[..n]);
        }
        let response = String::from_utf8(response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
        (head.to_string(), body.to_string())
    }

    #[test]
    fn metrics_are_served_over_http_on_a_weft_listener() {
        let rt = runtime(2);
        let (head, body, missing) = rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = weft::spawn(async move {
                for _ in 0..2 {
                    let (s, _) = listener.accept().await.unwrap();
                    serve_metrics_once(s).await.unwrap();
                }
            });
            let (head, body) = http_get(addr, "/metrics").await;
            let (missing, _) = http_get(addr, "/other").await;
            server.await.unwrap();
            (head, body, missing)
        });
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.contains("\r\nContent-Type: text/plain; version=0.0.4\r\n"), "{head}");
        assert!(head.contains(&format!("\r\nContent-Length: {}\r\n", body.len())), "{head}");
        let exp = prometheus::parse(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));
        assert_eq!(exp.value("weft_worker_threads", &[]), Some(2.0));
        let polls = exp.family("weft_worker_polls_total").unwrap();
        assert_eq!(polls.samples.len(), 4, "one series per worker slot (2 workers, 2 spares)");
        assert_eq!(polls.samples.iter().filter(|s| s.label("spare") == Some("true")).count(), 2);
        assert!(missing.starts_with("HTTP/1.1 404 "), "{missing}");
    }
}
