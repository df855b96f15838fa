//! Task cells of up to 1,024 bytes are recycled (`Builder::task_cell_cache`,
//! docs/design/task.md, "Cell cache"). These tests spawn tasks whose
//! futures and outputs are big enough to be cached, from outside threads
//! and from tasks, across runtimes and with the cache on and off, and check
//! that every task runs exactly once, every future and every output is
//! dropped exactly once, and no task sees another's bytes (a recycled cell
//! handed out twice, or while still in use, would show up as a wrong
//! payload or a double drop). Run them under AddressSanitizer to catch a
//! use after free (docs/testing.md).

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use weft::Runtime;

/// Counts drops of whatever holds one.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A payload of `N` bytes that all equal the task's tag.
fn payload<const N: usize>(tag: usize) -> [u8; N] {
    [tag as u8; N]
}

fn check<const N: usize>(bytes: &[u8; N], tag: usize) {
    assert!(bytes.iter().all(|&b| b == tag as u8), "task {tag} sees another task's bytes");
}

fn runtime(workers: usize, cache: bool) -> Runtime {
    Runtime::builder().worker_threads(workers).task_cell_cache(cache).build().unwrap()
}

/// Spawns `per_thread` tasks from each of `threads` outside threads, each
/// task spawning a partner of another size; joins all of them from the
/// spawning thread. Checks runs, drops and payloads.
fn remote_and_local_storm(rt: &Runtime, threads: usize, per_thread: usize) {
    let n = threads * per_thread;
    let ran: Arc<Vec<AtomicU8>> = Arc::new((0..n).map(|_| AtomicU8::new(0)).collect());
    let futures_dropped = Arc::new(AtomicUsize::new(0));
    let outputs_dropped = Arc::new(AtomicUsize::new(0));
    thread::scope(|s| {
        for t in 0..threads {
            let (ran, futures_dropped, outputs_dropped) =
                (ran.clone(), futures_dropped.clone(), outputs_dropped.clone());
            s.spawn(move || {
                let joins: Vec<_> = (0..per_thread)
                    .map(|i| {
                        let tag = t * per_thread + i;
                        let (ran, fd, od) = (ran.clone(), futures_dropped.clone(), outputs_dropped.clone());
                        let bytes = payload::<200>(tag);
                        let guard = DropCount(fd.clone());
                        rt.spawn(async move {
                            let _guard = guard;
                            check(&bytes, tag);
                            // A partner of another class (about 600 bytes),
                            // spawned on a worker and joined there.
                            let partner_bytes = payload::<600>(tag);
                            let partner_guard = DropCount(fd.clone());
                            let od2 = od.clone();
                            let partner = weft::spawn(async move {
                                let _g = partner_guard;
                                weft::task::yield_now().await;
                                check(&partner_bytes, tag);
                                (payload::<300>(tag), DropCount(od2))
                            });
                            let (out, out_guard) = partner.await.unwrap();
                            check(&out, tag);
                            drop(out_guard);
                            assert_eq!(ran[tag].fetch_add(1, Ordering::Relaxed), 0, "task {tag} ran twice");
                            (payload::<250>(tag), DropCount(od))
                        })
                    })
                    .collect();
                for (i, join) in joins.into_iter().enumerate() {
                    let (out, guard) = rt.block_on(join).unwrap();
                    check(&out, t * per_thread + i);
                    drop(guard);
                }
            });
        }
    });
    for (tag, flag) in ran.iter().enumerate() {
        assert_eq!(flag.load(Ordering::Relaxed), 1, "task {tag} did not run exactly once");
    }
    // Two futures and two outputs per task.
    assert_eq!(futures_dropped.load(Ordering::Relaxed), 2 * n);
    assert_eq!(outputs_dropped.load(Ordering::Relaxed), 2 * n);
}

#[test]
fn big_tasks_from_four_outside_threads_each_run_and_drop_once() {
    let rt = runtime(2, true);
    remote_and_local_storm(&rt, 4, 20_000);
}

