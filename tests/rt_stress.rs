//! A seeded, randomized lifecycle stress: many runtimes in sequence (1, 2
//! and 4 workers, each ended by a drop, `shutdown_timeout` or
//! `shutdown_background`), tasks spawned by every path (`Handle::spawn` from
//! plain threads, `weft::spawn` and `task::Builder` from workers, nested
//! spawns, `spawn_blocking`, `JoinSet`, `LocalSet`), doing everything a task
//! may do (yield, sleep, time out, wait for a wake from another OS thread,
//! panic in poll or in its drop, be aborted from here or elsewhere), with
//! every fate of a `JoinHandle` (detached, awaited, aborted, dropped after a
//! poll registered a waker, awaited on another runtime or on a plain thread).
//!
//! What it asserts, exactly (never against a clock):
//! - every future is dropped exactly once, every output too (per-task
//!   counters in one table, so a failure names the task);
//! - a task that returned ran its body once; a join result is one the task's
//!   plan allows (a cancellation only after an abort or once shutdown began,
//!   a panic only from a task that panics);
//! - no task is polled by two threads at once (a per-task flag, swapped);
//! - after `Runtime::drop` returns, none of its tasks' futures is alive;
//! - nothing outlives a runtime: once its threads are gone, no tracked
//!   future, output or join waker is alive and the process's open fd count
//!   is back where the test began (a leaked runtime keeps its netpoller's
//!   fds open).
//!
//! `WEFT_STRESS_SEED` replays a run (the seed is printed, and repeated in
//! every failure); `WEFT_STRESS_TASKS` sets the number of tasks
//! (docs/testing.md). `WEFT_STRESS_JOIN_CYCLES=0` leaves out the pairs of
//! tasks that poll each other's `JoinHandle` once (see `Step::MutualPair`).

#![cfg(all(feature = "sync", feature = "time"))]

use std::future::{pending, poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU8, AtomicUsize, Ordering::*};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use weft::sync::{oneshot, Notify};
use weft::task::{spawn_local, JoinSet, LocalSet};
use weft::time::{sleep, timeout};
use weft::{JoinError, JoinHandle, Runtime};

#[path = "common/thread_block_on.rs"]
mod thread_block_on;

/// How long a condition that must become true (threads exiting, the last
/// references going) may take before the test calls it a leak. Only a
/// failing run waits this long.
const SETTLE: Duration = Duration::from_secs(60);

// ----- a small PRNG (splitmix64) ---------------------------------------------

#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `pct` per cent.
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }

    fn fork(&mut self) -> Rng {
        Rng(self.next())
    }
}

// ----- the per-task table --------------------------------------------------

/// One task's counters.
#[derive(Default)]
struct Slot {
    futures_made: AtomicU8,
    futures_dropped: AtomicU8,
    outputs_made: AtomicU8,
    outputs_dropped: AtomicU8,
    ran: AtomicU8,
    in_poll: AtomicBool,
    /// A task of the `LocalSet`, which cancels it when dropped.
    local: AtomicBool,
}

/// Every task of one round. Relaxed counters: they are read only after the
/// threads and tasks that wrote them are gone (joined threads, a dropped
/// runtime), which orders the reads after the writes.
struct Table {
    seed: u64,
    round: usize,
    slots: Vec<Slot>,
    next: AtomicUsize,
    live_futures: AtomicIsize,
    live_join_wakers: AtomicIsize,
    /// Set before the runtime is shut down: from then on any task may be
    /// cancelled. SeqCst: a joiner that sees a cancellation by shutdown
    /// must see the flag, and the chain from this store to that join goes
    /// through the runtime's own release/acquire pairs.
    shutting_down: AtomicBool,
    /// Set before the `LocalSet` is dropped: from then on its tasks may be
    /// cancelled (SeqCst as for `shutting_down`).
    local_set_dropped: AtomicBool,
    /// How the joins ended, to show the run reached every outcome.
    seen: Seen,
    errors: Mutex<Vec<String>>,
}

/// Outcome counters (Relaxed: read after the round).
#[derive(Default)]
struct Seen {
    ok: AtomicUsize,
    cancelled: AtomicUsize,
    panicked: AtomicUsize,
    gave_up: AtomicUsize,
    /// Rounds ended by `shutdown_timeout`/`shutdown_background` in which
    /// futures were still alive when the call returned, and how many in
    /// all (shown, not asserted: a task mid-poll is cancelled after the
    /// call returns).
    early_returns: AtomicUsize,
    alive_at_return: AtomicUsize,
}

impl Seen {
    fn add(&self, other: &Seen) {
        for (a, b) in [
            (&self.ok, &other.ok),
            (&self.cancelled, &other.cancelled),
            (&self.panicked, &other.panicked),
            (&self.gave_up, &other.gave_up),
            (&self.early_returns, &other.early_returns),
            (&self.alive_at_return, &other.alive_at_return),
        ] {
            a.fetch_add(b.load(Relaxed), Relaxed);
        }
    }
}

