//! The blocking pool's protocol (`src/rt/blocking/pool.rs`,
//! docs/design/blocking.md), modelled directly with a toy job: a spawn
//! racing an idle thread's wake-up, its keep-alive exit, and shutdown.
//!
//! Checked in every interleaving: each job is run or cancelled exactly once
//! (never both, never neither), a job spawned after shutdown began is
//! cancelled, no pool thread is left behind (`wait_threads(None)` returns
//! and loom's leak checker sees the pool's `Arc` freed), and nobody waits
//! forever (a lost wake-up shows up as loom's "deadlock").
//!
//! Keep-alive under loom: there is no clock, so a "clock" thread of the
//! model calls `Pool::expire_keep_alive`, after which every idle wait has
//! timed out; loom places that call anywhere in the interleaving, which
//! covers a keep-alive ending before, during and after a spawn.

use super::{model, model_min_preemptions, Counter, Outcomes};
use crate::loom::sync::atomic::{AtomicBool, Ordering::Acquire, Ordering::Release};
use crate::loom::sync::{Arc, Condvar, Mutex};
use crate::rt::blocking::pool::{Config, Job, Pool};
use loom::thread;
use std::time::Duration;

/// What happened to one job: its runs and cancellations.
#[derive(Clone, Default)]
struct Fate {
    runs: Counter,
    cancels: Counter,
}

impl Fate {
    fn assert_once(&self, what: &str) {
        assert_eq!(
            self.runs.get() + self.cancels.get(),
            1,
            "{what}: run {} and cancelled {} times",
            self.runs.get(),
            self.cancels.get()
        );
    }
}

/// Jobs finished so far (run or cancelled), for the main thread to wait on
/// with loom's condvar (a lost job then deadlocks the model).
struct Done {
    count: Mutex<usize>,
    cv: Condvar,
}

impl Done {
    fn new() -> Arc<Done> {
        Arc::new(Done { count: Mutex::new(0), cv: Condvar::new() })
    }

    fn finish(&self) {
        *self.count.lock() += 1;
        self.cv.notify_all();
    }

    fn wait_for(&self, n: usize) {
        let mut count = self.count.lock();
        while *count < n {
            count = self.cv.wait(count);
        }
    }
}

struct ToyJob {
    fate: Fate,
    done: Arc<Done>,
    /// Which pool thread ran it ("weft-blocking-0" or "-1").
    ran_on: Option<Outcomes>,
}

impl Job for ToyJob {
    fn run(self) {
        self.fate.runs.incr();
        if let Some(seen) = &self.ran_on {
            match thread::current().name() {
                Some("weft-blocking-0") => seen.saw("ran on the first thread"),
                _ => seen.saw("ran on a new thread"),
            }
        }
        self.done.finish();
    }

    fn cancel(self) {
        self.fate.cancels.incr();
        self.done.finish();
    }
}

fn pool(max_threads: usize) -> Pool<ToyJob> {
    Pool::new(Config {
        max_threads,
        keep_alive: Duration::from_secs(1),
        stack_size: None,
        tokio_context: false,
    })
}

/// One thread; the first job runs, the thread goes idle, and the second
/// spawn races the keep-alive: it claims the idle thread (which runs it),
/// or finds the thread gone (or leaving) and spawns a new one. Then
/// shutdown. Both jobs run exactly once; none is lost (main waits for each).
#[test]
fn spawn_races_idle_wake_and_keep_alive_exit() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(3, move || {
        let pool = pool(1);
        let done = Done::new();
        let clock = {
            let pool = pool.clone();
            thread::spawn(move || pool.expire_keep_alive())
        };
        let first = Fate::default();
        pool.spawn(ToyJob { fate: first.clone(), done: done.clone(), ran_on: None });
        done.wait_for(1);
        let second = Fate::default();
        pool.spawn(ToyJob { fate: second.clone(), done: done.clone(), ran_on: Some(seen.clone()) });
        done.wait_for(2);
        clock.join().unwrap();
        pool.begin_shutdown();
        assert!(pool.wait_threads(None));
        first.assert_once("first job");
        second.assert_once("second job");
        assert_eq!(first.runs.get() + second.runs.get(), 2, "a job was cancelled without shutdown");
    });
    outcomes.assert_all_seen(&["ran on the first thread", "ran on a new thread"]);
}

/// Two jobs spawned from another thread race shutdown (and a keep-alive
/// that has ended): each is run or cancelled exactly once; a job spawned
/// after the spawner saw shutdown begin is cancelled.
#[test]
fn spawn_races_shutdown() {
    let outcomes = Outcomes::default();
    let seen = outcomes.clone();
    model_min_preemptions(4, move || {
        let pool = pool(1);
        let done = Done::new();
        let began = Arc::new(AtomicBool::new(false));
        let fates: Vec<Fate> = (0..3).map(|_| Fate::default()).collect();
        let spawner = {
            let (pool, done, began, fates) = (pool.clone(), done.clone(), began.clone(), fates.clone());
            thread::spawn(move || {
                pool.spawn(ToyJob { fate: fates[0].clone(), done: done.clone(), ran_on: None });
                pool.spawn(ToyJob { fate: fates[1].clone(), done: done.clone(), ran_on: None });
                // Acquire: pairs with the Release store after begin_shutdown.
                let after = began.load(Acquire);
                if after {
                    pool.spawn(ToyJob { fate: fates[2].clone(), done: done.clone(), ran_on: None });
                }
                after
            })
        };
        pool.begin_shutdown();
        began.store(true, Release);
        let spawned_after = spawner.join().unwrap();
        // Every thread has exited and cancellations are synchronous: each
        // job's fate is settled (no waiting on `done`, so a lost job fails
        // the assertion below rather than deadlocking).
        assert!(pool.wait_threads(None));
        for (i, fate) in fates.iter().enumerate().take(2) {
            fate.assert_once(["job 0", "job 1"][i]);
            seen.saw(if fate.runs.get() == 1 { "a job ran" } else { "a job was cancelled" });
        }
        if spawned_after {
            assert_eq!(
                (fates[2].runs.get(), fates[2].cancels.get()),
                (0, 1),
                "spawned after shutdown, yet not cancelled"
            );
            seen.saw("spawned after shutdown");
        }
    });
    outcomes.assert_all_seen(&["a job ran", "a job was cancelled", "spawned after shutdown"]);
}

/// Two threads allowed; two jobs back to back while the first thread may
/// be idle, exiting on its keep-alive, or still busy, with shutdown after
/// both jobs finished: the claim bookkeeping (`num_idle`, `num_notify`)
/// never strands a job, and every thread exits.
#[test]
fn two_spawns_race_keep_alive_with_two_threads() {
    model(|| {
        let pool = pool(2);
        let done = Done::new();
        let clock = {
            let pool = pool.clone();
            thread::spawn(move || pool.expire_keep_alive())
        };
        let fates: Vec<Fate> = (0..2).map(|_| Fate::default()).collect();
        for fate in &fates {
            pool.spawn(ToyJob { fate: fate.clone(), done: done.clone(), ran_on: None });
        }
        done.wait_for(2);
        clock.join().unwrap();
        pool.begin_shutdown();
        assert!(pool.wait_threads(None));
        for fate in &fates {
            assert_eq!((fate.runs.get(), fate.cancels.get()), (1, 0));
        }
    });
}
