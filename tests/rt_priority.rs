//! Priority classes: the class a task runs in (kept across wakes, inherited
//! from a Background parent only, overridden by an explicit class), the
//! weighted pick's shares, no starvation of Background work, the
//! background-worker cap, and a mixed-class stress.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use weft::task::{self, Builder, JoinSet, LocalSet, Priority};
use weft::Runtime;

fn runtime(workers: usize) -> Runtime {
    Runtime::builder().worker_threads(workers).build().unwrap()
}

fn spawn_class<F>(class: Priority, fut: F) -> weft::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Builder::new().priority(class).spawn(fut).unwrap()
}

/// A one-waiter gate: `wait` completes once `open` has been called after
/// the waiter registered.
#[derive(Default)]
struct Gate {
    open: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Gate {
    /// Opens the gate if a waiter is registered; returns whether it did.
    fn try_open(&self) -> bool {
        let waker = self.waker.lock().unwrap().take();
        match waker {
            Some(w) => {
                self.open.store(true, SeqCst);
                w.wake();
                true
            }
            None => false,
        }
    }

    fn wait(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx: &mut Context<'_>| {
            if self.open.swap(false, SeqCst) {
                return Poll::Ready(());
            }
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        })
    }
}

#[test]
fn a_background_task_stays_background_across_100_wakes() {
    let rt = runtime(2);
    let gate = Arc::new(Gate::default());
    let polls_seen = Arc::new(Mutex::new(Vec::new()));
    let bg = {
        let (gate, seen) = (gate.clone(), polls_seen.clone());
        Builder::new()
            .priority(Priority::Background)
            .spawn_on(
                async move {
                    for i in 0..100 {
                        // Half the wakes come through yield_now (the
                        // task's own queue), half through the gate.
                        if i % 2 == 0 {
                            task::yield_now().await;
                        } else {
                            gate.wait().await;
                        }
                        seen.lock().unwrap().push(task::current_priority());
                    }
                },
                rt.handle(),
            )
            .unwrap()
    };
    // The gate is opened from a worker task (a wake on a worker) and from
    // this thread (a wake from outside), alternately.
    let opener = {
        let gate = gate.clone();
        rt.spawn(async move {
            let mut opened = 0;
            while opened < 25 {
                if gate.try_open() {
                    opened += 1;
                }
                task::yield_now().await;
            }
        })
    };
    let mut opened = 0;
    while opened < 25 {
        if gate.try_open() {
            opened += 1;
        }
        std::thread::yield_now();
    }
    rt.block_on(opener).unwrap();
    rt.block_on(bg).unwrap();
    let seen = polls_seen.lock().unwrap();
    assert_eq!(seen.len(), 100);
    assert!(seen.iter().all(|p| *p == Some(Priority::Background)), "{seen:?}");
}

#[test]
fn background_is_inherited_and_critical_is_not() {
    let rt = runtime(2);
    let (from_bg, from_crit, from_normal) = rt.block_on(async {
        let from_bg = spawn_class(Priority::Background, async {
            // Both spawn paths: weft::spawn and an unclassed Builder.
            let a = weft::spawn(async { task::current_priority() }).await.unwrap();
            let b = Builder::new().spawn(async { task::current_priority() }).unwrap().await.unwrap();
            // A grandchild stays in the background too.
            let c = weft::spawn(async { weft::spawn(async { task::current_priority() }).await.unwrap() })
                .await
                .unwrap();
            (a, b, c)
        });
        let from_crit = spawn_class(Priority::Critical, async {
            let a = weft::spawn(async { task::current_priority() }).await.unwrap();
            let b = Builder::new().spawn(async { task::current_priority() }).unwrap().await.unwrap();
            (a, b)
        });
        let from_normal =
            weft::spawn(async { weft::spawn(async { task::current_priority() }).await.unwrap() });
        (from_bg.await.unwrap(), from_crit.await.unwrap(), from_normal.await.unwrap())
    });
    let bg = Some(Priority::Background);
    assert_eq!(from_bg, (bg, bg, bg));
    assert_eq!(from_crit, (Some(Priority::Normal), Some(Priority::Normal)));
    assert_eq!(from_normal, Some(Priority::Normal));
}

