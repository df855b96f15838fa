//! `weft::sync::Mutex` and `RwLock`: FIFO hand-off, cancellation, guards
//! across `.await` on multi-worker runtimes, stress with a non-atomic
//! counter, and the `RwLock`'s reader sharing and writer fairness.
#![cfg(feature = "sync")]

#[path = "common/thread_block_on.rs"]
mod tbo;

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Poll;
use tbo::{block_on, poll_with, CountWaker};
use weft::sync::{Mutex, MutexGuard, OwnedMutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

fn runtime(workers: usize) -> weft::Runtime {
    weft::Runtime::builder().worker_threads(workers).build().expect("runtime")
}

/// Guards can be held across `.await` in a task spawned on a multi-worker
/// runtime, which requires them to be `Send`.
#[allow(dead_code)]
fn guards_are_send() {
    fn send<T: Send>() {}
    send::<MutexGuard<'static, Vec<u8>>>();
    send::<OwnedMutexGuard<Vec<u8>>>();
    send::<RwLockReadGuard<'static, Vec<u8>>>();
    send::<RwLockWriteGuard<'static, Vec<u8>>>();
    send::<Mutex<std::cell::Cell<u8>>>();
}

#[test]
fn lock_try_lock_get_mut_into_inner_and_debug() {
    static GLOBAL: Mutex<u32> = Mutex::new(7);
    assert_eq!(*block_on(GLOBAL.lock()), 7);
    let mut m = Mutex::new(vec![1]);
    {
        let mut g = block_on(m.lock());
        g.push(2);
        assert!(m.try_lock().is_err());
        assert_eq!(format!("{m:?}"), "Mutex { data: <locked> }");
    }
    assert_eq!(format!("{m:?}"), "Mutex { data: [1, 2] }");
    m.get_mut().push(3);
    assert_eq!(*m.try_lock().unwrap(), vec![1, 2, 3]);
    assert_eq!(m.into_inner(), vec![1, 2, 3]);
}

#[test]
fn the_lock_is_handed_over_in_fifo_order() {
    let m = Mutex::new(Vec::new());
    let held = m.try_lock().unwrap();
    let (w, _) = CountWaker::new();
    let mut a = pin!(async {
        m.lock().await.push('a');
    });
    let mut b = pin!(async {
        m.lock().await.push('b');
    });
    assert!(poll_with(a.as_mut(), &w).is_pending());
    assert!(poll_with(b.as_mut(), &w).is_pending());
    drop(held);
    // b is polled first, but a queued first and got the lock.
    assert!(poll_with(b.as_mut(), &w).is_pending());
    assert!(m.try_lock().is_err(), "try_lock jumped the queue");
    assert!(poll_with(a.as_mut(), &w).is_ready());
    assert!(poll_with(b.as_mut(), &w).is_ready());
    assert_eq!(*m.try_lock().unwrap(), vec!['a', 'b']);
}

#[test]
fn a_lock_future_dropped_after_the_hand_off_passes_the_lock_on() {
    let m = Mutex::new(0);
    let held = m.try_lock().unwrap();
    let (w, _) = CountWaker::new();
    let (wb, b_wakes) = CountWaker::new();
    let mut b = pin!(m.lock());
    {
        let mut a = pin!(m.lock());
        assert!(poll_with(a.as_mut(), &w).is_pending());
        assert!(poll_with(b.as_mut(), &wb).is_pending());
        drop(held); // hands the lock to a, which never sees it
    }
    assert_eq!(b_wakes.count(), 1);
    let Poll::Ready(mut g) = poll_with(b.as_mut(), &wb) else { panic!("b did not get the lock") };
    *g += 1;
    drop(g);
    assert_eq!(*m.try_lock().unwrap(), 1);
}

#[test]
fn owned_guards_move_into_tasks() {
    let rt = runtime(2);
    let m = Arc::new(Mutex::new(0u64));
    rt.block_on(async {
        let mut g = m.clone().lock_owned().await;
        assert!(m.clone().try_lock_owned().is_err());
        let t = weft::spawn(async move {
            weft::task::yield_now().await;
            *g += 1;
            assert_eq!(Arc::strong_count(g.mutex()), 2);
        });
        t.await.unwrap();
        assert_eq!(*m.clone().try_lock_owned().unwrap(), 1);
    });
}

/// N tasks x M lock / read / yield / write on a non-atomic counter: the
/// final count is exact, and never two holders at once.
fn mutex_stress(workers: usize) {
    const TASKS: usize = 12;
    const ITERS: usize = 1_000;
    let rt = runtime(workers);
    let m = Arc::new(Mutex::new(0u64));
    let holders = Arc::new(AtomicUsize::new(0));
    let completed = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let (m, holders, completed) = (m.clone(), holders.clone(), completed.clone());
                weft::spawn(async move {
                    for i in 0..ITERS {
                        let mut g = m.lock().await;
                        assert_eq!(holders.fetch_add(1, SeqCst), 0, "two holders at once");
                        let v = *g;
                        if i % 8 == 0 {
                            // Held across an await: another worker may run
                            // other tasks, which must queue.
                            weft::task::yield_now().await;
                        }
                        *g = v + 1;
                        holders.fetch_sub(1, SeqCst);
                    }
                    completed.fetch_add(1, SeqCst);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(completed.load(SeqCst), TASKS);
    assert_eq!(*block_on(m.lock()), (TASKS * ITERS) as u64);
}

#[test]
fn mutex_stress_2_workers() {
    mutex_stress(2);
}

#[test]
fn mutex_stress_4_workers() {
    mutex_stress(4);
}

#[test]
fn rwlock_readers_share_and_a_writer_excludes() {
    let lock = RwLock::new(5);
    let r1 = lock.try_read().unwrap();
    let r2 = block_on(lock.read());
    assert_eq!(*r1 + *r2, 10);
    assert!(lock.try_write().is_err());
    drop((r1, r2));
    let mut w = lock.try_write().unwrap();
    *w = 6;
    assert!(lock.try_read().is_err());
    assert_eq!(format!("{lock:?}"), "RwLock { data: <locked> }");
    drop(w);
    assert_eq!(format!("{lock:?}"), "RwLock { data: 6 }");
    let mut lock = lock;
    *lock.get_mut() += 1;
    assert_eq!(lock.into_inner(), 7);
}

#[test]
fn a_queued_writer_is_not_overtaken_by_later_readers() {
    let lock = RwLock::new(0);
    let reader = lock.try_read().unwrap();
    let (w, wakes) = CountWaker::new();
    let mut writer = pin!(async {
        *lock.write().await += 1;
    });
    assert!(poll_with(writer.as_mut(), &w).is_pending());
    assert!(lock.try_read().is_err(), "a reader jumped the queued writer");
    let (wr, _) = CountWaker::new();
    let mut late_reader = pin!(async { *lock.read().await });
    assert!(poll_with(late_reader.as_mut(), &wr).is_pending());
    drop(reader);
    assert_eq!(wakes.count(), 1);
    assert!(poll_with(writer.as_mut(), &w).is_ready());
    assert_eq!(poll_with(late_reader.as_mut(), &wr), Poll::Ready(1));
}

#[test]
fn a_cancelled_writer_gives_back_the_read_permits_it_collected() {
    let lock = RwLock::new(());
    let r1 = lock.try_read().unwrap();
    let (w, _) = CountWaker::new();
    {
        let mut writer = pin!(lock.write());
        assert!(poll_with(writer.as_mut(), &w).is_pending()); // holds all but one
    }
    // Readers can enter again.
    let r2 = lock.try_read().unwrap();
    drop((r1, r2));
    assert!(lock.try_write().is_ok());
}

fn rwlock_stress(workers: usize) {
    const TASKS: usize = 8;
    const ITERS: usize = 300;
    let rt = runtime(workers);
    let lock = Arc::new(RwLock::new(0u64));
    let writers_in = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let (lock, writers_in) = (lock.clone(), writers_in.clone());
                weft::spawn(async move {
                    let mut wrote = 0u64;
                    for i in 0..ITERS {
                        if (t + i) % 3 == 0 {
                            let mut g = lock.write().await;
                            assert_eq!(writers_in.fetch_add(1, SeqCst), 0);
                            let v = *g;
                            weft::task::yield_now().await;
                            *g = v + 1;
                            writers_in.fetch_sub(1, SeqCst);
                            wrote += 1;
                        } else {
                            let g = lock.read().await;
                            assert_eq!(writers_in.load(SeqCst), 0, "a reader beside a writer");
                            let _ = *g;
                        }
                    }
                    wrote
                })
            })
            .collect();
        let mut writes = 0;
        for t in tasks {
            writes += t.await.unwrap();
        }
        assert_eq!(*lock.read().await, writes);
    });
}

