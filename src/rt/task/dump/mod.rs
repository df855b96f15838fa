//! Task dumps: a copy of what the runtime knows about every live task,
//! taken without stopping the world (docs/design/dump.md).
//!
//! `capture` walks the owned-tasks list one shard at a time. Under a
//! shard's lock it only copies plain data out of each header (immutable
//! fields, a Relaxed/Acquire load of each statistic and of the state word,
//! an `Arc` increment for the name); it never touches a task's future,
//! stage or waker and never waits for a worker, so a worker stuck in a long
//! poll cannot hold it up (the poll holds RUNNING, not the shard lock).
//! Durations are computed after the walk, against one clock reading.
//!
//! `report.rs` renders the grouped `Display`.

mod report;

use super::list::OwnedTasks;
use super::raw::{Header, WaitWord, STAMP_SHIFT, WAIT_STAMP_MASK};
use super::wait::{sites, WaitKind};
use super::Id;
use crate::loom::sync::StdArc;
use crate::rt::clock;
use std::fmt;
use std::panic::Location;
use std::time::{Duration, SystemTime};

/// A task's state at the moment a dump copied it.
///
/// ```
/// use weft::task::TaskState;
///
/// let rt = weft::Runtime::builder().worker_threads(2).build().unwrap();
/// let handles: Vec<_> = (0..10).map(|i| rt.spawn(async move { i })).collect();
/// let dump = rt.dump();
/// let mut counted = 0;
/// for state in [TaskState::Idle, TaskState::Scheduled, TaskState::Running, TaskState::Complete] {
///     let n = dump.with_state(state).len();
///     println!("{state}: {n}"); // done tasks whose handle is unread are `Complete`
///     counted += n;
/// }
/// assert_eq!(counted, dump.len());
/// # drop(handles);
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaskState {
    /// Waiting for a wake-up: not queued, not running.
    Idle,
    /// Woken and waiting in a run queue for a worker.
    Scheduled,
    /// A worker is polling it right now.
    Running,
    /// Finished (with an output, a panic or a cancellation), but its
    /// `JoinHandle` still exists and has not read the output.
    Complete,
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            TaskState::Idle => "idle",
            TaskState::Scheduled => "scheduled",
            TaskState::Running => "running",
            TaskState::Complete => "complete (unjoined)",
        })
    }
}

/// One task in a [`TaskDump`].
///
/// Each field is a value the task really had during the capture, but the
/// fields were read one by one while the task kept running, so together
/// they may mix two moments (for example a poll count that already includes
/// a poll whose start stamp was not yet visible).
///
/// ```
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// let (polled_tx, polled) = std::sync::mpsc::channel();
/// let waiting = weft::task::Builder::new()
///     .name("waits-forever")
///     .spawn_on(
///         async move {
///             polled_tx.send(()).unwrap();
///             std::future::pending::<()>().await
///         },
///         rt.handle(),
///     )
///     .unwrap();
/// polled.recv().unwrap(); // it has started its first poll
/// let dump = rt.dump();
/// let info = dump.tasks().iter().find(|t| t.id() == waiting.id()).unwrap();
/// assert_eq!(info.name(), Some("waits-forever"));
/// assert_eq!(info.location().file(), file!());
/// assert!(info.age() >= info.since_last_poll().unwrap());
/// // Idle once that poll has returned (Running if the dump caught it inside).
/// println!("{} is {}", info.id(), info.state());
/// println!("{} at {}: {} polls, last took {:?}", info.id(), info.location(), info.polls(), info.last_poll_duration());
/// ```
#[derive(Clone, Debug)]
pub struct TaskInfo {
    id: Id,
    priority: crate::rt::task::Priority,
    name: Option<StdArc<str>>,
    location: &'static Location<'static>,
    state: TaskState,
    polls: u64,
    /// Clock stamps (`crate::rt::clock`; 0 = none) and the capture's own.
    created_ns: u64,
    last_poll_start_ns: u64,
    last_poll_ns: u64,
    captured_ns: u64,
    local: bool,
    leaked: bool,
    wait: WaitWord,
}

