//! Leak detection (`TaskInfo::is_leaked`, `TaskDump::leaked`,
//! `RuntimeMetrics::leaked_tasks`): an idle task of which no waker exists
//! is reported; a task whose waker is kept anywhere (a timer, a socket, a
//! channel, a `Notify`, a global) or that is running or queued never is.
//!
//! No verdict depends on a sleep: the positives wait (a hang guard of a
//! minute) until the report appears, which it must once the task's poll
//! has returned; the negatives first wait until the dump shows the task
//! idle (its poll returned, so its waker is stored), then check that many
//! dumps never call it leaked.

mod common;

use common::dump::{find, rt, wait_for};
use std::collections::{HashMap, HashSet};
use std::future::{pending, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};
use weft::task::{AbortHandle, Id, TaskInfo, TaskState};

/// Task `id` once a dump reports it leaked.
#[track_caller]
fn wait_leaked(rt: &weft::Runtime, id: Id) -> TaskInfo {
    wait_for(&format!("task {id} reported leaked"), || find(&rt.dump().leaked(), id))
}

/// Waits until a dump shows task `id` idle (its poll has returned), then
/// checks that this and 200 more dumps never call it leaked.
#[track_caller]
fn assert_never_leaked(rt: &weft::Runtime, id: Id, what: &str) {
    wait_for(&format!("{what}: task {id} idle"), || {
        find(&rt.dump(), id).filter(|t| t.state() == TaskState::Idle)
    });
    for _ in 0..200 {
        let info = find(&rt.dump(), id).expect("the task is still listed");
        assert!(!info.is_leaked(), "{what}: task {id} reported leaked while its waker is kept: {info:?}");
    }
}

/// Spawns `fut` on `rt` and waits until its first poll has started.
fn spawn_started<F>(rt: &weft::Runtime, fut: F) -> weft::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let join = rt.spawn(async move {
        tx.send(()).unwrap();
        fut.await
    });
    rx.recv().expect("the task started");
    join
}

/// Returns `Pending` without keeping the waker anywhere.
struct ForgetsWaker;

impl Future for ForgetsWaker {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

/// Stores a clone of its waker in `slot` on every poll; ready once `done`.
struct StoresWaker {
    slot: Arc<Mutex<Vec<Waker>>>,
    done: Arc<AtomicBool>,
}

impl Future for StoresWaker {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.done.load(SeqCst) {
            return Poll::Ready(());
        }
        self.slot.lock().unwrap().push(cx.waker().clone());
        Poll::Pending
    }
}

// ----- positives -------------------------------------------------------------

#[test]
fn a_task_awaiting_pending_is_reported_in_the_dump_and_the_metrics() {
    let rt = rt(2);
    let join = spawn_started(&rt, pending::<()>());
    let info = wait_leaked(&rt, join.id());
    assert_eq!(info.state(), TaskState::Idle, "a leaked task is idle");
    assert_eq!(rt.metrics().leaked_tasks(), 1);
    let text = rt.metrics().to_prometheus();
    assert!(text.lines().any(|l| l == "weft_leaked_tasks 1"), "{text}");
    assert!(text.contains("# TYPE weft_leaked_tasks gauge"), "{text}");
    let report = rt.dump().to_string();
    assert!(report.lines().next().unwrap().ends_with(", 1 leaked"), "{report}");
    let group = report.lines().find(|l| l.starts_with("1 task [external, ")).expect("the task's group");
    assert!(group.ends_with(", leaked"), "{report}");
    // Abort still ends it (its future is dropped, never polled).
    join.abort();
    let err = rt.block_on(join).unwrap_err();
    assert!(err.is_cancelled());
    assert!(rt.dump().leaked().is_empty());
}

#[test]
fn a_future_that_forgets_its_waker_is_reported() {
    let rt = rt(1);
    let join = spawn_started(&rt, ForgetsWaker);
    wait_leaked(&rt, join.id());
}