impl Table {
    fn new(seed: u64, round: usize, capacity: usize) -> Table {
        Table {
            seed,
            round,
            slots: (0..capacity).map(|_| Slot::default()).collect(),
            next: AtomicUsize::new(0),
            live_futures: AtomicIsize::new(0),
            live_join_wakers: AtomicIsize::new(0),
            shutting_down: AtomicBool::new(false),
            local_set_dropped: AtomicBool::new(false),
            seen: Seen::default(),
            errors: Mutex::new(Vec::new()),
        }
    }

    /// `n` fresh task ids, or `None` once the round's budget is spent.
    fn alloc(&self, n: usize) -> Option<usize> {
        // Only a request that fits takes ids: a refused one must not leave
        // ids counted as used that no task will ever get.
        self.next
            .fetch_update(Relaxed, Relaxed, |first| (first + n <= self.slots.len()).then_some(first + n))
            .ok()
    }

    fn used(&self) -> usize {
        self.next.load(Relaxed).min(self.slots.len())
    }

    fn error(&self, what: String) {
        let mut errors = self.errors.lock().unwrap();
        if errors.len() < 50 {
            errors.push(what);
        }
    }

    fn whence(&self) -> String {
        format!("(seed {}, round {}; replay with WEFT_STRESS_SEED={})", self.seed, self.round, self.seed)
    }
}

/// A task's output: counts its own creation and drop.
struct Out {
    id: usize,
    t: Arc<Table>,
}

impl Out {
    /// Marks the body of task `id` as run (once) and makes its output.
    fn finish(t: &Arc<Table>, id: usize) -> Out {
        let slot = &t.slots[id];
        if slot.ran.fetch_add(1, Relaxed) != 0 {
            t.error(format!("task {id} ran its body twice"));
        }
        slot.outputs_made.fetch_add(1, Relaxed);
        Out { id, t: t.clone() }
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        if self.t.slots[self.id].outputs_dropped.fetch_add(1, Relaxed) != 0 {
            self.t.error(format!("output of task {} dropped twice", self.id));
        }
    }
}

type BoxFut = Pin<Box<dyn Future<Output = Out> + Send>>;

/// The future every task runs: counts its drop, checks that no two threads
/// poll it at once, and may panic when dropped.
struct Tracked {
    id: usize,
    t: Arc<Table>,
    inner: Option<BoxFut>,
    panic_on_drop: bool,
}

impl Tracked {
    fn new(t: &Arc<Table>, id: usize, inner: BoxFut, panic_on_drop: bool) -> Tracked {
        t.slots[id].futures_made.fetch_add(1, Relaxed);
        t.live_futures.fetch_add(1, Relaxed);
        Tracked { id, t: t.clone(), inner: Some(inner), panic_on_drop }
    }
}

impl Future for Tracked {
    type Output = Out;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Out> {
        let this = self.get_mut();
        let flag = &this.t.slots[this.id].in_poll;
        // AcqRel: pairs with the Release store of the previous poll's end,
        // so a poll on another thread that ended is seen as ended.
        if flag.swap(true, AcqRel) {
            this.t.error(format!("task {} polled by two threads at once", this.id));
        }
        struct EndPoll<'a>(&'a AtomicBool);
        impl Drop for EndPoll<'_> {
            fn drop(&mut self) {
                // Release: pairs with the next poll's swap.
                self.0.store(false, Release);
            }
        }
        let _end = EndPoll(flag);
        match this.inner.as_mut() {
            Some(inner) => inner.as_mut().poll(cx),
            None => panic!("task {} polled after it returned Ready", this.id),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        // The inner future first, so "no live futures" means everything
        // it held (handles, timers, channels) is gone too.
        drop(self.inner.take());
        if self.t.slots[self.id].futures_dropped.fetch_add(1, Relaxed) != 0 {
            self.t.error(format!("future of task {} dropped twice", self.id));
        }
        self.t.live_futures.fetch_sub(1, Relaxed);
        if self.panic_on_drop && !thread::panicking() {
            panic!("stress: task {} panics in its drop", self.id);
        }
    }
}

