//! Unit tests of the pool with a toy job (the task side is tested in
//! `task.rs`).

use super::pool::{fail_spawn, Config, Job, Pool, PoolMetrics};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Records what happened to it: "run" or "cancel", and its id.
struct Probe {
    id: usize,
    log: Arc<Mutex<Vec<(usize, &'static str)>>>,
    /// Held until the test releases it (a job that "blocks").
    gate: Option<mpsc::Receiver<()>>,
    started: Option<mpsc::Sender<usize>>,
}

impl Job for Probe {
    fn run(self) {
        if let Some(tx) = &self.started {
            let _ = tx.send(self.id);
        }
        if let Some(gate) = &self.gate {
            let _ = gate.recv();
        }
        self.log.lock().unwrap().push((self.id, "run"));
    }

    fn cancel(self) {
        self.log.lock().unwrap().push((self.id, "cancel"));
    }
}

fn probe(id: usize, log: &Arc<Mutex<Vec<(usize, &'static str)>>>) -> Probe {
    Probe { id, log: log.clone(), gate: None, started: None }
}

fn pool(max: usize) -> Pool<Probe> {
    Pool::new(Config {
        max_threads: max,
        keep_alive: Duration::from_secs(30),
        stack_size: None,
        tokio_context: false,
    })
}

/// No thread alive and the spawn fails: the job is cancelled, not lost.
#[test]
fn spawn_failure_with_no_thread_alive_cancels() {
    let log = Arc::default();
    let p = pool(4);
    fail_spawn::next();
    p.spawn(probe(1, &log));
    assert_eq!(*log.lock().unwrap(), vec![(1, "cancel")]);
    assert_eq!(p.metrics(), PoolMetrics { threads: 0, idle: 0, queue_depth: 0 });
    // The pool still works afterwards.
    let (tx, rx) = mpsc::channel();
    p.spawn(Probe { started: Some(tx), ..probe(2, &log) });
    assert_eq!(rx.recv().unwrap(), 2);
    p.begin_shutdown();
    assert!(p.wait_threads(None));
    assert_eq!(*log.lock().unwrap(), vec![(1, "cancel"), (2, "run")]);
}

/// A thread is alive (busy) and spawning a second one fails: the job waits
/// for the busy thread and runs after it.
#[test]
fn spawn_failure_with_a_busy_thread_waits_for_it() {
    let log = Arc::default();
    let p = pool(4);
    let (started_tx, started) = mpsc::channel();
    let (release, gate) = mpsc::channel();
    p.spawn(Probe { gate: Some(gate), started: Some(started_tx), ..probe(1, &log) });
    assert_eq!(started.recv().unwrap(), 1);
    fail_spawn::next();
    p.spawn(probe(2, &log));
    assert_eq!(p.metrics(), PoolMetrics { threads: 1, idle: 0, queue_depth: 1 });
    release.send(()).unwrap();
    // Job 2 runs on the first thread; wait for it through the log.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while log.lock().unwrap().len() < 2 {
        assert!(std::time::Instant::now() < deadline, "job 2 never ran");
        std::thread::yield_now();
    }
    assert_eq!(*log.lock().unwrap(), vec![(1, "run"), (2, "run")]);
    p.begin_shutdown();
    assert!(p.wait_threads(None));
}

/// Shutdown cancels the queue in order, a spawn after it is cancelled on
/// the spot, and the running job finishes.
#[test]
fn shutdown_cancels_queued_and_later_jobs() {
    let log = Arc::default();
    let p = pool(1);
    let (started_tx, started) = mpsc::channel();
    let (release, gate) = mpsc::channel();
    p.spawn(Probe { gate: Some(gate), started: Some(started_tx), ..probe(1, &log) });
    assert_eq!(started.recv().unwrap(), 1);
    p.spawn(probe(2, &log));
    p.spawn(probe(3, &log));
    p.begin_shutdown();
    p.spawn(probe(4, &log));
    assert_eq!(*log.lock().unwrap(), vec![(2, "cancel"), (3, "cancel"), (4, "cancel")]);
    let soon = std::time::Instant::now() + Duration::from_millis(50);
    assert!(!p.wait_threads(Some(soon)), "job 1 still runs");
    release.send(()).unwrap();
    assert!(p.wait_threads(None));
    assert_eq!(log.lock().unwrap().last(), Some(&(1, "run")));
    assert_eq!(p.metrics(), PoolMetrics { threads: 0, idle: 0, queue_depth: 0 });
}