#[test]
fn a_task_whose_stored_waker_is_dropped_is_reported_then() {
    let rt = rt(2);
    let slot = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(AtomicBool::new(false));
    let join = spawn_started(&rt, StoresWaker { slot: slot.clone(), done });
    wait_for("the waker stored", || (!slot.lock().unwrap().is_empty()).then_some(()));
    assert_never_leaked(&rt, join.id(), "waker kept in a Vec");
    // The structure holding the only waker goes away: nothing can wake it.
    drop(std::mem::take(&mut *slot.lock().unwrap()));
    wait_leaked(&rt, join.id());
}

#[test]
fn handles_do_not_hide_a_leak() {
    let rt = rt(2);
    // A live JoinHandle and two AbortHandles (one of them cloned).
    let with_handles = spawn_started(&rt, pending::<()>());
    let aborts: Vec<AbortHandle> = vec![with_handles.abort_handle(), with_handles.abort_handle().clone()];
    // Detached: no JoinHandle at all.
    let detached = spawn_started(&rt, ForgetsWaker);
    let detached_id = detached.id();
    drop(detached);
    wait_leaked(&rt, with_handles.id());
    wait_leaked(&rt, detached_id);
    assert_eq!(rt.metrics().leaked_tasks(), 2);
    // A JoinSet keeps a JoinHandle per task and returns an AbortHandle.
    let mut set = weft::task::JoinSet::new();
    let _guard = rt.enter();
    let abort = set.spawn(pending::<()>());
    wait_leaked(&rt, abort.id());
    // Any AbortHandle can still end the task.
    aborts[1].abort();
    assert!(rt.block_on(with_handles).unwrap_err().is_cancelled());
    drop(aborts);
}

#[test]
fn a_leaked_local_task_is_reported() {
    let rt = rt(1);
    let local = weft::task::LocalSet::new();
    let id = local.block_on(&rt, async {
        let join = weft::task::spawn_local(std::future::pending::<()>());
        weft::task::yield_now().await; // let it run its first poll
        let info =
            wait_for("the local task leaked", || find(&weft::Handle::current().dump().leaked(), join.id()));
        assert!(info.is_local());
        join.id()
    });
    drop(local);
    assert!(find(&rt.dump(), id).is_none(), "dropping the set cancelled it");
}

// ----- negatives -------------------------------------------------------------

#[test]
fn a_task_on_a_live_timer_is_never_reported() {
    let rt = rt(1);
    let join = spawn_started(&rt, async { weft::time::sleep(Duration::from_secs(3600)).await });
    assert_never_leaked(&rt, join.id(), "sleep");
    assert_eq!(rt.metrics().leaked_tasks(), 0);
    join.abort();
}