/// A `spawn_blocking` closure's stand-in for a future: counted the same way.
struct BlockingGuard(#[allow(dead_code)] Tracked);

impl BlockingGuard {
    fn new(t: &Arc<Table>, id: usize) -> BlockingGuard {
        BlockingGuard(Tracked::new(t, id, Box::pin(pending()), false))
    }
}

/// A join waker that counts itself alive: a `JoinHandle` dropped after a
/// poll should not leave it in the task (and a pair of tasks holding each
/// other's would never be freed).
struct CountedWaker {
    inner: Waker,
    t: Arc<Table>,
}

impl CountedWaker {
    fn waker(t: &Arc<Table>, inner: &Waker) -> Waker {
        t.live_join_wakers.fetch_add(1, Relaxed);
        Waker::from(Arc::new(CountedWaker { inner: inner.clone(), t: t.clone() }))
    }
}

impl Wake for CountedWaker {
    fn wake(self: Arc<Self>) {
        self.inner.wake_by_ref();
    }
}

impl Drop for CountedWaker {
    fn drop(&mut self) {
        self.t.live_join_wakers.fetch_sub(1, Relaxed);
    }
}

/// Polls `h` with a counted waker (one per poll).
fn counted_poll(
    t: &Arc<Table>,
    h: &mut JoinHandle<Out>,
    cx: &mut Context<'_>,
) -> Poll<Result<Out, JoinError>> {
    let waker = CountedWaker::waker(t, cx.waker());
    Pin::new(h).poll(&mut Context::from_waker(&waker))
}

// ----- plans -----------------------------------------------------------------

/// What a task does, decided up front from the seed.
#[derive(Clone, Debug)]
struct Plan {
    steps: Vec<Step>,
    panics: bool,
    panic_on_drop: bool,
}

#[derive(Clone, Debug)]
enum Step {
    Yield(u32),
    Sleep(u64),
    /// Waits on a oneshot that another OS thread completes.
    RemoteOneshot,
    /// Waits on a `Notify` that another OS thread notifies.
    RemoteNotify,
    /// A oneshot from another thread under a timeout of about the same
    /// length: the timer is often dropped just as it is about to fire.
    TimeoutRemote(u64),
    /// Never completes: only an abort or shutdown ends it.
    Forever,
    Child(Path, Fate, Box<Plan>),
    Blocking(Fate, bool),
    JoinSet(Vec<Plan>, SetEnd),
    /// Spawns a sibling and awaits its handle under a short timeout,
    /// dropping the handle (with the waker it registered) when it fires.
    WatchSibling(u64, Box<Plan>),
    /// Two tasks that each poll the other's `JoinHandle` once and drop it,
    /// then both complete. Each leaves a join waker in the other: unless a
    /// dropped handle takes its waker back, the two cells (and their
    /// runtime) keep each other alive forever.
    MutualPair,
}

#[derive(Clone, Copy, Debug)]
enum Path {
    Spawn,
    Named,
    HandleSpawn,
    Local,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fate {
    Detach,
    Await,
    Abort,
    AbortHandle,
    /// Aborted through an `AbortHandle` from another OS thread.
    AbortRemote,
    /// Polled under a timeout; dropped after it fires.
    TimeoutDrop(u64),
    /// Awaited on a plain thread with a park/unpark `block_on`.
    Joiner,
    /// Awaited by a task of another runtime.
    Side,
}

#[derive(Clone, Copy, Debug)]
enum SetEnd {
    DrainAll,
    JoinSomeThenDrop(usize),
    AbortAllThenDrain,
    Shutdown,
}

impl Plan {
    fn has_forever(&self) -> bool {
        self.steps.iter().any(|s| matches!(s, Step::Forever))
    }

    fn may_panic(&self) -> bool {
        self.panics || self.panic_on_drop
    }
}

struct Gen {
    join_cycles: bool,
}

impl Gen {
    fn plan(&self, rng: &mut Rng, depth: u32, forever_ok: bool) -> Plan {
        let n = rng.below(if depth == 0 { 4 } else { 3 });
        let mut steps = Vec::new();
        for _ in 0..n {
            let step = match rng.below(100) {
                0..=14 => Step::Yield(1 + rng.below(3) as u32),
                15..=24 => Step::Sleep(rng.below(3)),
                25..=36 => Step::RemoteOneshot,
                37..=44 => Step::RemoteNotify,
                45..=54 => Step::TimeoutRemote(rng.below(3)),
                55..=57 if forever_ok => Step::Forever,
                58..=74 if depth < 2 => {
                    let path =
                        [Path::Spawn, Path::Named, Path::HandleSpawn, Path::Local][rng.below(4) as usize];
                    let child = self.plan(rng, depth + 1, true);
                    let fate = fate(rng, &child);
                    Step::Child(path, fate, Box::new(child))
                }
                75..=80 => {
                    let panics = rng.chance(15);
                    let fate = fate(rng, &Plan { steps: vec![], panics, panic_on_drop: false });
                    Step::Blocking(fate, panics)
                }
                81..=87 if depth < 2 => {
                    let kids: Vec<Plan> =
                        (0..1 + rng.below(5)).map(|_| self.plan(rng, depth + 1, false)).collect();
                    let end = match rng.below(4) {
                        0 => SetEnd::DrainAll,
                        1 => SetEnd::JoinSomeThenDrop(rng.below(kids.len() as u64 + 1) as usize),
                        2 => SetEnd::AbortAllThenDrain,
                        _ => SetEnd::Shutdown,
                    };
                    Step::JoinSet(kids, end)
                }
                88..=94 if depth < 2 => {
                    Step::WatchSibling(rng.below(2), Box::new(self.plan(rng, depth + 1, true)))
                }
                95..=99 if self.join_cycles => Step::MutualPair,
                _ => Step::Yield(1),
            };
            steps.push(step);
        }
        Plan { steps, panics: rng.chance(8), panic_on_drop: rng.chance(4) }
    }
}

/// A fate for a task with `plan`: one that never waits for it to finish on
/// its own if it never does.
fn fate(rng: &mut Rng, plan: &Plan) -> Fate {
    let ms = rng.below(3);
    if plan.has_forever() {
        let fates = [Fate::Detach, Fate::Abort, Fate::AbortHandle, Fate::AbortRemote, Fate::TimeoutDrop(ms)];
        return fates[rng.below(fates.len() as u64) as usize];
    }
    match rng.below(16) {
        0..=2 => Fate::Detach,
        3..=6 => Fate::Await,
        7 => Fate::Abort,
        8 => Fate::AbortHandle,
        9 => Fate::AbortRemote,
        10..=12 => Fate::TimeoutDrop(ms),
        13..=14 => Fate::Joiner,
        _ => Fate::Side,
    }
}

// ----- the round's shared context --------------------------------------------

type Job = Box<dyn FnOnce() + Send>;

enum Msg {
    Job(Job),
    Stop,
}

/// What the tasks of one round share.
struct Ctx {
    t: Arc<Table>,
    /// Runs wakes and aborts on another OS thread, in shuffled batches.
    firer: mpsc::Sender<Msg>,
    /// Awaits `JoinHandle`s on another OS thread with a plain `block_on`.
    joiner: mpsc::Sender<Msg>,
    /// A second runtime whose tasks await this round's handles.
    side: weft::Handle,
}

impl Ctx {
    fn fire(&self, job: impl FnOnce() + Send + 'static) {
        // Once the firer has stopped the job is dropped unrun; whoever
        // waits for it sees its channel closed.
        let _ = self.firer.send(Msg::Job(Box::new(job)));
    }
}

/// A helper thread: runs jobs until `Stop`, shuffling each batch of
/// waiting jobs when `shuffle` is set.
fn helper(rx: mpsc::Receiver<Msg>, mut rng: Rng, shuffle: bool) {
    let mut batch: Vec<Job> = Vec::new();
    let mut stop = false;
    while !stop {
        match rx.recv() {
            Ok(Msg::Job(job)) => batch.push(job),
            Ok(Msg::Stop) | Err(_) => stop = true,
        }
        while batch.len() < 64 {
            match rx.try_recv() {
                Ok(Msg::Job(job)) => batch.push(job),
                Ok(Msg::Stop) => stop = true,
                Err(_) => break,
            }
        }
        if shuffle {
            for i in (1..batch.len()).rev() {
                batch.swap(i, rng.below(i as u64 + 1) as usize);
            }
        }
        for job in batch.drain(..) {
            job();
        }
    }
}

/// What a join of task `id` may yield.
#[derive(Clone, Copy)]
struct Expect {
    id: usize,
    may_panic: bool,
    may_cancel: bool,
}

impl Expect {
    fn new(id: usize, plan: &Plan, fate: Fate) -> Expect {
        let aborts = matches!(fate, Fate::Abort | Fate::AbortHandle | Fate::AbortRemote);
        Expect { id, may_panic: plan.may_panic(), may_cancel: aborts }
    }
}

fn check_join(t: &Table, exp: Expect, res: Result<Out, JoinError>) {
    let id = exp.id;
    match res {
        Ok(out) => {
            t.seen.ok.fetch_add(1, Relaxed);
            if out.id != id {
                t.error(format!("task {id}'s handle returned task {}'s output", out.id));
            }
            if t.slots[id].ran.load(Relaxed) != 1 {
                t.error(format!(
                    "task {id} returned but its body ran {} times",
                    t.slots[id].ran.load(Relaxed)
                ));
            }
        }
        Err(e) if e.is_cancelled() => {
            t.seen.cancelled.fetch_add(1, Relaxed);
            let set_dropped = t.slots[id].local.load(Relaxed) && t.local_set_dropped.load(SeqCst);
            if !exp.may_cancel && !t.shutting_down.load(SeqCst) && !set_dropped {
                t.error(format!("task {id} was cancelled with no abort and no shutdown"));
            }
        }
        Err(e) if e.is_panic() => {
            t.seen.panicked.fetch_add(1, Relaxed);
            if !exp.may_panic {
                t.error(format!("task {id} ended in a panic it has no reason for: {e:?}"));
            }
        }
        Err(e) => t.error(format!("task {id}: unknown join error {e:?}")),
    }
}

/// Does with `h` what `fate` says; inside a task or a `block_on`.
async fn apply_fate(ctx: &Arc<Ctx>, mut h: JoinHandle<Out>, exp: Expect, fate: Fate) {
    let t = &ctx.t;
    match fate {
        Fate::Detach => drop(h),
        Fate::Await => check_join(t, exp, h.await),
        Fate::Abort => {
            h.abort();
            check_join(t, exp, h.await);
        }
        Fate::AbortHandle => {
            h.abort_handle().abort();
            check_join(t, exp, h.await);
        }
        Fate::AbortRemote => {
            let abort = h.abort_handle();
            ctx.fire(move || abort.abort());
            check_join(t, exp, h.await);
        }
        Fate::TimeoutDrop(ms) => {
            // Each poll registers a fresh counted waker; when the timeout
            // fires the handle is dropped with the last one registered.
            let res = timeout(Duration::from_millis(ms), poll_fn(|cx| counted_poll(t, &mut h, cx))).await;
            match res {
                Ok(res) => check_join(t, exp, res),
                Err(_) => {
                    t.seen.gave_up.fetch_add(1, Relaxed);
                    drop(h);
                }
            }
        }
        Fate::Joiner => {
            let t = t.clone();
            let job = move || check_join(&t, exp, thread_block_on::block_on(h));
            // If the joiner has stopped, the handle is dropped unjoined.
            let _ = ctx.joiner.send(Msg::Job(Box::new(job)));
        }
        Fate::Side => {
            let t = t.clone();
            drop(ctx.side.spawn(async move { check_join(&t, exp, h.await) }));
        }
    }
}

// ----- running a plan --------------------------------------------------------

/// Spawns task `id` running `plan` by `path`; `None` if the path is not
/// available here (a local spawn outside a `LocalSet`).
fn spawn_task(
    ctx: &Arc<Ctx>,
    rng: &mut Rng,
    id: usize,
    plan: &Plan,
    path: Path,
    local: bool,
) -> JoinHandle<Out> {
    // Only a local child runs inside the set; the others run on workers.
    let local = local && matches!(path, Path::Local);
    let fut = Tracked::new(
        &ctx.t,
        id,
        run_plan(ctx.clone(), rng.fork(), id, plan.clone(), local),
        plan.panic_on_drop,
    );
    match path {
        Path::Spawn => weft::spawn(fut),
        Path::Named => weft::task::Builder::new().name("stress").spawn(fut).expect("spawn a named task"),
        Path::HandleSpawn => weft::Handle::current().spawn(fut),
        Path::Local if local => {
            ctx.t.slots[id].local.store(true, Relaxed);
            spawn_local(fut)
        }
        Path::Local => weft::spawn(fut),
    }
}

fn run_plan(ctx: Arc<Ctx>, mut rng: Rng, id: usize, plan: Plan, local: bool) -> BoxFut {
    Box::pin(async move {
        for step in &plan.steps {
            run_step(&ctx, &mut rng, step, local).await;
        }
        if plan.panics {
            panic!("stress: task {id} panics in poll");
        }
        Out::finish(&ctx.t, id)
    })
}

async fn run_step(ctx: &Arc<Ctx>, rng: &mut Rng, step: &Step, local: bool) {
    let t = &ctx.t;
    match step {
        Step::Yield(n) => {
            for _ in 0..*n {
                weft::task::yield_now().await;
            }
        }
        Step::Sleep(ms) => sleep(Duration::from_millis(*ms)).await,
        Step::RemoteOneshot => {
            let (tx, rx) = oneshot::channel();
            ctx.fire(move || {
                let _ = tx.send(());
            });
            let _ = rx.await;
        }
        Step::RemoteNotify => {
            let notify = Arc::new(Notify::new());
            let n = notify.clone();
            ctx.fire(move || n.notify_one());
            // notify_one stores a permit if nobody waits yet. If the firer
            // has already stopped, nobody ever notifies: wait for its
            // closed channel instead.
            let (tx, rx) = oneshot::channel::<()>();
            ctx.fire(move || drop(tx));
            let notified = notify.notified();
            futures::pin_mut!(notified);
            futures::future::select(notified, rx).await;
        }
        Step::TimeoutRemote(ms) => {
            let (tx, rx) = oneshot::channel();
            ctx.fire(move || {
                let _ = tx.send(());
            });
            let _ = timeout(Duration::from_millis(*ms), rx).await;
        }
        Step::Forever => pending::<()>().await,
        Step::Child(path, fate, plan) => {
            if let Some(id) = t.alloc(1) {
                let h = spawn_task(ctx, rng, id, plan, *path, local);
                apply_fate(ctx, h, Expect::new(id, plan, *fate), *fate).await;
            }
        }
        Step::Blocking(fate, panics) => {
            if let Some(id) = t.alloc(1) {
                let guard = BlockingGuard::new(t, id);
                let (t2, panics) = (t.clone(), *panics);
                let h = weft::task::spawn_blocking(move || {
                    let _guard = guard;
                    thread::yield_now();
                    if panics {
                        panic!("stress: blocking task {id} panics");
                    }
                    Out::finish(&t2, id)
                });
                let plan = Plan { steps: vec![], panics, panic_on_drop: false };
                apply_fate(ctx, h, Expect::new(id, &plan, *fate), *fate).await;
            }
        }
        Step::JoinSet(kids, end) => join_set_churn(ctx, rng, kids, *end, local).await,
        Step::WatchSibling(ms, plan) => {
            if let Some(id) = t.alloc(1) {
                let h = spawn_task(ctx, rng, id, plan, Path::Spawn, local);
                let exp = Expect::new(id, plan, Fate::TimeoutDrop(*ms));
                apply_fate(ctx, h, exp, Fate::TimeoutDrop(*ms)).await;
            }
        }
        Step::MutualPair => mutual_pair(ctx).await,
    }
}

async fn join_set_churn(ctx: &Arc<Ctx>, rng: &mut Rng, kids: &[Plan], end: SetEnd, local: bool) {
    let t = &ctx.t;
    let mut set = JoinSet::new();
    let mut any_may_panic = false;
    for plan in kids {
        let Some(id) = t.alloc(1) else { break };
        any_may_panic |= plan.may_panic();
        let in_set = local && rng.chance(50);
        let fut = Tracked::new(
            t,
            id,
            run_plan(ctx.clone(), rng.fork(), id, plan.clone(), in_set),
            plan.panic_on_drop,
        );
        if in_set {
            t.slots[id].local.store(true, Relaxed);
            set.spawn_local(fut);
        } else {
            set.spawn(fut);
        }
    }
    let mut aborted = false;
    let check = |res: Result<Out, JoinError>, aborted: bool| match res {
        Ok(out) => check_join(t, Expect { id: out.id, may_panic: true, may_cancel: true }, Ok(out)),
        Err(e) if e.is_cancelled() && !aborted && !t.shutting_down.load(SeqCst) => {
            t.error("a JoinSet task was cancelled with no abort and no shutdown".into())
        }
        Err(e) if e.is_panic() && !any_may_panic => {
            t.error(format!("a JoinSet task panicked for no reason: {e:?}"))
        }
        Err(_) => {}
    };
    match end {
        SetEnd::DrainAll => {}
        SetEnd::JoinSomeThenDrop(n) => {
            for _ in 0..n {
                match set.join_next().await {
                    Some(res) => check(res, false),
                    None => break,
                }
            }
            return; // dropping the set aborts the rest
        }
        SetEnd::AbortAllThenDrain => {
            set.abort_all();
            aborted = true;
        }
        SetEnd::Shutdown => {
            set.shutdown().await;
            return;
        }
    }
    while let Some(res) = set.join_next().await {
        check(res, aborted);
    }
}

async fn mutual_pair(ctx: &Arc<Ctx>) {
    let t = &ctx.t;
    let Some(first) = t.alloc(2) else { return };
    let (a, b) = (first, first + 1);
    let (to_a, handle_for_a) = oneshot::channel::<JoinHandle<Out>>();
    let (to_b, handle_for_b) = oneshot::channel::<JoinHandle<Out>>();
    let (a_polled, a_polled_rx) = oneshot::channel::<()>();
    let (b_polled, b_polled_rx) = oneshot::channel::<()>();
    let side = |id: usize,
                other: usize,
                handle_rx: oneshot::Receiver<JoinHandle<Out>>,
                polled: oneshot::Sender<()>,
                other_polled: oneshot::Receiver<()>| {
        let tt = t.clone();
        let body: BoxFut = Box::pin(async move {
            let t = tt;
            if let Ok(mut h) = handle_rx.await {
                // One poll (the other cannot have completed: it waits for
                // `polled`), leaving a waker in the other task, then drop.
                let res = poll_fn(|cx| Poll::Ready(counted_poll(&t, &mut h, cx))).await;
                if let Poll::Ready(res) = res {
                    check_join(&t, Expect { id: other, may_panic: false, may_cancel: false }, res);
                }
                drop(h);
            }
            let _ = polled.send(());
            let _: Result<(), _> = other_polled.await;
            Out::finish(&t, id)
        });
        weft::spawn(Tracked::new(t, id, body, false))
    };
    let ha = side(a, b, handle_for_a, a_polled, b_polled_rx);
    let hb = side(b, a, handle_for_b, b_polled, a_polled_rx);
    let _ = to_a.send(hb);
    let _ = to_b.send(ha);
}

// ----- rounds ------------------------------------------------------------------

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    match v.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={v:?} is not a number"),
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

/// Waits until `cond` holds; a leak or hang fails after `SETTLE`.
fn settle(whence: &str, what: impl Fn() -> String, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + SETTLE;
    while !cond() {
        assert!(Instant::now() < deadline, "{} {whence}", what());
        thread::sleep(Duration::from_millis(1));
    }
}

/// Counts the drop of whatever holds it.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        // Release: pairs with the Acquire load in `run_round`, which then
        // sees everything the last worker thread did.
        self.0.store(true, Release);
    }
}