#[test]
fn an_explicit_class_wins_over_inheritance() {
    let rt = runtime(2);
    let got = rt.block_on(async {
        spawn_class(Priority::Background, async {
            let crit = spawn_class(Priority::Critical, async { task::current_priority() }).await.unwrap();
            let normal = spawn_class(Priority::Normal, async { task::current_priority() }).await.unwrap();
            (crit, normal)
        })
        .await
        .unwrap()
    });
    assert_eq!(got, (Some(Priority::Critical), Some(Priority::Normal)));
}

#[test]
fn joinset_spawn_with_takes_the_builders_class() {
    let rt = runtime(2);
    let mut got = rt.block_on(async {
        let mut set = JoinSet::new();
        for class in [Priority::Critical, Priority::Normal, Priority::Background] {
            set.spawn_with(Builder::new().priority(class), async move { (class, task::current_priority()) })
                .unwrap();
        }
        let mut got = Vec::new();
        while let Some(r) = set.join_next().await {
            got.push(r.unwrap());
        }
        got
    });
    got.sort_by_key(|(c, _)| c.to_string());
    for (class, seen) in &got {
        assert_eq!(Some(*class), *seen);
    }
    assert_eq!(got.len(), 3);
}

#[test]
fn local_set_tasks_and_blocking_closures_are_normal() {
    let rt = runtime(1);
    let local = LocalSet::new();
    let in_local = rt.block_on(
        local.run_until(async { task::spawn_local(async { task::current_priority() }).await.unwrap() }),
    );
    assert_eq!(in_local, Some(Priority::Normal));
    let in_blocking = rt.block_on(async {
        spawn_class(Priority::Background, async {
            task::spawn_blocking(task::current_priority).await.unwrap()
        })
        .await
        .unwrap()
    });
    assert_eq!(in_blocking, Some(Priority::Normal));
}

#[test]
fn on_one_worker_every_13_picks_follow_the_shares() {
    let rt = runtime(1);
    let order = Arc::new(Mutex::new(Vec::new()));
    let spawner = {
        let order = order.clone();
        rt.spawn(async move {
            // All queued during one poll, so the worker's picks after it
            // see work of every class.
            let mut joins = Vec::new();
            for _ in 0..30 {
                for class in [Priority::Background, Priority::Normal, Priority::Critical] {
                    let order = order.clone();
                    joins.push(spawn_class(class, async move {
                        order.lock().unwrap().push(task::current_priority().unwrap());
                    }));
                }
            }
            joins
        })
    };
    let joins = rt.block_on(spawner).unwrap();
    rt.block_on(async {
        for j in joins {
            j.await.unwrap();
        }
    });
    let order = order.lock().unwrap();
    assert_eq!(order.len(), 90);
    // In the first 39 picks no class runs dry (8/13 of 39 is 24 critical
    // tasks out of 30), so every window of 13 has exactly the shares.
    for start in 0..=(39 - 13) {
        let mut counts = [0; 3];
        for p in &order[start..start + 13] {
            counts[match p {
                Priority::Critical => 0,
                Priority::Normal => 1,
                _ => 2,
            }] += 1;
        }
        assert_eq!(counts, [8, 4, 1], "picks {start}..{}: {:?}", start + 13, &order[start..start + 13]);
    }
}

#[test]
fn background_work_completes_while_critical_tasks_saturate_every_worker() {
    const BACKGROUND: usize = 200;
    let rt = runtime(2);
    let done = Arc::new(AtomicBool::new(false));
    let runs: Arc<Vec<AtomicUsize>> = Arc::new((0..BACKGROUND).map(|_| AtomicUsize::new(0)).collect());
    let finished = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        // The critical load: more self-rescheduling tasks than workers,
        // each yielding until every background task has run.
        let mut crit = Vec::new();
        for _ in 0..8 {
            let done = done.clone();
            crit.push(spawn_class(Priority::Critical, async move {
                while !done.load(SeqCst) {
                    task::yield_now().await;
                }
            }));
        }
        let bg_task = |i: usize| {
            let (runs, finished, done) = (runs.clone(), finished.clone(), done.clone());
            async move {
                runs[i].fetch_add(1, SeqCst);
                if finished.fetch_add(1, SeqCst) + 1 == BACKGROUND {
                    done.store(true, SeqCst);
                }
            }
        };
        // Half from outside the workers (the Background injector), half
        // from a critical task (its worker's Background queue; the child
        // has an explicit class, so nothing is inherited).
        for i in 0..BACKGROUND / 2 {
            spawn_class(Priority::Background, bg_task(i));
        }
        let inner: Vec<_> = (BACKGROUND / 2..BACKGROUND).map(bg_task).collect();
        spawn_class(Priority::Critical, async move {
            for f in inner {
                spawn_class(Priority::Background, f);
            }
        })
        .await
        .unwrap();
        for c in crit {
            c.await.unwrap();
        }
    });
    assert_eq!(finished.load(SeqCst), BACKGROUND);
    for (i, r) in runs.iter().enumerate() {
        assert_eq!(r.load(SeqCst), 1, "background task {i}");
    }
}

