//! Wakes: storms of wakes from many OS threads, ping-pong pairs, a wake
//! while the task runs, a wake after completion, and `yield_now`.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use weft::task::{yield_now, JoinHandle};
use weft::Runtime;

const DEADLINE: Duration = Duration::from_secs(60);

fn runtime(workers: usize) -> Runtime {
    Runtime::builder().worker_threads(workers).thread_name("wake-test-worker").build().unwrap()
}

/// One worker and no stall monitor, for the tests of the order in which
/// one worker runs its queue: the monitor would let a spare worker in to
/// run queued tasks beside a poll it takes for a stall (one whose thread
/// a loaded machine left off the CPU, where its accounting cannot be
/// read), and the order would no longer be one worker's.
fn one_worker_in_order() -> Runtime {
    Runtime::builder()
        .worker_threads(1)
        .stall_threshold(None)
        .thread_name("wake-test-worker")
        .build()
        .unwrap()
}

fn join_all<T: Send + 'static>(rt: &Runtime, handles: Vec<JoinHandle<T>>) -> Vec<T> {
    rt.block_on(async move {
        let mut out = Vec::with_capacity(handles.len());
        for h in handles {
            out.push(h.await.expect("task failed"));
        }
        out
    })
}

/// Waits (bounded) until the published poll count of a runtime reaches
/// `at_least`, and returns it. Workers publish their counters when they park,
/// so once the runtime is idle the figure is exact.
#[track_caller]
fn settled_polls(rt: &Runtime, at_least: u64) -> u64 {
    let start = Instant::now();
    loop {
        let polls = rt.metrics().total_polls();
        if polls >= at_least {
            return polls;
        }
        assert!(start.elapsed() < DEADLINE, "polls stuck at {polls}, expected at least {at_least}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// Wakes through a new clone, by value (the path that gives up a reference).
fn wake_by_val(waker: &Waker) {
    let clone = waker.clone();
    clone.wake();
}

// ----- a future that completes after N wakes ---------------------------------------------

/// One task's wake target: wakers count here, the task returns Ready once
/// it has seen `goal` wakes.
#[derive(Default)]
struct Target {
    wakes: AtomicUsize,
    polls: AtomicUsize,
    polls_after_ready: AtomicUsize,
    ready: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Target {
    /// Counts one wake and wakes the task (by reference or by value).
    fn wake(&self, by_val: bool) {
        self.wakes.fetch_add(1, SeqCst);
        let waker = self.waker.lock().unwrap().clone();
        if let Some(w) = waker {
            if by_val {
                w.wake();
            } else {
                w.wake_by_ref();
            }
        }
    }

    /// Pending until `goal` wakes have been counted. The waker is stored
    /// before the count is read, so the last wake cannot be missed.
    fn until(self: Arc<Self>, goal: usize) -> impl Future<Output = usize> {
        poll_fn(move |cx| {
            if self.ready.load(SeqCst) {
                self.polls_after_ready.fetch_add(1, SeqCst);
            }
            self.polls.fetch_add(1, SeqCst);
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            let wakes = self.wakes.load(SeqCst);
            if wakes >= goal {
                self.ready.store(true, SeqCst);
                Poll::Ready(wakes)
            } else {
                Poll::Pending
            }
        })
    }
}

fn wake_storm(rt: Runtime, tasks: usize, threads: usize, rounds: usize) {
    let goal = threads * rounds;
    let targets: Arc<Vec<Arc<Target>>> = Arc::new((0..tasks).map(|_| Arc::default()).collect());
    let handles: Vec<_> = targets.iter().map(|t| rt.spawn(t.clone().until(goal))).collect();
    let start = Arc::new(Barrier::new(threads));
    let wakers: Vec<_> = (0..threads)
        .map(|w| {
            let targets = targets.clone();
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                for r in 0..rounds {
                    for t in targets.iter() {
                        t.wake((r + w) % 2 == 0);
                    }
                }
            })
        })
        .collect();
    for w in wakers {
        w.join().unwrap();
    }
    let seen = join_all(&rt, handles);
    drop(rt);
    for (i, t) in targets.iter().enumerate() {
        assert_eq!(seen[i], goal, "task {i} completed before its last wake");
        assert_eq!(t.wakes.load(SeqCst), goal);
        let polls = t.polls.load(SeqCst);
        assert!((1..=goal + 1).contains(&polls), "task {i} polled {polls} times for {goal} wakes");
        assert_eq!(t.polls_after_ready.load(SeqCst), 0, "task {i} was polled after it completed");
    }
}

#[test]
fn wake_storm_from_many_threads_completes_every_task_once() {
    wake_storm(runtime(2), 64, 4, 2_000);
}

#[test]
fn wake_storm_on_one_worker() {
    wake_storm(runtime(1), 32, 4, 1_000);
}

#[test]
fn wake_storm_on_eight_workers() {
    wake_storm(runtime(8), 64, 4, 1_000);
}

#[test]
fn wake_storm_from_tasks_and_threads_at_once() {
    // Half of the wakers are OS threads, half are tasks of the same runtime
    // (their wakes go through the worker's runnext slot and local queue).
    let rt = runtime(2);
    let (tasks, rounds) = (32, 500);
    let goal = 4 * rounds;
    let targets: Arc<Vec<Arc<Target>>> = Arc::new((0..tasks).map(|_| Arc::default()).collect());
    let handles: Vec<_> = targets.iter().map(|t| rt.spawn(t.clone().until(goal))).collect();
    let waking_tasks: Vec<_> = (0..2)
        .map(|w| {
            let targets = targets.clone();
            rt.spawn(async move {
                for r in 0..rounds {
                    for t in targets.iter() {
                        t.wake((r + w) % 2 == 0);
                    }
                    if r % 16 == 0 {
                        yield_now().await;
                    }
                }
            })
        })
        .collect();
    let threads: Vec<_> = (0..2)
        .map(|w| {
            let targets = targets.clone();
            thread::spawn(move || {
                for r in 0..rounds {
                    for t in targets.iter() {
                        t.wake((r + w) % 2 == 1);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    join_all(&rt, waking_tasks);
    assert!(join_all(&rt, handles).iter().all(|&w| w == goal));
    for t in targets.iter() {
        assert_eq!(t.polls_after_ready.load(SeqCst), 0);
    }
}

// ----- ping-pong ----------------------------------------------------------------------

/// Two players take turns: player `p` may hit when `hits % 2 == p`.
#[derive(Default)]
struct Court {
    hits: AtomicUsize,
    wakers: Mutex<[Option<Waker>; 2]>,
}

impl Court {
    fn wait_for(&self, me: usize, hits: usize) -> impl Future<Output = ()> + '_ {
        poll_fn(move |cx| {
            let mut wakers = self.wakers.lock().unwrap();
            wakers[me] = Some(cx.waker().clone());
            let now = self.hits.load(SeqCst);
            assert!(now <= hits, "player {me} missed its turn: hits {now} > {hits}");
            if now == hits {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }

    fn hit(&self, me: usize) {
        self.hits.fetch_add(1, SeqCst);
        let other = self.wakers.lock().unwrap()[1 - me].take();
        if let Some(w) = other {
            w.wake();
        }
    }
}

async fn player(court: Arc<Court>, me: usize, round_trips: usize) -> usize {
    for r in 0..round_trips {
        court.wait_for(me, 2 * r + me).await;
        court.hit(me);
    }
    round_trips
}

fn ping_pong(rt: &Runtime, pairs: usize, round_trips: usize) {
    let courts: Vec<Arc<Court>> = (0..pairs).map(|_| Arc::default()).collect();
    let mut handles = Vec::new();
    for court in &courts {
        handles.push(rt.spawn(player(court.clone(), 0, round_trips)));
        handles.push(rt.spawn(player(court.clone(), 1, round_trips)));
    }
    let done = join_all(rt, handles);
    assert!(done.iter().all(|&n| n == round_trips));
    for (i, court) in courts.iter().enumerate() {
        assert_eq!(court.hits.load(SeqCst), 2 * round_trips, "pair {i}");
    }
}

#[test]
fn ping_pong_hundred_pairs_thousand_round_trips() {
    ping_pong(&runtime(2), 100, 1_000);
}

#[test]
fn ping_pong_on_one_worker() {
    ping_pong(&runtime(1), 100, 1_000);
}

#[test]
fn ping_pong_between_a_task_and_an_os_thread() {
    let rt = runtime(2);
    let court = Arc::new(Court::default());
    let task = rt.spawn(player(court.clone(), 0, 1_000));
    let c = court.clone();
    let other = thread::spawn(move || {
        // Player 1 on a plain thread: spin-free through the parker of a
        // separate block_on.
        let rt2 = runtime(1);
        rt2.block_on(player(c, 1, 1_000))
    });
    assert_eq!(rt.block_on(task).unwrap(), 1_000);
    assert_eq!(other.join().unwrap(), 1_000);
    assert_eq!(court.hits.load(SeqCst), 2_000);
}

#[test]
fn ping_pong_across_two_runtimes() {
    // Each player's wake of the other crosses runtimes: it must go to the
    // other runtime's queues, not to the waking worker's own.
    let (a, b) = (runtime(1), runtime(2));
    let courts: Vec<Arc<Court>> = (0..10).map(|_| Arc::default()).collect();
    let mut on_a = Vec::new();
    let mut on_b = Vec::new();
    for court in &courts {
        on_a.push(a.spawn(player(court.clone(), 0, 500)));
        on_b.push(b.spawn(player(court.clone(), 1, 500)));
    }
    assert!(join_all(&a, on_a).iter().all(|&n| n == 500));
    assert!(join_all(&b, on_b).iter().all(|&n| n == 500));
    assert!(courts.iter().all(|c| c.hits.load(SeqCst) == 1_000));
}

// ----- one wake, precisely ------------------------------------------------------------------

#[test]
fn wake_while_running_reschedules_exactly_once() {
    let rt = runtime(1);
    let polls = Arc::new(AtomicUsize::new(0));
    let p = polls.clone();
    let task = rt.spawn(poll_fn(move |cx| {
        if p.fetch_add(1, SeqCst) > 0 {
            return Poll::Ready(());
        }
        // Wakes while this poll is running: our own, by reference and by
        // value, and from another OS thread (joined before we return).
        cx.waker().wake_by_ref();
        wake_by_val(cx.waker());
        let waker = cx.waker().clone();
        thread::spawn(move || {
            waker.wake_by_ref();
            wake_by_val(&waker);
            waker.wake();
        })
        .join()
        .unwrap();
        cx.waker().wake_by_ref();
        Poll::Pending
    }));
    rt.block_on(task).unwrap();
    assert_eq!(polls.load(SeqCst), 2, "six wakes during one poll must cause exactly one more poll");
    // The worker counts every task it takes from a queue (including a
    // stray second entry that would find the task complete), and publishes
    // the count when it parks: once idle, it must be exactly 2.
    assert_eq!(settled_polls(&rt, 2), 2, "the task was queued more than once");
}

#[test]
fn wake_after_completion_does_nothing() {
    let rt = runtime(1);
    let polls = Arc::new(AtomicUsize::new(0));
    let stored: Arc<Mutex<Option<Waker>>> = Arc::default();
    let (p, s) = (polls.clone(), stored.clone());
    let task = rt.spawn(poll_fn(move |cx| {
        p.fetch_add(1, SeqCst);
        *s.lock().unwrap() = Some(cx.waker().clone());
        Poll::Ready(17)
    }));
    assert_eq!(rt.block_on(task).unwrap(), 17);
    let waker = stored.lock().unwrap().take().unwrap();
    for _ in 0..10 {
        waker.wake_by_ref();
        wake_by_val(&waker);
    }
    let w = waker.clone();
    thread::spawn(move || {
        w.wake_by_ref();
        w.wake();
    })
    .join()
    .unwrap();
    // A fence: with one worker and FIFO queues, anything the wakes queued
    // would run before this task.
    rt.block_on(rt.spawn(async {})).unwrap();
    assert_eq!(polls.load(SeqCst), 1);
    assert_eq!(settled_polls(&rt, 2), 2, "the completed task was queued again (2 = task + fence)");
    drop(waker);
    let start = Instant::now();
    while rt.metrics().num_alive_tasks() != 0 {
        assert!(start.elapsed() < DEADLINE, "tasks never left the owned list");
        thread::sleep(Duration::from_millis(1));
    }
}

// ----- yield_now -----------------------------------------------------------------------

#[test]
fn yield_now_lets_a_task_spawned_later_run_on_one_worker() {
    let rt = one_worker_in_order();
    let flag = Arc::new(AtomicBool::new(false));
    let b_spawned = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = mpsc::channel();
    let (f, s) = (flag.clone(), b_spawned.clone());
    let a = rt.spawn(async move {
        started_tx.send(()).unwrap();
        // Yields made while B already sat in a queue.
        let mut yields_with_b_queued = 0u64;
        let mut yields = 0u64;
        while !f.load(SeqCst) {
            assert!(yields < 10_000_000, "task B never ran while A kept yielding");
            if s.load(SeqCst) {
                yields_with_b_queued += 1;
            }
            yield_now().await;
            yields += 1;
        }
        yields_with_b_queued
    });
    // B is spawned only once A is running (and yielding).
    started_rx.recv().unwrap();
    let f = flag.clone();
    let b = rt.spawn(async move { f.store(true, SeqCst) });
    b_spawned.store(true, SeqCst);
    let yields = rt.block_on(a).unwrap();
    rt.block_on(b).unwrap();
    assert!(flag.load(SeqCst), "A observed B's flag");
    // The worker takes from the global queue at least every 61 ticks.
    assert!(yields <= 61, "A yielded {yields} times while B was queued before B ran");
}

#[test]
fn yield_now_lets_a_task_spawned_from_inside_run_on_one_worker() {
    let rt = one_worker_in_order();
    let observed = rt
        .block_on(rt.spawn(async {
            let flag = Arc::new(AtomicBool::new(false));
            let f = flag.clone();
            let b = weft::spawn(async move { f.store(true, SeqCst) });
            // Busy-loop on the flag, giving the worker up each time.
            let mut yields = 0;
            while !flag.load(SeqCst) {
                yield_now().await;
                yields += 1;
            }
            b.await.unwrap();
            yields
        }))
        .unwrap();
    assert_eq!(observed, 1, "B was queued before A yielded, so A sees the flag after one yield");
}

/// Spawns `n` recorders from inside a task, yields once, and returns how
/// many had run when the task resumed.
async fn spawn_then_yield(n: usize) -> (usize, usize) {
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..n {
        let ran = ran.clone();
        weft::spawn(async move {
            ran.fetch_add(1, SeqCst);
        });
    }
    let before = ran.load(SeqCst);
    yield_now().await;
    (before, ran.load(SeqCst))
}

#[test]
fn yield_now_runs_tasks_queued_locally_first_on_one_worker() {
    let rt = one_worker_in_order();
    for n in [1, 2, 10, 100, 200] {
        let (before, after) = rt.block_on(rt.spawn(spawn_then_yield(n))).unwrap();
        assert_eq!(before, 0, "spawned tasks must not run inside the spawner's poll");
        assert_eq!(
            after, n,
            "with {n} tasks queued, the yielding task resumed after only {after} of them ran"
        );
    }
}

#[test]
fn yield_now_repeatedly_interleaves_with_queued_tasks_on_one_worker() {
    let rt = one_worker_in_order();
    let out = rt
        .block_on(rt.spawn(async {
            let mut bad = Vec::new();
            for round in 0..100 {
                let (_, after) = spawn_then_yield(3).await;
                if after != 3 {
                    bad.push(round);
                }
            }
            bad
        }))
        .unwrap();
    assert!(out.is_empty(), "rounds where the yielding task overtook queued tasks: {out:?}");
}

#[test]
fn yield_now_after_a_runnext_streak_runs_queued_tasks_first_on_one_worker() {
    // A chain of tasks each spawned by the previous one runs from the
    // worker's runnext slot; the last link spawns one more task (into
    // runnext) and yields. That task was queued before the yield, so it
    // must run before the yielding task resumes, whatever the streak.
    fn link(depth: usize, tx: mpsc::Sender<(usize, usize, usize)>) {
        weft::spawn(async move {
            if depth > 0 {
                link(depth - 1, tx);
                return;
            }
            let (before, after) = spawn_then_yield(1).await;
            tx.send((depth, before, after)).unwrap();
        });
    }
    let rt = one_worker_in_order();
    let mut failures = Vec::new();
    for chain in 0..8 {
        let (tx, rx) = mpsc::channel();
        rt.block_on(async { link(chain, tx) });
        let (_, _, after) = rx.recv_timeout(DEADLINE).expect("the chain did not finish");
        if after != 1 {
            failures.push(chain);
        }
    }
    assert!(
        failures.is_empty(),
        "after a spawn chain of these lengths, the yielding task resumed before the task it had just \
         spawned: {failures:?}"
    );
}

#[test]
fn yield_now_runs_tasks_queued_from_outside_first_on_one_worker() {
    // Tasks spawned from another thread while A runs are queued (in the
    // global queue) before A yields: with one worker they must run before
    // A resumes.
    // A holds the worker in a blocking wait: with stall detection on, a
    // wait stretched past the threshold (a busy machine) would let a
    // compensating worker run the queued tasks before they are counted.
    let rt = Runtime::builder().worker_threads(1).stall_threshold(None).build().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let (started_tx, started_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let r = ran.clone();
    let a = rt.spawn(async move {
        started_tx.send(()).unwrap();
        // Hold the only worker until the other tasks are queued.
        go_rx.recv().unwrap();
        yield_now().await;
        r.load(SeqCst)
    });
    started_rx.recv().unwrap();
    let others: Vec<_> = (0..10)
        .map(|_| {
            let ran = ran.clone();
            rt.spawn(async move {
                ran.fetch_add(1, SeqCst);
            })
        })
        .collect();
    assert_eq!(rt.metrics().global_queue_depth(), 10);
    go_tx.send(()).unwrap();
    let seen = rt.block_on(a).unwrap();
    join_all(&rt, others);
    assert_eq!(seen, 10, "A resumed after yield_now while {} queued tasks had not run yet", 10 - seen);
}

// ----- misc ---------------------------------------------------------------------------

/// A future that is woken by a thread after it has been dropped: the
/// waker must stay valid (it owns a task reference).
#[test]
fn waker_used_after_task_dropped_by_abort() {
    let rt = runtime(2);
    let stored: Arc<Mutex<Option<Waker>>> = Arc::default();
    let s = stored.clone();
    let (polled_tx, polled_rx) = mpsc::channel();
    let task = rt.spawn(poll_fn(move |cx: &mut Context<'_>| -> Poll<()> {
        *s.lock().unwrap() = Some(cx.waker().clone());
        let _ = polled_tx.send(());
        Poll::Pending
    }));
    polled_rx.recv().unwrap();
    task.abort();
    assert!(rt.block_on(task).unwrap_err().is_cancelled());
    let waker = stored.lock().unwrap().take().unwrap();
    waker.wake_by_ref();
    thread::spawn(move || waker.wake()).join().unwrap();
}

#[test]
fn boxed_dyn_futures_wake_correctly() {
    // Wakes through a Pin<Box<dyn Future>> behave like any other.
    let rt = runtime(2);
    let target: Arc<Target> = Arc::default();
    let fut: Pin<Box<dyn Future<Output = usize> + Send>> = Box::pin(target.clone().until(3));
    let task = rt.spawn(fut);
    for _ in 0..3 {
        target.wake(true);
    }
    assert_eq!(rt.block_on(task).unwrap(), 3);
}