/// Top-level tasks spawned by `Handle::spawn` from a plain thread, in
/// batches whose fates are applied inside a `block_on` (awaits run
/// concurrently, as `join_all`).
fn drive_plain(rt: &Runtime, ctx: &Arc<Ctx>, gen: &Gen, mut rng: Rng) {
    let handle = rt.handle().clone();
    loop {
        let mut batch = Vec::new();
        for _ in 0..32 {
            let Some(id) = ctx.t.alloc(1) else { break };
            let plan = gen.plan(&mut rng, 0, true);
            let fate = fate(&mut rng, &plan);
            let fut = Tracked::new(
                &ctx.t,
                id,
                run_plan(ctx.clone(), rng.fork(), id, plan.clone(), false),
                plan.panic_on_drop,
            );
            batch.push((handle.spawn(fut), Expect::new(id, &plan, fate), fate));
        }
        if batch.is_empty() {
            return;
        }
        if rng.chance(20) {
            // Awaited on this thread with the plain block_on, one by one.
            for (h, exp, fate) in batch {
                match fate {
                    Fate::Await => check_join(&ctx.t, exp, thread_block_on::block_on(h)),
                    _ => rt.block_on(apply_fate(ctx, h, exp, fate)),
                }
            }
        } else {
            rt.block_on(futures::future::join_all(
                batch.into_iter().map(|(h, exp, fate)| apply_fate(ctx, h, exp, fate)),
            ));
        }
    }
}