/// Why an idle task waits, from [`TaskInfo::wait`]: what the weft future
/// that last returned `Pending` in its poll waits for, where that future
/// was created (the `.await` of `rx.recv()`, `sleep(d)`, ...), and for how
/// long (since its last poll started).
///
/// ```
/// use weft::task::WaitKind;
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// let (tx, mut rx) = weft::sync::mpsc::channel::<()>(1);
/// let (polled_tx, polled) = std::sync::mpsc::channel();
/// let task = rt.spawn(async move {
///     polled_tx.send(line!() + 1).unwrap();
///     rx.recv().await
/// });
/// let line = polled.recv().unwrap();
/// let wait = loop {
///     // Once its poll has returned, the task is idle, waiting on `recv`.
///     let dump = rt.dump();
///     let info = dump.tasks().iter().find(|t| t.id() == task.id()).unwrap();
///     if let Some(wait) = info.wait() {
///         break wait;
///     }
///     std::thread::yield_now();
/// };
/// assert_eq!(wait.kind(), WaitKind::MpscRecv);
/// assert_eq!(wait.site().unwrap().line(), line);
/// println!("[{}, {:?}] at {}", wait.kind(), wait.duration(), wait.site().unwrap());
/// # drop(tx);
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TaskWait {
    kind: WaitKind,
    site: Option<&'static Location<'static>>,
    duration: Duration,
}

impl TaskWait {
    /// What the task waits for; [`WaitKind::External`] when the future
    /// that returned `Pending` last is not weft's.
    pub fn kind(&self) -> WaitKind {
        self.kind
    }

    /// Where the weft future the task waits on was created; for an
    /// external wait, the last weft future that waited in this task. `None`
    /// when no weft future has waited in the task yet (or the process's
    /// table of sites is full).
    pub fn site(&self) -> Option<&'static Location<'static>> {
        self.site
    }

    /// How long the task has waited: the time since its last poll started.
    pub fn duration(&self) -> Duration {
        self.duration
    }
}

impl TaskInfo {
    /// Copies plain data out of a listed task's header (under its shard
    /// lock: no allocation, no call into the task).
    fn copy(header: &Header, local: bool) -> TaskInfo {
        // `State::load` is Acquire (for the JoinHandle, which then reads
        // the stage); the dump reads nothing through it, only reports the
        // bits, so it needs no ordering of its own.
        let snapshot = header.state.load();
        let state = if snapshot.is_complete() {
            TaskState::Complete
        } else if snapshot.is_running() {
            TaskState::Running
        } else if snapshot.is_notified() {
            TaskState::Scheduled
        } else {
            TaskState::Idle
        };
        // Read under the shard lock of a linked task, so the list's
        // reference is in the count (docs/design/dump.md, "Leaks").
        let leaked = snapshot.is_leaked_if_listed();
        let stats = &header.stats;
        TaskInfo {
            id: header.id(),
            priority: header.priority(),
            name: header.meta.name().cloned(),
            location: header.meta.location(),
            state,
            // Relaxed: statistics (see `TaskStats`); each value is one the
            // field held, nothing else is inferred from them.
            polls: stats.polls(),
            created_ns: stats.created_ns(),
            // No poll starts before its task exists (a worker's cached
            // clock may predate a spawn from outside); 0: never polled.
            last_poll_start_ns: stats.last_poll_start_ns().map_or(0, |t| t.max(stats.created_ns()).max(1)),
            last_poll_ns: stats.last_poll_ns(),
            captured_ns: 0,
            local,
            leaked,
            // Relaxed inside; a value the word held, decoded after the walk.
            wait: stats.wait(),
        }
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.id
    }

