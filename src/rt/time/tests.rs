//! Tests of `TimerShards` and `Timer` together: registration in the
//! polling worker's shard, cancel, fire, reset, shutdown, the next
//! expiration, and a cross-thread stress test of cancel racing fire.
//!
//! Firing takes `now` as an argument, so the tests drive wheel time by hand.
//! `Timer::poll_elapsed` compares the deadline with the real clock only to
//! complete at once when it has passed; the tests use deadlines far ahead of
//! the real clock (`ahead`) so that path is taken only where intended.

use super::shards::TimerShards;
use super::test_rng::Rng;
use super::timer::Timer;
use super::Shutdown;
use crate::loom::sync::Arc;
use crate::rt::time::TimerHandle;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;

#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

impl Count {
    fn get(&self) -> usize {
        self.0.load(SeqCst)
    }
}

fn counting() -> (Arc<Count>, Waker) {
    let c = Arc::new(Count::default());
    (c.clone(), Waker::from(c))
}

/// A wheel millisecond well past the real clock of `shards`.
fn ahead(shards: &TimerShards) -> u64 {
    shards.clock().now_ms() + 1_000_000
}

fn poll<H: super::TimerHandle>(
    t: Pin<&mut Timer<H>>,
    waker: &Waker,
    shard: usize,
) -> Poll<Result<(), Shutdown>> {
    t.poll_elapsed(&mut Context::from_waker(waker), shard)
}

#[test]
fn fire_wakes_once_and_the_next_poll_completes() {
    let shards = TimerShards::new(2);
    let d = ahead(&shards);
    let (count, waker) = counting();
    let mut t = pin!(Timer::new(&shards, d));
    assert!(poll(t.as_mut(), &waker, 0).is_pending());
    assert!(poll(t.as_mut(), &waker, 0).is_pending(), "re-poll before the deadline");
    assert_eq!(shards.len(), 1);
    assert_eq!(shards.fire_expired(0, d - 1), 0);
    assert_eq!(count.get(), 0);
    assert_eq!(shards.fire_expired(0, d), 1);
    assert_eq!(count.get(), 1);
    assert!(t.is_elapsed());
    assert_eq!(poll(t.as_mut(), &waker, 0), Poll::Ready(Ok(())));
    assert_eq!(poll(t.as_mut(), &waker, 0), Poll::Ready(Ok(())));
    assert_eq!((shards.len(), shards.fire_expired(0, d + 100), count.get()), (0, 0, 1));
}

#[test]
fn a_timer_registers_in_the_shard_that_polls_it() {
    let shards = TimerShards::new(4);
    let d = ahead(&shards);
    let (_count, waker) = counting();
    let mut t = pin!(Timer::new(&shards, d));
    assert!(poll(t.as_mut(), &waker, 6).is_pending(), "6 % 4 = shard 2");
    assert_eq!(shards.shard_next_expiration(2), Some(d));
    assert_eq!(shards.shard_next_expiration(0), None);
    assert_eq!(shards.fire_expired(0, d), 0);
    assert_eq!(shards.fire_expired(2, d), 1);
}

#[test]
fn dropping_a_registered_timer_unlinks_it() {
    let shards = TimerShards::new(2);
    let d = ahead(&shards);
    let (count, waker) = counting();
    {
        let mut t = pin!(Timer::new(&shards, d));
        assert!(poll(t.as_mut(), &waker, 1).is_pending());
        assert_eq!(shards.next_expiration(), Some(d));
    }
    assert_eq!((shards.len(), shards.next_expiration()), (0, None));
    assert_eq!(shards.fire_expired(1, d), 0);
    assert_eq!(count.get(), 0);
}

#[test]
fn dropping_an_unpolled_timer_registers_nothing() {
    let shards = TimerShards::new(1);
    drop(Timer::new(&shards, ahead(&shards)));
    assert_eq!(shards.len(), 0);
}