/// Small cells (within glibc's fast bins, cached since 2026-12-05) in
/// bursts from several threads, spawned from outside and from tasks,
/// detached and joined: each runs once and is dropped once, with its own
/// bytes, across bursts that reuse the previous burst's cells.
#[test]
fn small_tasks_in_bursts_each_run_and_drop_once() {
    let rt = runtime(2, true);
    for burst in 0..4 {
        let ran: Arc<Vec<AtomicU8>> = Arc::new((0..40_000).map(|_| AtomicU8::new(0)).collect());
        let dropped = Arc::new(AtomicUsize::new(0));
        thread::scope(|s| {
            for t in 0..4 {
                let (ran, dropped, rt) = (ran.clone(), dropped.clone(), &rt);
                s.spawn(move || {
                    let mut joins = Vec::new();
                    for i in 0..10_000 {
                        let tag = t * 10_000 + i;
                        let (ran, guard) = (ran.clone(), DropCount(dropped.clone()));
                        let bytes = payload::<8>(tag + burst);
                        let h = rt.spawn(async move {
                            let _guard = guard;
                            check(&bytes, tag + burst);
                            assert_eq!(ran[tag].fetch_add(1, Ordering::Relaxed), 0, "task {tag} ran twice");
                            payload::<8>(tag)
                        });
                        if i % 2 == 0 {
                            joins.push((tag, h));
                        }
                    }
                    for (tag, h) in joins {
                        check(&rt.block_on(h).unwrap(), tag);
                    }
                });
            }
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while rt.metrics().num_alive_tasks() != 0 {
            assert!(std::time::Instant::now() < deadline, "detached tasks never finished");
            thread::yield_now();
        }
        for (tag, flag) in ran.iter().enumerate() {
            assert_eq!(flag.load(Ordering::Relaxed), 1, "burst {burst}: task {tag} did not run exactly once");
        }
        assert_eq!(dropped.load(Ordering::Relaxed), 40_000, "burst {burst}");
    }
}

#[test]
fn big_tasks_with_the_cache_off_each_run_and_drop_once() {
    let rt = runtime(2, false);
    remote_and_local_storm(&rt, 4, 5_000);
}

#[test]
fn cells_move_between_runtimes_and_survive_their_drop() {
    // Cells freed on this thread for one runtime serve the next; each
    // runtime's depot is freed with it while other runtimes go on.
    for round in 0..6 {
        let rt = runtime(1 + round % 3, round % 2 == 0 || round == 5);
        remote_and_local_storm(&rt, 2, 2_000);
        drop(rt);
    }
}

#[test]
fn detached_big_tasks_dropped_at_shutdown_are_dropped_once() {
    let rt = runtime(2, true);
    let dropped = Arc::new(AtomicUsize::new(0));
    let n = 10_000;
    for tag in 0..n {
        let guard = DropCount(dropped.clone());
        let bytes = payload::<400>(tag);
        // Pending forever: cancelled by shutdown, their cells freed then.
        drop(rt.spawn(async move {
            let _g = guard;
            check(&bytes, tag);
            std::future::pending::<()>().await;
        }));
    }
    drop(rt);
    assert_eq!(dropped.load(Ordering::Relaxed), n);
}

#[test]
fn a_panicking_big_task_frees_its_cell_and_drops_once() {
    let rt = runtime(2, true);
    let dropped = Arc::new(AtomicUsize::new(0));
    let joins: Vec<_> = (0..1_000)
        .map(|tag| {
            let guard = DropCount(dropped.clone());
            let bytes = payload::<300>(tag);
            rt.spawn(async move {
                let _g = guard;
                check(&bytes, tag);
                if tag % 2 == 0 {
                    panic!("task {tag} panics on purpose");
                }
                tag
            })
        })
        .collect();
    for (tag, join) in joins.into_iter().enumerate() {
        let result = rt.block_on(join);
        assert_eq!(result.is_err(), tag % 2 == 0);
    }
    assert_eq!(dropped.load(Ordering::Relaxed), 1_000);
}