    /// The task's scheduling class ([`crate::task::Builder::priority`],
    /// or inherited from a `Background` parent).
    ///
    /// ```
    /// use weft::task::{Builder, Priority};
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// let bg = Builder::new().priority(Priority::Background).spawn_on(async {}, rt.handle()).unwrap();
    /// // A task stays listed until its `JoinHandle` is dropped or awaited.
    /// let dump = rt.handle().dump();
    /// let info = dump.tasks().iter().find(|t| t.id() == bg.id()).unwrap();
    /// assert_eq!(info.priority(), Priority::Background);
    /// assert!(dump.to_string().contains(", class background"));
    /// ```
    pub fn priority(&self) -> crate::rt::task::Priority {
        self.priority
    }

    /// The name given with [`crate::task::Builder::name`], if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Where the task was spawned (the caller of `spawn`).
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// The task's state when it was copied.
    pub fn state(&self) -> TaskState {
        self.state
    }

    /// True for a task of a [`LocalSet`](crate::task::LocalSet) (spawned
    /// with `spawn_local`): it runs on the thread that drives the set, not
    /// on a worker. A local task leaves the dump when it completes (the set
    /// does not keep complete-but-unjoined tasks listed).
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// let local = weft::task::LocalSet::new();
    /// let (names, pending) = local.block_on(&rt, async {
    ///     let pending = weft::task::spawn_local(std::future::pending::<()>());
    ///     weft::task::yield_now().await; // let it start
    ///     let dump = weft::Handle::current().dump();
    ///     (dump.tasks().iter().filter(|t| t.is_local()).count(), pending)
    /// });
    /// assert_eq!(names, 1);
    /// # drop(pending);
    /// ```
    pub fn is_local(&self) -> bool {
        self.local
    }

    /// True if the task is leaked: it is [`Idle`](TaskState::Idle) and
    /// nothing can ever wake it, because no `Waker` of it exists (every
    /// reference to it is its `JoinHandle`'s, its
    /// [`AbortHandle`](crate::task::AbortHandle)s' or the runtime's task
    /// list's). Its future will never be polled again; only an abort or
    /// the runtime's shutdown can still end it, by dropping the future.
    /// What the check cannot see: [`TaskDump::leaked`].
    pub fn is_leaked(&self) -> bool {
        self.leaked
    }

    /// Time from the spawn to the capture.
    pub fn age(&self) -> Duration {
        ns_between(self.created_ns, self.captured_ns)
    }

    /// Polls started so far (including one running now).
    pub fn polls(&self) -> u64 {
        self.polls
    }

    /// Length of the last finished poll; `None` if no poll has finished
    /// (never polled, or the first poll is still running).
    pub fn last_poll_duration(&self) -> Option<Duration> {
        (self.last_poll_ns != 0).then(|| Duration::from_nanos(self.last_poll_ns))
    }

    /// Time from the start of the most recent poll to the capture; `None`
    /// if the task was never polled. For a task in a long poll this is how
    /// long that poll has been running.
    pub fn since_last_poll(&self) -> Option<Duration> {
        (self.last_poll_start_ns != 0).then(|| ns_between(self.last_poll_start_ns, self.captured_ns))
    }

    /// Why the task waits, if it is idle and has been polled: the kind and
    /// await site of the weft future that last returned `Pending` in its
    /// poll (see [`TaskWait`]). `None` for a task that is scheduled,
    /// running or complete, or was never polled.
    pub fn wait(&self) -> Option<TaskWait> {
        if self.state != TaskState::Idle {
            return None;
        }
        let kind = WaitKind::from_code(self.wait.kind())?;
        Some(TaskWait { kind, site: sites::site(self.wait.site()), duration: self.unpolled_for() })
    }

    /// For a scheduled task whose notification was one of the sampled ones
    /// (one in 32 per thread, for the schedule-latency histogram), how long
    /// it has waited in a run queue; `None` otherwise.
    pub fn runnable_for(&self) -> Option<Duration> {
        if self.state != TaskState::Scheduled {
            return None;
        }
        let since = self.wait.runnable_since()?;
        let now = self.captured_ns >> STAMP_SHIFT;
        Some(Duration::from_nanos((now.wrapping_sub(since) & WAIT_STAMP_MASK) << STAMP_SHIFT))
    }