#[test]
fn cancel_after_fire_is_a_no_op() {
    let shards = TimerShards::new(1);
    let d = ahead(&shards);
    let (count, waker) = counting();
    let mut t = pin!(Timer::new(&shards, d));
    assert!(poll(t.as_mut(), &waker, 0).is_pending());
    assert_eq!(shards.fire_expired(0, d), 1);
    assert!(!t.as_mut().cancel(), "already fired");
    assert!(!t.as_mut().cancel(), "twice");
    assert_eq!((shards.len(), count.get()), (0, 1));
}

#[test]
fn cancel_before_fire_unlinks_once() {
    let shards = TimerShards::new(1);
    let d = ahead(&shards);
    let (count, waker) = counting();
    let mut t = pin!(Timer::new(&shards, d));
    assert!(poll(t.as_mut(), &waker, 0).is_pending());
    assert!(t.as_mut().cancel());
    assert!(!t.as_mut().cancel());
    assert_eq!((shards.len(), shards.fire_expired(0, d), count.get()), (0, 0, 0));
}

#[test]
fn a_passed_deadline_completes_without_registering() {
    let shards = TimerShards::new(1);
    let (count, waker) = counting();
    let mut t = pin!(Timer::new(&shards, 0));
    assert_eq!(poll(t.as_mut(), &waker, 0), Poll::Ready(Ok(())));
    assert_eq!((shards.len(), count.get()), (0, 0));
    // A deadline the shard's wheel has already passed (ahead of the real
    // clock, behind the wheel) is refused by the wheel and completes too.
    let d = ahead(&shards);
    assert_eq!(shards.fire_expired(0, d + 10), 0);
    let mut t = pin!(Timer::new(&shards, d + 5));
    assert!(poll(t.as_mut(), &waker, 0).is_pending(), "empty shard: its wheel did not move");
    assert_eq!(shards.fire_expired(0, d + 10), 1);
    let mut late = pin!(Timer::new(&shards, d + 7));
    assert_eq!(poll(late.as_mut(), &waker, 0), Poll::Ready(Ok(())), "behind the wheel's time");
}

#[test]
fn reset_moves_the_deadline() {
    let shards = TimerShards::new(2);
    let d = ahead(&shards);
    let (count, waker) = counting();
    let mut t = pin!(Timer::new(&shards, d));
    assert!(poll(t.as_mut(), &waker, 0).is_pending());
    t.as_mut().reset(d + 100);
    assert_eq!(shards.len(), 0, "reset unregisters at once");
    assert!(poll(t.as_mut(), &waker, 1).is_pending());
    assert_eq!(shards.shard_next_expiration(1), Some(d + 100));
    assert_eq!(shards.fire_expired(1, d + 99), 0);
    assert_eq!(shards.fire_expired(1, d + 100), 1);
    assert!(poll(t.as_mut(), &waker, 1).is_ready());
    // Re-arm after firing (what an interval does).
    t.as_mut().reset(d + 200);
    assert!(!t.is_elapsed());
    assert!(poll(t.as_mut(), &waker, 1).is_pending());
    assert_eq!(shards.fire_expired(1, d + 200), 1);
    assert_eq!(count.get(), 2);
}

#[test]
fn next_expiration_is_the_exact_minimum_over_shards() {
    let shards = TimerShards::new(4);
    let d = ahead(&shards);
    let (_count, waker) = counting();
    let mut timers: Vec<_> = [(0, 4_000), (1, 70), (2, 300_000), (3, 5)]
        .iter()
        .map(|&(shard, delta)| (shard, delta, Box::pin(Timer::new(&shards, d + delta))))
        .collect();
    for (shard, _, t) in timers.iter_mut() {
        assert!(poll(t.as_mut(), &waker, *shard).is_pending());
    }
    let mut deltas: Vec<u64> = timers.iter().map(|t| t.1).collect();
    deltas.sort_unstable();
    for delta in deltas {
        assert_eq!(shards.next_expiration(), Some(d + delta));
        let fired: usize = (0..4).map(|s| shards.fire_expired(s, d + delta)).sum();
        assert_eq!(fired, 1);
    }
    assert_eq!(shards.next_expiration(), None);
}