/// Top-level tasks of a `LocalSet` on this thread (their plans spawn
/// locally too); the set is dropped at the end, cancelling what is left.
fn drive_local(rt: &Runtime, ctx: &Arc<Ctx>, gen: &Gen, mut rng: Rng) {
    let local = LocalSet::new();
    local.block_on(rt, async {
        loop {
            let mut batch = Vec::new();
            for _ in 0..16 {
                let Some(id) = ctx.t.alloc(1) else { break };
                let plan = gen.plan(&mut rng, 0, true);
                let fate = fate(&mut rng, &plan);
                let h = spawn_task(ctx, &mut rng, id, &plan, Path::Local, true);
                batch.push(apply_fate(ctx, h, Expect::new(id, &plan, fate), fate));
            }
            if batch.is_empty() {
                return;
            }
            futures::future::join_all(batch).await;
        }
    });
    ctx.t.local_set_dropped.store(true, SeqCst);
    drop(local);
}

fn run_round(seed: u64, round: usize, tasks: usize, gen: &Gen, rng: &mut Rng, seen: &Seen) -> usize {
    let workers = [1, 2, 4][(round + (seed % 3) as usize) % 3];
    let t = Arc::new(Table::new(seed, round, tasks));
    let workers_gone = Arc::new(AtomicBool::new(false));
    let rt = {
        let guard = DropFlag(workers_gone.clone());
        Runtime::builder()
            .worker_threads(workers)
            .task_cell_cache(rng.chance(75))
            .on_thread_stop(move || {
                let _ = &guard;
            })
            .build()
            .unwrap()
    };
    let side = Runtime::builder().worker_threads(1).build().unwrap();
    let (firer_tx, firer_rx) = mpsc::channel();
    let (joiner_tx, joiner_rx) = mpsc::channel();
    let firer = {
        let r = rng.fork();
        thread::spawn(move || helper(firer_rx, r, true))
    };
    let joiner = thread::spawn(move || helper(joiner_rx, Rng(0), false));
    let ctx = Arc::new(Ctx {
        t: t.clone(),
        firer: firer_tx.clone(),
        joiner: joiner_tx.clone(),
        side: side.handle().clone(),
    });

    thread::scope(|s| {
        for _ in 0..2 {
            let (ctx, r, rt) = (&ctx, rng.fork(), &rt);
            s.spawn(move || drive_plain(rt, ctx, gen, r));
        }
        let (ctx, r, rt) = (&ctx, rng.fork(), &rt);
        s.spawn(move || drive_local(rt, ctx, gen, r));
    });

    // End the runtime while the firer may still be waking and aborting.
    t.shutting_down.store(true, SeqCst);
    let end = rng.below(3);
    match end {
        0 => {
            drop(rt);
            // A dropped runtime has cancelled and dropped every task of its
            // own before `drop` returns (no other runtime or thread runs
            // them): check that now, not after things settle.
            let live = t.live_futures.load(Relaxed);
            if live != 0 {
                t.error(format!("{live} task futures still alive after Runtime::drop returned"));
            }
        }
        _ => {
            if end == 1 {
                rt.shutdown_timeout(Duration::from_millis(rng.below(3) * 5));
            } else {
                rt.shutdown_background();
            }
            let live = t.live_futures.load(Relaxed);
            if live > 0 {
                t.seen.early_returns.fetch_add(1, Relaxed);
                t.seen.alive_at_return.fetch_add(live as usize, Relaxed);
            }
        }
    }
    let _ = firer_tx.send(Msg::Stop);
    let _ = joiner_tx.send(Msg::Stop);
    firer.join().unwrap();
    joiner.join().unwrap();
    drop(side);
    drop(ctx);

    // shutdown_timeout and shutdown_background may return before their
    // workers are done cancelling: the counts are exact once every worker
    // thread is gone (the stop hook's guard dropped) and the last task has
    // been dropped.
    let whence = t.whence();
    settle(&whence, || "worker threads never exited".into(), || workers_gone.load(Acquire));
    settle(
        &whence,
        || format!("{} task futures never dropped", t.live_futures.load(Relaxed)),
        || t.live_futures.load(Relaxed) == 0,
    );

    // A blocking-pool thread (not a worker) stores a `spawn_blocking`
    // closure's output after the closure, and its guard, are gone, and
    // drops it there when nobody joins: outputs settle after futures do.
    // Each drop is counted once (a second one is an error), so waiting
    // for every slot to balance is the exact check below, not a weaker one.
    settle(
        &whence,
        || "task outputs never dropped".into(),
        || {
            t.slots[..t.used()]
                .iter()
                .all(|slot| slot.outputs_made.load(Relaxed) == slot.outputs_dropped.load(Relaxed))
        },
    );

    let errors = t.errors.lock().unwrap().clone();
    assert!(errors.is_empty(), "{} {}", errors.join("\n"), t.whence());
    for (id, slot) in t.slots[..t.used()].iter().enumerate() {
        let made = slot.futures_made.load(Relaxed);
        let dropped = slot.futures_dropped.load(Relaxed);
        assert!(
            made == 1 && dropped == 1,
            "task {id}: future made {made}, dropped {dropped} times {}",
            t.whence()
        );
        let (made, dropped) = (slot.outputs_made.load(Relaxed), slot.outputs_dropped.load(Relaxed));
        assert_eq!(made, dropped, "task {id}: output made {made}, dropped {dropped} times {}", t.whence());
        assert!(slot.ran.load(Relaxed) <= 1, "task {id} ran more than once {}", t.whence());
        assert!(!slot.in_poll.load(Relaxed), "task {id} still marked in poll {}", t.whence());
    }
    // The mutual pairs (Step::MutualPair) fail here while a dropped
    // JoinHandle leaves its waker in the task: each task's cell holds the
    // other's waker, so neither is freed.
    settle(
        &whence,
        || {
            format!(
                "{} join wakers still held by tasks (tasks keeping each other alive through dropped JoinHandles)",
                t.live_join_wakers.load(Relaxed)
            )
        },
        || t.live_join_wakers.load(Relaxed) == 0,
    );
    seen.add(&t.seen);
    t.used()
}

