//! The timer entry protocol (`src/rt/time/`, docs/design/timers.md): a
//! firer on one thread against the owner's poll, cancel or drop on another.
//! Each model checks that the waker is woken at most once, exactly once
//! when the owner's last poll was `Pending` and the timer fired, never
//! after a successful cancel, and that the shard ends empty. loom also
//! checks every access to the entry's node and waker cells against the
//! happens-before order.

use super::model;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Arc;
use crate::rt::time::shards::TimerShards;
use crate::rt::time::timer::Timer;
use crate::rt::time::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};

struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn counting() -> (std::sync::Arc<Count>, Waker) {
    let c = std::sync::Arc::new(Count(AtomicUsize::new(0)));
    (c.clone(), Waker::from(c))
}

type ArcTimer = Timer<Arc<TimerShards>>;

fn poll(t: Pin<&mut ArcTimer>, waker: &Waker) -> Poll<Result<(), Shutdown>> {
    t.poll_elapsed(&mut Context::from_waker(waker), 0)
}

/// A registered timer and a firer thread whose `now` reaches its deadline.
fn setup() -> (Arc<TimerShards>, u64, Pin<Box<ArcTimer>>, std::sync::Arc<Count>, Waker) {
    let shards = Arc::new(TimerShards::new(1));
    let d = shards.clock().now_ms() + 1_000_000;
    let (count, waker) = counting();
    let mut t = Box::pin(Timer::new(shards.clone(), d));
    assert!(poll(t.as_mut(), &waker).is_pending());
    (shards, d, t, count, waker)
}

#[test]
fn fire_races_poll_then_drop() {
    model(|| {
        let (shards, d, mut t, count, waker) = setup();
        let firer = {
            let shards = shards.clone();
            loom::thread::spawn(move || shards.fire_expired(0, d))
        };
        let second = poll(t.as_mut(), &waker);
        drop(t);
        let fired = firer.join().unwrap();
        let wakes = count.0.load(SeqCst);
        assert!(wakes <= 1);
        if second.is_ready() {
            assert_eq!(fired, 1);
        } else if fired == 1 {
            assert_eq!(wakes, 1, "fired after a Pending poll without a wake");
        }
        assert_eq!(shards.len(), 0);
    });
}

#[test]
fn fire_races_cancel() {
    model(|| {
        let (shards, d, mut t, count, _waker) = setup();
        let firer = {
            let shards = shards.clone();
            loom::thread::spawn(move || shards.fire_expired(0, d))
        };
        let cancelled = t.as_mut().cancel();
        let fired = firer.join().unwrap();
        assert_eq!(usize::from(cancelled) + fired, 1, "unlinked exactly once");
        assert_eq!(count.0.load(SeqCst), fired);
        drop(t);
        assert_eq!(shards.len(), 0);
    });
}

#[test]
fn fire_races_first_registration() {
    model(|| {
        let shards = Arc::new(TimerShards::new(1));
        let d = shards.clock().now_ms() + 1_000_000;
        let (count, waker) = counting();
        let mut t = Box::pin(Timer::new(shards.clone(), d));
        let firer = {
            let shards = shards.clone();
            loom::thread::spawn(move || shards.fire_expired(0, d))
        };
        let first = poll(t.as_mut(), &waker);
        let fired = firer.join().unwrap();
        // The firer either ran before the insert (nothing to fire; the
        // wheel did not move past `d`, so the insert succeeded) or fired it.
        assert!(first.is_pending());
        assert_eq!(count.0.load(SeqCst), fired);
        if fired == 0 {
            assert!(t.as_mut().cancel());
        }
        drop(t);
        assert_eq!(shards.len(), 0);
    });
}