#[test]
fn a_task_reading_a_socket_is_never_reported() {
    let rt = rt(2);
    let listener = rt.block_on(weft::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let client = rt.block_on(weft::net::TcpStream::connect(addr)).unwrap();
    let (mut server, _) = rt.block_on(listener.accept()).unwrap();
    let join = spawn_started(&rt, async move {
        let mut buf = [0u8; 16];
        server.read(&mut buf).await.unwrap()
    });
    assert_never_leaked(&rt, join.id(), "socket read");
    // The peer closes: the read returns 0 and the task completes.
    drop(client);
    assert_eq!(rt.block_on(join).unwrap(), 0);
}

#[test]
fn a_task_receiving_from_a_live_channel_is_never_reported() {
    let rt = rt(2);
    let (tx, mut rx) = weft::sync::mpsc::channel::<u32>(4);
    let join = spawn_started(&rt, async move { rx.recv().await });
    assert_never_leaked(&rt, join.id(), "mpsc recv");
    rt.block_on(tx.send(7)).unwrap();
    assert_eq!(rt.block_on(join).unwrap(), Some(7));
}

#[test]
fn a_task_waiting_on_a_notify_is_never_reported() {
    let rt = rt(2);
    let notify = Arc::new(weft::sync::Notify::new());
    let waiter = notify.clone();
    let join = spawn_started(&rt, async move { waiter.notified().await });
    assert_never_leaked(&rt, join.id(), "Notify");
    notify.notify_one();
    rt.block_on(join).unwrap();
}

#[test]
fn a_task_whose_waker_is_in_a_global_is_never_reported() {
    static SLOT: Mutex<Option<Waker>> = Mutex::new(None);
    let rt = rt(1);
    let join = spawn_started(
        &rt,
        std::future::poll_fn(|cx| {
            *SLOT.lock().unwrap() = Some(cx.waker().clone());
            Poll::<()>::Pending
        }),
    );
    assert_never_leaked(&rt, join.id(), "a global");
    drop(SLOT.lock().unwrap().take());
    wait_leaked(&rt, join.id());
}

#[test]
fn running_and_queued_tasks_are_never_reported() {
    // No stall hand-off: nothing else may run the queued task.
    let rt = weft::Runtime::builder().worker_threads(1).stall_threshold(None).build().unwrap();
    let release = Arc::new(AtomicBool::new(false));
    let spin = release.clone();
    // Holds the only worker inside its poll.
    let running = spawn_started(&rt, async move {
        while !spin.load(SeqCst) {
            thread::yield_now();
        }
    });
    // Cannot start while the worker is busy: stays queued.
    let queued = rt.spawn(pending::<()>());
    for _ in 0..200 {
        let dump = rt.dump();
        let r = find(&dump, running.id()).unwrap();
        let q = find(&dump, queued.id()).unwrap();
        assert_eq!((r.state(), q.state()), (TaskState::Running, TaskState::Scheduled));
        assert!(!r.is_leaked() && !q.is_leaked());
    }
    assert!(rt.dump().leaked().is_empty());
    release.store(true, SeqCst);
    rt.block_on(running).unwrap();
    // Once the queued one has run, its `pending()` leaks it.
    wait_leaked(&rt, queued.id());
}

#[test]
fn a_task_awaiting_a_leaked_task_is_not_reported() {
    // What the check cannot see: the waiter's waker sits in the leaked
    // task's join slot, which nothing will ever use.
    let rt = rt(2);
    let leaked = spawn_started(&rt, pending::<()>());
    let leaked_id = leaked.id();
    let waiter = spawn_started(&rt, leaked);
    wait_leaked(&rt, leaked_id);
    assert_never_leaked(&rt, waiter.id(), "awaiting a leaked task");
}

// ----- stress ----------------------------------------------------------------

const TASKS: usize = 256;
const ROUNDS: u32 = 30;
const WAKER_THREADS: usize = 2;

/// Per-task record shared with the checker.
#[derive(Default)]
struct Record {
    polls: AtomicU64,
    /// Set by the dumping thread once a dump reported the task leaked.
    flagged: AtomicBool,
    /// Polls that started after `flagged` was set.
    polled_after_flag: AtomicU64,
    completions: AtomicUsize,
    drops: AtomicUsize,
}

/// How a waker thread finishes with a waker it was handed.
#[derive(Clone, Copy)]
enum Fate {
    WakeByVal,
    WakeByRefThenDrop,
    /// Clone it, drop the original after a delay, wake through the clone.
    CloneThenWake,
    /// Drop it without waking: the task is leaked from then on.
    Drop,
}

/// Parks `ROUNDS` times, each time handing a clone of its waker to a
/// waker thread; on round `leak_at` that thread is told to drop it.
struct Parker {
    i: usize,
    round: u32,
    parked: bool,
    leak_at: Option<u32>,
    rec: Arc<Vec<Record>>,
    to_wakers: Vec<mpsc::Sender<(usize, Waker, Fate)>>,
}

impl Future for Parker {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let rec = self.rec.clone();
        let rec = &rec[self.i];
        rec.polls.fetch_add(1, SeqCst);
        if rec.flagged.load(SeqCst) {
            rec.polled_after_flag.fetch_add(1, SeqCst);
        }
        if self.parked {
            self.parked = false;
            self.round += 1;
        }
        if self.round == ROUNDS {
            rec.completions.fetch_add(1, SeqCst);
            return Poll::Ready(());
        }
        let fate = if self.leak_at == Some(self.round) {
            Fate::Drop
        } else {
            match (self.i + self.round as usize) % 3 {
                0 => Fate::WakeByVal,
                1 => Fate::WakeByRefThenDrop,
                _ => Fate::CloneThenWake,
            }
        };
        let to = (self.i + self.round as usize) % self.to_wakers.len();
        self.to_wakers[to].send((self.i, cx.waker().clone(), fate)).unwrap();
        self.parked = true;
        Poll::Pending
    }
}