#[test]
fn every_task_lifecycle_ends_exactly_once_and_nothing_leaks() {
    let seed = env_u64("WEFT_STRESS_SEED").unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        nanos as u64 ^ u64::from(std::process::id())
    });
    let total = env_u64("WEFT_STRESS_TASKS").unwrap_or(100_000) as usize;
    let gen = Gen { join_cycles: env_u64("WEFT_STRESS_JOIN_CYCLES") != Some(0) };
    println!("rt_stress: seed {seed}, {total} tasks (WEFT_STRESS_SEED={seed} replays it)");

    // Panics that are part of the plan are expected: keep them quiet.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg =
            payload.downcast_ref::<String>().map(String::as_str).or(payload.downcast_ref::<&str>().copied());
        if !msg.is_some_and(|m| m.starts_with("stress:")) {
            default_hook(info);
        }
    }));

    let fds_before = open_fds();
    let rounds = total.div_ceil(20_000).max(12);
    let mut rng = Rng(seed);
    let (seen, mut ran) = (Seen::default(), 0);
    for round in 0..rounds {
        let tasks = total / rounds + usize::from(round < total % rounds);
        ran += run_round(seed, round, tasks, &gen, &mut rng, &seen);
        // Every runtime of the round is gone; a leaked one keeps its
        // netpoller's fds open.
        let whence = format!("(seed {seed}, after round {round}; replay with WEFT_STRESS_SEED={seed})");
        settle(
            &whence,
            || {
                format!(
                    "open fds: {} now, {fds_before} before the first runtime (a runtime leaked?)",
                    open_fds()
                )
            },
            || open_fds() == fds_before,
        );
    }
    println!(
        "rt_stress: {ran} tasks in {rounds} runtimes; joins: {} ok, {} cancelled, {} panicked, {} given up on",
        seen.ok.load(Relaxed),
        seen.cancelled.load(Relaxed),
        seen.panicked.load(Relaxed),
        seen.gave_up.load(Relaxed)
    );
    println!(
        "rt_stress: {} runtimes had {} task futures still alive when shutdown_timeout/shutdown_background returned",
        seen.early_returns.load(Relaxed),
        seen.alive_at_return.load(Relaxed)
    );
}