#[test]
fn fire_others_fires_every_other_shard() {
    let shards = TimerShards::new(3);
    let d = ahead(&shards);
    let (count, waker) = counting();
    let mut timers: Vec<_> = (0..3).map(|_| Box::pin(Timer::new(&shards, d))).collect();
    for (i, t) in timers.iter_mut().enumerate() {
        assert!(poll(t.as_mut(), &waker, i).is_pending());
    }
    assert_eq!(shards.fire_others(1, d), 2);
    assert_eq!(shards.shard_next_expiration(1), Some(d));
    assert_eq!(shards.try_fire_expired(1, d), Some(1));
    assert_eq!(count.get(), 3);
}

#[test]
fn many_timers_fire_in_batches_each_woken_once() {
    let shards = TimerShards::new(1);
    let d = ahead(&shards);
    let counts: Vec<_> = (0..1_000).map(|_| counting()).collect();
    let mut timers: Vec<_> = (0..1_000).map(|i| Box::pin(Timer::new(&shards, d + (i % 7)))).collect();
    for (t, (_, w)) in timers.iter_mut().zip(&counts) {
        assert!(poll(t.as_mut(), w, 0).is_pending());
    }
    assert_eq!(shards.fire_expired(0, d + 6), 1_000);
    assert!(counts.iter().all(|(c, _)| c.get() == 1));
}

#[test]
fn wakers_are_woken_outside_the_shard_lock() {
    // A waker that locks every shard: it would deadlock if woken under one.
    struct LocksShards(Arc<TimerShards>, AtomicUsize);
    impl Wake for LocksShards {
        fn wake(self: Arc<Self>) {
            self.1.fetch_add(self.0.len() + 1, SeqCst);
        }
    }
    let shards = Arc::new(TimerShards::new(2));
    let d = ahead(&shards);
    let w = Arc::new(LocksShards(shards.clone(), AtomicUsize::new(0)));
    let waker = Waker::from(w.clone());
    let mut t = Box::pin(Timer::new(shards.clone(), d));
    assert!(poll(t.as_mut(), &waker, 0).is_pending());
    assert_eq!(shards.fire_expired(0, d), 1);
    assert_eq!(w.1.load(SeqCst), 1);
}

#[test]
fn shutdown_completes_every_timer_with_an_error() {
    let shards = TimerShards::new(2);
    let d = ahead(&shards);
    let (count, waker) = counting();
    let mut timers: Vec<_> = (0..10u64).map(|i| Box::pin(Timer::new(&shards, d + i * 1_000_000))).collect();
    for (i, t) in timers.iter_mut().enumerate() {
        assert!(poll(t.as_mut(), &waker, i).is_pending());
    }
    assert_eq!(shards.shutdown(), 10);
    assert_eq!((count.get(), shards.len(), shards.next_expiration()), (10, 0, None));
    for t in timers.iter_mut() {
        assert_eq!(poll(t.as_mut(), &waker, 0), Poll::Ready(Err(Shutdown)));
    }
    let mut late = pin!(Timer::new(&shards, d));
    assert_eq!(poll(late.as_mut(), &waker, 0), Poll::Ready(Err(Shutdown)));
    assert_eq!(shards.shutdown(), 0, "idempotent");
}

/// A handle that counts `earliest_changed` calls (what the scheduler's
/// handle uses to shorten a parked worker's timeout).
struct CountEarliest<'a>(&'a TimerShards, &'a AtomicUsize);

// SAFETY: always the same `TimerShards`, which outlives the handle.
unsafe impl TimerHandle for CountEarliest<'_> {
    fn shards(&self) -> &TimerShards {
        self.0
    }

    fn earliest_changed(&self, _shard: usize, _deadline: u64) {
        self.1.fetch_add(1, SeqCst);
    }
}

#[test]
fn earliest_changed_fires_when_a_shard_gets_an_earlier_deadline() {
    let calls = AtomicUsize::new(0);
    let shards = TimerShards::new(2);
    let d = ahead(&shards);
    let (_count, waker) = counting();
    let mut a = pin!(Timer::new(CountEarliest(&shards, &calls), d + 100));
    let mut b = pin!(Timer::new(CountEarliest(&shards, &calls), d + 200));
    let mut c = pin!(Timer::new(CountEarliest(&shards, &calls), d + 50));
    assert!(poll(a.as_mut(), &waker, 0).is_pending());
    assert_eq!(calls.load(SeqCst), 1);
    assert!(poll(b.as_mut(), &waker, 0).is_pending());
    assert_eq!(calls.load(SeqCst), 1, "a later deadline changes nothing");
    assert!(poll(c.as_mut(), &waker, 0).is_pending());
    assert_eq!(calls.load(SeqCst), 2);
}