#[test]
fn rwlock_stress_2_workers() {
    rwlock_stress(2);
}

#[test]
fn rwlock_stress_4_workers() {
    rwlock_stress(4);
}

// ---- mapped guards ----

#[allow(dead_code)]
fn mapped_guards_are_send() {
    fn send<T: Send>() {}
    send::<weft::sync::MappedMutexGuard<'static, Vec<u8>>>();
    send::<weft::sync::RwLockMappedWriteGuard<'static, Vec<u8>>>();
}

#[test]
fn a_mapped_mutex_guard_keeps_the_lock_and_hands_it_on_when_dropped() {
    let rt = runtime(2);
    rt.block_on(async {
        let m = Arc::new(Mutex::new((0u32, String::new())));
        let mut name = MutexGuard::map(m.lock().await, |pair| &mut pair.1);
        let waiter = {
            let m = m.clone();
            weft::spawn(async move { m.lock().await.1.clone() })
        };
        name.push_str("set while mapped");
        for _ in 0..20 {
            weft::task::yield_now().await;
        }
        assert!(!waiter.is_finished(), "the mapped guard still holds the lock");
        let mut len = weft::sync::MappedMutexGuard::map(name, |s| s.as_mut_str());
        len.make_ascii_uppercase();
        drop(len);
        assert_eq!(waiter.await.unwrap(), "SET WHILE MAPPED");
    });
}