impl Drop for Parker {
    fn drop(&mut self) {
        self.rec[self.i].drops.fetch_add(1, SeqCst);
    }
}

/// A tiny xorshift for the delays: reproducible, no dependency.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// Holds wakers for a while (a few yields), then finishes them by their
/// fate, until `stop` and the channel is empty.
fn waker_thread(
    rx: mpsc::Receiver<(usize, Waker, Fate)>,
    stop: Arc<AtomicBool>,
    dropped: Arc<AtomicUsize>,
    seed: u64,
) {
    let mut seed = seed | 1;
    let mut held: Vec<(Waker, Fate)> = Vec::new();
    loop {
        while let Ok((_, waker, fate)) = rx.try_recv() {
            held.push((waker, fate));
        }
        if held.is_empty() {
            if stop.load(SeqCst) {
                return;
            }
            thread::yield_now();
            continue;
        }
        let pick = (next(&mut seed) as usize) % held.len();
        let (waker, fate) = held.swap_remove(pick);
        for _ in 0..next(&mut seed) % 4 {
            thread::yield_now();
        }
        match fate {
            Fate::WakeByVal => waker.wake(),
            Fate::WakeByRefThenDrop => {
                waker.wake_by_ref();
                thread::yield_now();
                drop(waker);
            }
            Fate::CloneThenWake => {
                let clone = waker.clone();
                thread::yield_now();
                drop(waker);
                clone.wake();
            }
            Fate::Drop => {
                drop(waker);
                dropped.fetch_add(1, SeqCst);
            }
        }
    }
}