#[test]
fn a_sleep_future_built_on_timer_completes() {
    // The shape of `time::Sleep`: a pinned future embedding a `Timer`.
    struct Sleep<'a>(Timer<&'a TimerShards>);
    impl Future for Sleep<'_> {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            // SAFETY: structural pinning of the only field; never moved out.
            let timer = unsafe { self.map_unchecked_mut(|s| &mut s.0) };
            timer.poll_elapsed(cx, 0).map(|r| r.expect("not shut down"))
        }
    }
    let shards = TimerShards::new(1);
    let d = ahead(&shards);
    let (count, waker) = counting();
    let mut sleep = pin!(Sleep(Timer::new(&shards, d)));
    let mut cx = Context::from_waker(&waker);
    assert!(sleep.as_mut().poll(&mut cx).is_pending());
    shards.fire_expired(0, d);
    assert_eq!(count.get(), 1);
    assert!(sleep.as_mut().poll(&mut cx).is_ready());
}

enum Expect {
    Never,
    Once,
    AtMostOnce,
}

/// Owners register, re-poll, cancel or drop timers while firers advance a
/// shared clock and fire every shard. Checks: no waker is woken twice; a
/// cancelled timer is never woken; a timer whose last poll was `Pending`
/// and that fired is woken exactly once; every registration is unlinked
/// exactly once (fired + cancelled == registered; the shards end empty).
fn cancel_vs_fire_stress(use_cancel: bool) {
    const OWNERS: usize = 3;
    const FIRERS: usize = 2;
    // Miri runs the same interleaving checks, smaller.
    const ROUNDS: usize = if cfg!(miri) { 150 } else { 6_000 };
    let shards = Arc::new(TimerShards::new(OWNERS));
    let base = ahead(&shards);
    let now = Arc::new(AtomicU64::new(base));
    let owners_done = Arc::new(AtomicBool::new(false));
    let fired = Arc::new(AtomicUsize::new(0));

    let firers: Vec<_> = (0..FIRERS)
        .map(|f| {
            let (shards, now, done, fired) =
                (shards.clone(), now.clone(), owners_done.clone(), fired.clone());
            thread::spawn(move || {
                while !done.load(SeqCst) {
                    let t = now.fetch_add(1, SeqCst) + 1;
                    let n = shards.fire_expired(f, t) + shards.fire_others(f, t);
                    fired.fetch_add(n, SeqCst);
                    thread::yield_now();
                }
            })
        })
        .collect();

    let owners: Vec<_> = (0..OWNERS)
        .map(|o| {
            let (shards, now) = (shards.clone(), now.clone());
            thread::spawn(move || {
                let mut rng = Rng::new(o as u64 + 11);
                let (mut registered, mut cancelled) = (0usize, 0usize);
                let mut survivors = vec![];
                let mut checks = vec![];
                let mut raced_polls = 0;
                for _ in 0..ROUNDS {
                    let d = now.load(SeqCst) + 1 + rng.below(2);
                    let (count, waker) = counting();
                    let mut t = Box::pin(Timer::new(shards.clone(), d));
                    let mut last = poll(t.as_mut(), &waker, o);
                    if last.is_ready() {
                        continue; // refused at insert: never registered
                    }
                    registered += 1;
                    let path = rng.below(20);
                    if path == 0 {
                        survivors.push((t, count));
                        continue;
                    }
                    if path < 17 {
                        // Let the clock reach the deadline so that the fire
                        // and what we do next race for the shard.
                        while now.load(SeqCst) + 1 < d {
                            thread::yield_now();
                        }
                        for _ in 0..rng.below(4_000) {
                            std::hint::spin_loop();
                        }
                    }
                    if path < 9 {
                        last = poll(t.as_mut(), &waker, o);
                        raced_polls += usize::from(last.is_ready());
                    }
                    let was_cancelled = if use_cancel { t.as_mut().cancel() } else { false };
                    drop(t);
                    // A firer wakes after releasing the lock, possibly after
                    // our cancel returned: check the counts at the end.
                    let expect = if was_cancelled {
                        cancelled += 1;
                        assert!(last.is_pending());
                        Expect::Never
                    } else if use_cancel && last.is_pending() {
                        Expect::Once
                    } else {
                        Expect::AtMostOnce
                    };
                    checks.push((count, expect));
                }
                (registered, cancelled, survivors, checks, raced_polls)
            })
        })
        .collect();

    let results: Vec<_> = owners.into_iter().map(|h| h.join().unwrap()).collect();
    owners_done.store(true, SeqCst);
    for f in firers {
        f.join().unwrap();
    }
    // Fire what is left (the survivors), far past every deadline.
    let end = now.load(SeqCst) + 1_000;
    let rest: usize = (0..OWNERS).map(|s| shards.fire_expired(s, end)).sum();
    fired.fetch_add(rest, SeqCst);

    let mut registered = 0;
    let mut cancelled = 0;
    let mut raced_polls = 0;
    for (r, c, survivors, checks, raced) in results {
        registered += r;
        cancelled += c;
        raced_polls += raced;
        for (count, expect) in checks {
            let wakes = count.get();
            match expect {
                Expect::Never => assert_eq!(wakes, 0, "a cancelled timer was woken"),
                Expect::Once => assert_eq!(wakes, 1, "fired after a Pending poll but not woken once"),
                Expect::AtMostOnce => assert!(wakes <= 1, "a waker woken {wakes} times"),
            }
        }
        for (t, count) in survivors {
            assert!(t.is_elapsed());
            assert_eq!(count.get(), 1, "a surviving timer is woken exactly once");
        }
    }
    eprintln!(
        "stress (cancel: {use_cancel}): registered {registered}, fired {}, cancelled {cancelled}, \
         second polls that saw the fire {raced_polls}",
        fired.load(SeqCst)
    );
    assert!(fired.load(SeqCst) > 0 && (cancelled > 0 || !use_cancel), "both outcomes exercised");
    assert_eq!(shards.len(), 0, "every entry unlinked");
    if use_cancel {
        assert_eq!(fired.load(SeqCst) + cancelled, registered, "each registration unlinked exactly once");
    } else {
        assert!(fired.load(SeqCst) <= registered);
    }
}