    /// `since_last_poll`, or the age of a task never polled.
    fn unpolled_for(&self) -> Duration {
        self.since_last_poll().unwrap_or_else(|| self.age())
    }
}

fn ns_between(from: u64, to: u64) -> Duration {
    Duration::from_nanos(to.saturating_sub(from))
}

/// Every live task of a runtime at one moment: from
/// [`Handle::dump`](crate::Handle::dump) or [`Runtime::dump`](crate::Runtime::dump).
///
/// A task is in the dump from its spawn until it completes, or, if its
/// `JoinHandle` still exists then, until the handle reads the output or is
/// dropped (state [`TaskState::Complete`]). The dump is taken while the
/// runtime keeps running (see [`TaskInfo`] for what that means for
/// consistency). `Display` prints a report grouped by state, wait kind and
/// await site (for idle tasks, see [`TaskInfo::wait`]), spawn location and
/// name, oldest group first, each group headed like Go's goroutine dump:
/// `12 tasks [mpsc recv, 7m12s] at src/conn.rs:88:21, spawned at src/server.rs:40:9`.
///
/// ```
/// use std::time::Duration;
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// let join = weft::task::Builder::new()
///     .name("leaky")
///     .spawn_on(std::future::pending::<()>(), rt.handle())
///     .unwrap();
/// let dump = rt.dump();
/// let task = dump.tasks().iter().find(|t| t.id() == join.id()).unwrap();
/// assert_eq!(task.name(), Some("leaky"));
/// assert_eq!(task.location().file(), file!());
/// // Filters return a new dump; here nothing is a day old yet.
/// assert!(dump.older_than(Duration::from_secs(86400)).is_empty());
/// println!("{dump}");
/// ```
#[derive(Clone, Debug)]
pub struct TaskDump {
    tasks: Vec<TaskInfo>,
    captured_at: SystemTime,
    took: Duration,
}