#[test]
fn with_background_workers_1_at_most_one_background_task_polls_at_a_time() {
    let rt = Runtime::builder().worker_threads(2).background_workers(1).build().unwrap();
    let polling = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let completed = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let mut joins = Vec::new();
        for i in 0..64 {
            let (polling, max, completed) = (polling.clone(), max.clone(), completed.clone());
            let class = if i % 4 == 0 { Priority::Normal } else { Priority::Background };
            joins.push(spawn_class(class, async move {
                for _ in 0..4 {
                    if class == Priority::Background {
                        let now = polling.fetch_add(1, SeqCst) + 1;
                        max.fetch_max(now, SeqCst);
                        // Long enough for the other worker to pick a task
                        // meanwhile (no verdict rests on it).
                        for _ in 0..20_000 {
                            std::hint::spin_loop();
                        }
                        polling.fetch_sub(1, SeqCst);
                    }
                    task::yield_now().await;
                }
                completed.fetch_add(1, SeqCst);
            }));
        }
        for j in joins {
            j.await.unwrap();
        }
    });
    assert_eq!(completed.load(SeqCst), 64);
    assert_eq!(max.load(SeqCst), 1);
}

#[test]
fn bad_background_worker_caps_are_build_errors() {
    for n in [0, 3] {
        let err = Runtime::builder().worker_threads(2).background_workers(n).build().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "background_workers({n})");
        assert!(err.to_string().contains("background_workers"), "{err}");
    }
    assert!(Runtime::builder().worker_threads(2).background_workers(2).build().is_ok());
}