#[test]
fn try_map_gives_the_guard_back_still_locked() {
    let m = Mutex::new(vec![1, 2, 3]);
    let g = MutexGuard::try_map(m.try_lock().unwrap(), |v| v.get_mut(10)).unwrap_err();
    assert!(m.try_lock().is_err(), "still locked after a declined map");
    let mut last = MutexGuard::try_map(g, |v| v.last_mut()).unwrap();
    *last = 30;
    drop(last);
    assert_eq!(*m.try_lock().unwrap(), [1, 2, 30]);
}

#[test]
fn a_panicking_map_function_unlocks() {
    let m = Mutex::new(0);
    let g = m.try_lock().unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = MutexGuard::map(g, |v| {
            if *v == 0 {
                panic!("no");
            }
            v
        });
    }));
    assert!(r.is_err());
    assert!(m.try_lock().is_ok(), "the guard was dropped during unwinding");
}

#[test]
fn mapped_rwlock_guards_keep_their_lock_mode() {
    let lock = RwLock::new((1u8, vec![0u8; 4]));
    {
        let first = RwLockReadGuard::map(lock.try_read().unwrap(), |p| &p.0);
        let other = lock.try_read().unwrap();
        assert_eq!(*first + other.0, 2, "readers still share");
        assert!(lock.try_write().is_err());
        let declined = RwLockReadGuard::try_map(other, |p| p.1.get(9)).unwrap_err();
        assert_eq!(declined.0, 1);
    }
    {
        let mut bytes = RwLockWriteGuard::map(lock.try_write().unwrap(), |p| &mut p.1);
        assert!(lock.try_read().is_err(), "a mapped write guard excludes readers");
        bytes[0] = 9;
        let mut first = weft::sync::RwLockMappedWriteGuard::map(bytes, |b| &mut b[0]);
        *first += 1;
    }
    assert_eq!(lock.try_read().unwrap().1[0], 10);
    assert!(lock.try_write().is_ok(), "every permit came back");
}