impl TaskDump {
    /// Walks `owned` shard by shard (see the module doc).
    /// Then walks each `LocalSet`'s list in `locals` the same way, marking
    /// those tasks local.
    pub(crate) fn capture<'a>(owned: &OwnedTasks, locals: impl Iterator<Item = &'a OwnedTasks>) -> TaskDump {
        let captured_at = SystemTime::now();
        let start = clock::now_ns();
        let mut tasks: Vec<TaskInfo> = Vec::new();
        owned.copy_all(&mut tasks, |h| TaskInfo::copy(h, false));
        for list in locals {
            list.copy_all(&mut tasks, |h| TaskInfo::copy(h, true));
        }
        let captured_ns = clock::now_ns();
        for t in &mut tasks {
            t.captured_ns = captured_ns;
        }
        TaskDump { tasks, captured_at, took: ns_between(start, captured_ns) }
    }

    /// Counts the leaked tasks of `owned` and of each list in `locals`
    /// (`TaskInfo::is_leaked`) with the same walk as `capture`, copying
    /// nothing: one load of each listed task's state word under its
    /// shard's lock.
    pub(crate) fn count_leaked<'a>(
        owned: &OwnedTasks,
        locals: impl Iterator<Item = &'a OwnedTasks>,
    ) -> usize {
        // Under the shard lock of a linked task (docs/design/dump.md, "Leaks").
        let leaked = |h: &Header| h.state.load().is_leaked_if_listed();
        owned.count(leaked) + locals.map(|l| l.count(leaked)).sum::<usize>()
    }

    /// The tasks, in no particular order.
    pub fn tasks(&self) -> &[TaskInfo] {
        &self.tasks
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// True if the dump holds no task.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Wall-clock time at which the capture started.
    pub fn captured_at(&self) -> SystemTime {
        self.captured_at
    }

    /// How long the capture (the walk of the task list) took.
    pub fn capture_duration(&self) -> Duration {
        self.took
    }

    /// The tasks for which `keep` is true, as a new dump.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// let _a = weft::task::Builder::new().name("conn-1").spawn_on(std::future::pending::<()>(), rt.handle()).unwrap();
    /// let _b = weft::task::Builder::new().name("timer").spawn_on(std::future::pending::<()>(), rt.handle()).unwrap();
    /// let conns = rt.dump().filter(|t| t.name().is_some_and(|n| n.starts_with("conn-")));
    /// assert_eq!(conns.len(), 1);
    /// ```
    pub fn filter(&self, mut keep: impl FnMut(&TaskInfo) -> bool) -> TaskDump {
        TaskDump {
            tasks: self.tasks.iter().filter(|t| keep(t)).cloned().collect(),
            captured_at: self.captured_at,
            took: self.took,
        }
    }

    /// Tasks spawned more than `d` before the capture.
    pub fn older_than(&self, d: Duration) -> TaskDump {
        self.filter(|t| t.age() > d)
    }

    /// Tasks whose last poll started more than `d` before the capture;
    /// a task never polled counts from its spawn. Finds leaked tasks (and
    /// tasks stuck in one long poll, whose last poll started long ago).
    pub fn not_polled_for(&self, d: Duration) -> TaskDump {
        self.filter(|t| t.unpolled_for() > d)
    }

    /// Idle tasks waiting on a weft future of kind `kind` (see
    /// [`TaskInfo::wait`]).
    ///
    /// ```
    /// use weft::task::WaitKind;
    ///
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// let dump = rt.dump();
    /// assert!(dump.waiting_on(WaitKind::MutexLock).is_empty());
    /// ```
    pub fn waiting_on(&self, kind: WaitKind) -> TaskDump {
        self.filter(|t| t.wait().is_some_and(|w| w.kind == kind))
    }

    /// Tasks in state `state`.
    pub fn with_state(&self, state: TaskState) -> TaskDump {
        self.filter(|t| t.state == state)
    }

    /// Leaked tasks ([`TaskInfo::is_leaked`]): idle tasks of which no
    /// `Waker` exists, so that their futures can never be polled again.
    ///
    /// The check has no false positives: a task reported leaked really
    /// can never be woken (its state word showed, in one read, that every
    /// reference to it is its `JoinHandle`'s, its `AbortHandle`s' or the
    /// task list's, and a new waker can only be cloned from an existing
    /// one or made by a poll). It misses tasks whose waker exists but will
    /// never be used: one held only by another leaked task (two tasks
    /// awaiting each other), or by a structure that nobody will touch or
    /// drop again (a channel kept alive only by a leaked task, a
    /// `static`). A task parked on a timer, a socket, a channel with a
    /// live peer or a `Notify` has its waker stored there and is never
    /// reported.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// let (polled_tx, polled) = std::sync::mpsc::channel();
    /// let forgotten = rt.spawn(async move {
    ///     polled_tx.send(()).unwrap();
    ///     // Pending, with its waker stored nowhere: nothing can wake it.
    ///     std::future::pending::<()>().await
    /// });
    /// polled.recv().unwrap(); // its first poll has started
    /// // Leaked once that poll has returned.
    /// let dump = loop {
    ///     let dump = rt.dump().leaked();
    ///     if !dump.is_empty() {
    ///         break dump;
    ///     }
    ///     std::thread::yield_now();
    /// };
    /// assert_eq!(dump.tasks()[0].id(), forgotten.id());
    /// println!("{dump}"); // "1 task [external, 1.2ms], spawned at ..., leaked"
    /// ```
    pub fn leaked(&self) -> TaskDump {
        self.filter(|t| t.leaked)
    }
}