/// Counts its drops and its completion.
struct Tracked {
    drops: Arc<AtomicUsize>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

struct YieldTwice {
    left: u8,
}

impl Future for YieldTwice {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.left == 0 {
            return Poll::Ready(());
        }
        self.left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn stress_mixed_classes_every_task_completes_and_drops_once() {
    const PARENTS: usize = 40;
    const CHILDREN: usize = 25;
    let rt = Runtime::builder().worker_threads(2).background_workers(1).build().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let completions = Arc::new(AtomicUsize::new(0));
    let classes = [Priority::Critical, Priority::Normal, Priority::Background];
    rt.block_on(async {
        let mut parents = Vec::new();
        for p in 0..PARENTS {
            let (drops, completions) = (drops.clone(), completions.clone());
            parents.push(spawn_class(classes[p % 3], async move {
                let mut children = Vec::new();
                for c in 0..CHILDREN {
                    let tracked = Tracked { drops: drops.clone() };
                    let completions = completions.clone();
                    let fut = async move {
                        let _tracked = tracked;
                        YieldTwice { left: 2 }.await;
                        completions.fetch_add(1, SeqCst);
                    };
                    // A third of the children inherit, the rest choose.
                    children.push(if c % 3 == 0 {
                        weft::spawn(fut)
                    } else {
                        spawn_class(classes[c % 3], fut)
                    });
                }
                for c in children {
                    c.await.unwrap();
                }
            }));
        }
        for p in parents {
            p.await.unwrap();
        }
    });
    // Every child's future (and so its `Tracked`) was dropped when its
    // JoinHandle completed, which the parents awaited.
    assert_eq!(completions.load(SeqCst), PARENTS * CHILDREN);
    assert_eq!(drops.load(SeqCst), PARENTS * CHILDREN);
}

#[test]
fn metrics_count_polls_by_class_and_prometheus_labels_them() {
    let rt = runtime(1);
    rt.block_on(async {
        let mut joins = Vec::new();
        for i in 0..15 {
            let class = if i < 10 { Priority::Background } else { Priority::Critical };
            joins.push(spawn_class(class, async {}));
        }
        for j in joins {
            j.await.unwrap();
        }
    });
    // The worker publishes its counters when it parks, after the last
    // task: wait for that (the deadline only guards against a hang).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let m = loop {
        let m = rt.metrics();
        if m.polls_by_class(Priority::Background) == 10 && m.polls_by_class(Priority::Critical) == 5 {
            break m;
        }
        assert!(std::time::Instant::now() < deadline, "counters never reached 10 and 5");
        std::thread::yield_now();
    };
    assert_eq!(m.queue_depth_by_class(Priority::Background), 0);
    let text = m.to_prometheus();
    assert!(text.lines().any(|l| l == r#"weft_task_polls_total{class="background"} 10"#), "{text}");
    assert!(text.lines().any(|l| l == r#"weft_task_polls_total{class="critical"} 5"#), "{text}");
}

#[test]
fn schedule_latency_samples_are_split_by_class() {
    // One worker, no monitor: every spawn below is queued by this thread
    // (one notification in 32 is stamped) and polled by the worker.
    let rt = Runtime::builder().worker_threads(1).stall_threshold(None).build().unwrap();
    let wanted = |m: &weft::metrics::RuntimeMetrics| {
        m.schedule_latency_histogram_by_class(Priority::Critical).total_count() >= 4
            && m.schedule_latency_histogram_by_class(Priority::Background).total_count() >= 4
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let m = loop {
        let m = rt.metrics();
        if wanted(&m) {
            break m;
        }
        assert!(std::time::Instant::now() < deadline, "never got 4 samples of each class");
        // A batch of each class, spawned from outside the runtime (one
        // class after the other: alternating them would put every 32nd
        // notification, the sampled one, on the same class); their
        // completion is awaited so the next batch finds them counted.
        let batch: Vec<_> = [Priority::Critical, Priority::Background]
            .iter()
            .flat_map(|&class| (0..64).map(move |_| class))
            .map(|class| Builder::new().priority(class).spawn_on(async {}, rt.handle()).unwrap())
            .collect();
        for j in batch {
            rt.block_on(j).unwrap();
        }
    };
    // The classes partition the samples: their counts and sums add up to
    // the all-class histogram's, in one snapshot.
    let total = m.schedule_latency_histogram();
    let parts: Vec<_> = [Priority::Critical, Priority::Normal, Priority::Background]
        .iter()
        .map(|&c| m.schedule_latency_histogram_by_class(c))
        .collect();
    assert_eq!(parts.iter().map(|h| h.total_count()).sum::<u64>(), total.total_count());
    assert_eq!(parts.iter().map(|h| h.sum()).sum::<std::time::Duration>(), total.sum());
    let text = m.to_prometheus();
    let critical = parts[0].total_count();
    let line = format!(r#"weft_class_schedule_latency_seconds_count{{class="critical"}} {critical}"#);
    assert!(text.lines().any(|l| l == line), "{line} not in {text}");
}

#[test]
fn the_dump_shows_the_class_of_non_normal_tasks() {
    let rt = runtime(1);
    let gate = Arc::new(Gate::default());
    let waiting = {
        let gate = gate.clone();
        Builder::new()
            .name("compaction")
            .priority(Priority::Background)
            .spawn_on(async move { gate.wait().await }, rt.handle())
            .unwrap()
    };
    let dump = rt.handle().dump();
    let info = dump.tasks().iter().find(|t| t.id() == waiting.id()).unwrap();
    assert_eq!(info.priority(), Priority::Background);
    let text = dump.to_string();
    let header = text.lines().find(|l| l.contains("compaction")).unwrap();
    assert!(header.ends_with(", class background"), "{text}");
    assert!(!text.contains("class normal"), "{text}");
    while !gate.try_open() {
        std::thread::yield_now();
    }
    rt.block_on(waiting).unwrap();
}