#[test]
fn stress_cancel_races_fire() {
    cancel_vs_fire_stress(true);
}

#[test]
fn stress_drop_races_fire() {
    cancel_vs_fire_stress(false);
}

/// `poll_elapsed_future_deadline` skips the clock: a deadline that has
/// passed in real time but not in the wheel's time registers, and fires on
/// the next pass (never before its deadline); one the wheel's time already
/// shows elapsed completes at once.
#[test]
fn future_deadline_poll_registers_a_passed_deadline_and_fires_it_next_pass() {
    let start = std::time::Instant::now() - std::time::Duration::from_secs(1);
    let shards = TimerShards::with_clock(1, super::source::TimeSource::with_start(start));
    let (count, waker) = counting();
    // 500 ms after the clock's start: half a second in the past.
    let mut t = pin!(Timer::new(&shards, 500));
    let mut cx = Context::from_waker(&waker);
    assert!(t.as_mut().poll_elapsed_future_deadline(&mut cx, 0).is_pending());
    assert_eq!(shards.len(), 1);
    assert_eq!(shards.fire_expired(0, 499), 0, "never before the deadline");
    assert_eq!(shards.fire_expired(0, shards.clock().now_ms()), 1);
    assert_eq!(count.get(), 1);
    assert_eq!(poll(t.as_mut(), &waker, 0), Poll::Ready(Ok(())));
    // The wheel's time is now past 500: a second such timer is refused by
    // the wheel and completes on its first poll.
    let mut u = pin!(Timer::new(&shards, 600));
    assert_eq!(u.as_mut().poll_elapsed_future_deadline(&mut cx, 0), Poll::Ready(Ok(())));
    assert_eq!(shards.len(), 0);
}