impl fmt::Display for TaskDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        report::write(self, f)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// docs/design/dump.md, "Costs": the header with names, statistics and
    /// the complete-but-unjoined flag.
    #[test]
    fn header_size() {
        assert_eq!(std::mem::size_of::<Header>(), 72);
    }

    fn info(id: u64, state: TaskState, created: u64, last_start: u64, last_ns: u64) -> TaskInfo {
        TaskInfo {
            id: Id(id),
            priority: crate::rt::task::Priority::Normal,
            name: None,
            location: Location::caller(),
            state,
            polls: u64::from(last_start != 0),
            created_ns: created,
            last_poll_start_ns: last_start,
            last_poll_ns: last_ns,
            captured_ns: 1_000_000_001,
            local: false,
            leaked: false,
            wait: WaitWord::default(),
        }
    }

    #[test]
    fn durations_and_filters_follow_the_stamps() {
        let ms = 1_000_000;
        let dump = TaskDump {
            tasks: vec![
                // Spawned 900 ms before the capture, polled 100 ms later for 1 ms.
                info(1, TaskState::Idle, 100 * ms + 1, 200 * ms + 1, ms),
                // Spawned 50 ms before the capture, never polled.
                info(2, TaskState::Scheduled, 950 * ms + 1, 0, 0),
                // Spawned 900 ms before, in a poll that started 500 ms ago.
                info(3, TaskState::Running, 100 * ms + 1, 500 * ms + 1, 0),
                // A stamp after the capture's (read racily): saturates to 0.
                info(4, TaskState::Idle, 1_001 * ms, 1_001 * ms, 10),
            ],
            captured_at: SystemTime::UNIX_EPOCH,
            took: Duration::ZERO,
        };
        let t = &dump.tasks()[0];
        assert_eq!(t.age(), Duration::from_millis(900));
        assert_eq!(t.since_last_poll(), Some(Duration::from_millis(800)));
        assert_eq!(t.last_poll_duration(), Some(Duration::from_millis(1)));
        let t = &dump.tasks()[1];
        assert_eq!((t.polls(), t.since_last_poll(), t.last_poll_duration()), (0, None, None));
        assert_eq!(dump.tasks()[2].last_poll_duration(), None, "first poll still running");
        assert_eq!(dump.tasks()[3].age(), Duration::ZERO);

        let ids = |d: TaskDump| d.tasks().iter().map(|t| t.id().0).collect::<Vec<_>>();
        assert_eq!(ids(dump.older_than(Duration::from_millis(100))), [1, 3]);
        assert_eq!(ids(dump.not_polled_for(Duration::from_millis(600))), [1]);
        // The never-polled task counts from its spawn (50 ms).
        assert_eq!(ids(dump.not_polled_for(Duration::from_millis(40))), [1, 2, 3]);
        assert_eq!(ids(dump.not_polled_for(Duration::from_millis(60))), [1, 3]);
        assert_eq!(ids(dump.with_state(TaskState::Running)), [3]);
    }

    #[test]
    fn wait_and_runnable_for_decode_the_wait_word() {
        let site = sites::intern(Location::caller());
        let mut idle = info(1, TaskState::Idle, 1, 500_000_001, 0);
        idle.wait = WaitWord::from_parts(WaitKind::Notify as u8, site, None);
        let wait = idle.wait().unwrap();
        assert_eq!(wait.kind(), WaitKind::Notify);
        assert_eq!(wait.site().unwrap().line(), line!() - 5);
        assert_eq!(wait.duration(), Duration::from_millis(500));
        assert_eq!(idle.runnable_for(), None, "idle: not in a queue");

        // Queued 300 stamp units (of 2^STAMP_SHIFT ns) before the capture.
        let mut queued = info(2, TaskState::Scheduled, 1, 500_000_001, 0);
        let now = queued.captured_ns >> STAMP_SHIFT;
        queued.wait = WaitWord::from_parts(WaitKind::Notify as u8, site, Some(now - 300));
        assert_eq!(queued.runnable_for(), Some(Duration::from_nanos(300 << STAMP_SHIFT)));
        assert_eq!(queued.wait(), None, "scheduled: no longer waiting on the notify");
        // A stamp from before the 40-bit wrap still gives the difference.
        queued.wait = WaitWord::from_parts(0, 0, Some(WAIT_STAMP_MASK - 99));
        queued.captured_ns = 200 << STAMP_SHIFT;
        assert_eq!(queued.runnable_for(), Some(Duration::from_nanos(300 << STAMP_SHIFT)));
    }
}