/// Tasks park and are woken by other threads (wakers passed through
/// channels and held in a `Vec` for a few yields, woken by value, by
/// reference, or through a clone), while another thread takes dumps in a
/// loop and a third clones and drops `AbortHandle`s. One task in eight
/// has its waker dropped unwoken at some round: those, and only those,
/// leak. Every task any dump reported leaked must be one of them and must
/// never be polled after the report; at the end the dump reports exactly
/// them; every other task completes exactly once, and every future is
/// dropped exactly once.
#[test]
fn stress_no_task_reported_leaked_is_ever_polled_again() {
    let rt = rt(2);
    let rec: Arc<Vec<Record>> = Arc::new((0..TASKS).map(|_| Record::default()).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut to_wakers = Vec::new();
    let mut wakers = Vec::new();
    for t in 0..WAKER_THREADS {
        let (tx, rx) = mpsc::channel();
        to_wakers.push(tx);
        let (stop, dropped) = (stop.clone(), dropped.clone());
        wakers.push(thread::spawn(move || waker_thread(rx, stop, dropped, 0x9e37_79b9 + t as u64)));
    }
    let leaks: HashSet<usize> = (0..TASKS).filter(|i| i % 8 == 3).collect();
    let mut joins = Vec::new();
    let mut index: HashMap<Id, usize> = HashMap::new();
    for i in 0..TASKS {
        let leak_at = leaks.contains(&i).then_some((i as u32 * 7) % ROUNDS);
        let fut =
            Parker { i, round: 0, parked: false, leak_at, rec: rec.clone(), to_wakers: to_wakers.clone() };
        let join = rt.spawn(fut);
        index.insert(join.id(), i);
        joins.push(join);
    }
    drop(to_wakers);
    let aborts: Vec<AbortHandle> = joins.iter().map(|j| j.abort_handle()).collect();

    let dumper = {
        let (handle, rec, stop, index) = (rt.handle().clone(), rec.clone(), stop.clone(), index.clone());
        thread::spawn(move || {
            let mut dumps = 0u64;
            let mut reported = 0u64;
            while !stop.load(SeqCst) {
                for t in handle.dump().leaked().tasks() {
                    rec[index[&t.id()]].flagged.store(true, SeqCst);
                    reported += 1;
                }
                dumps += 1;
                // Leave the workers some of the machine's cores.
                thread::yield_now();
            }
            (dumps, reported)
        })
    };
    let churn = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut seed = 12345u64;
            let mut held = Vec::new();
            while !stop.load(SeqCst) {
                let a = &aborts[(next(&mut seed) as usize) % aborts.len()];
                held.push(a.clone());
                if held.len() > 16 {
                    held.swap_remove((next(&mut seed) as usize) % held.len());
                }
            }
        })
    };

    // Every task either completes or has its waker dropped.
    wait_for("all tasks finished or leaked", || {
        let done: usize = rec.iter().map(|r| r.completions.load(SeqCst)).sum();
        (done + dropped.load(SeqCst) == TASKS).then_some(())
    });
    stop.store(true, SeqCst);
    for w in wakers {
        w.join().unwrap();
    }
    let (dumps, reported) = dumper.join().unwrap();
    churn.join().unwrap();
    assert_eq!(dropped.load(SeqCst), leaks.len());

    for (i, r) in rec.iter().enumerate() {
        if r.flagged.load(SeqCst) {
            assert!(leaks.contains(&i), "task {i} reported leaked but its waker was never dropped");
        }
        assert_eq!(r.polled_after_flag.load(SeqCst), 0, "task {i} polled after it was reported leaked");
    }
    // At rest the report is exact: the tasks whose wakers were dropped.
    let final_leaked: HashSet<usize> = rt.dump().leaked().tasks().iter().map(|t| index[&t.id()]).collect();
    assert_eq!(final_leaked, leaks);
    assert_eq!(rt.metrics().leaked_tasks(), leaks.len());

    // End the leaked ones; every task finishes exactly once.
    for (i, join) in joins.into_iter().enumerate() {
        if leaks.contains(&i) {
            join.abort();
            assert!(rt.block_on(join).unwrap_err().is_cancelled());
            assert_eq!(rec[i].completions.load(SeqCst), 0);
        } else {
            rt.block_on(join).unwrap();
            assert_eq!(rec[i].completions.load(SeqCst), 1, "task {i}");
        }
        assert_eq!(rec[i].drops.load(SeqCst), 1, "task {i}'s future dropped once");
    }
    println!("{dumps} dumps, {reported} leaked reports");
}

// ----- cost ------------------------------------------------------------------

/// Not a verdict: prints what counting leaked tasks adds to
/// `Runtime::metrics()` per 100,000 live tasks (the figure in
/// docs/design/dump.md, "Leaks"), beside a full dump. Run with
/// `cargo test --release --test rt_leak -- --ignored --nocapture walk_cost`.
#[test]
#[ignore]
fn walk_cost_per_100k_tasks() {
    const N: usize = 100_000;
    let rt = rt(2);
    let median = |rt: &weft::Runtime, f: &dyn Fn(&weft::Runtime)| {
        let mut t: Vec<Duration> = (0..31)
            .map(|_| {
                let start = Instant::now();
                f(rt);
                start.elapsed()
            })
            .collect();
        t.sort();
        t[t.len() / 2]
    };
    let empty = median(&rt, &|rt| drop(rt.metrics()));
    let joins: Vec<_> = (0..N).map(|_| rt.spawn(pending::<()>())).collect();
    wait_for("all tasks leaked", || (rt.metrics().leaked_tasks() == N).then_some(()));
    let full = median(&rt, &|rt| drop(rt.metrics()));
    let dump = median(&rt, &|rt| drop(rt.dump()));
    println!(
        "metrics(): {empty:?} with no task, {full:?} with {N} (walk ~{:?}); dump(): {dump:?}",
        full.saturating_sub(empty)
    );
    drop(joins);
}
