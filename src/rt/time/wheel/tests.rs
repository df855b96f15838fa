//! Unit tests of the wheel alone: boundaries of every level, cascading,
//! ordering, exactness of `next_expiration`, and a randomized model test
//! against a `BTreeMap`.

use super::*;
use crate::rt::time::test_rng::Rng;
use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;

const L2: u64 = 64 * 64;
const L3: u64 = 64 * 64 * 64;
const L4: u64 = L3 * 64;
const L5: u64 = L4 * 64;

/// Scales a test's size down under Miri, which runs orders of magnitude slower.
fn size(native: u64) -> u64 {
    if cfg!(miri) {
        (native / 50).max(1)
    } else {
        native
    }
}

/// Owns a wheel and the entries linked in it.
///
/// Safety of the harness: every entry is boxed and pinned and is freed only
/// when the harness drops, after the wheel (field order); `linked` tracks
/// which are in the wheel, so each is inserted only while unlinked and
/// removed only while linked.
struct Harness {
    wheel: Wheel,
    entries: Vec<Pin<Box<Entry>>>,
    deadlines: Vec<u64>,
    linked: Vec<bool>,
    ids: HashMap<usize, usize>,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            wheel: Wheel::new(),
            entries: vec![],
            deadlines: vec![],
            linked: vec![],
            ids: HashMap::new(),
        }
    }

    fn ptr(&self, id: usize) -> NonNull<Entry> {
        NonNull::from(&*self.entries[id])
    }

    fn insert(&mut self, deadline: u64) -> Result<usize, Elapsed> {
        let id = self.entries.len();
        self.entries.push(Box::pin(Entry::new()));
        self.deadlines.push(deadline);
        self.linked.push(false);
        let ptr = self.ptr(id);
        self.ids.insert(ptr.as_ptr() as usize, id);
        // SAFETY: the entry is boxed, pinned and outlives the wheel (see the
        // harness doc); it was just created, so it is in no wheel.
        unsafe { self.wheel.insert(ptr, deadline) }?;
        self.linked[id] = true;
        Ok(id)
    }

    fn remove(&mut self, id: usize) {
        assert!(self.linked[id]);
        // SAFETY: `linked[id]` says the entry is in this wheel.
        unsafe { self.wheel.remove(self.ptr(id)) };
        self.linked[id] = false;
    }

    fn id_of(&mut self, ptr: NonNull<Entry>) -> usize {
        let id = self.ids[&(ptr.as_ptr() as usize)];
        assert!(self.linked[id], "entry {id} handed out while not linked");
        self.linked[id] = false;
        id
    }

    /// Every entry handed out by `poll_expired(now)`, in order.
    fn poll(&mut self, now: u64) -> Vec<usize> {
        let mut out = vec![];
        while let Some(ptr) = self.wheel.poll_expired(now) {
            out.push(self.id_of(ptr));
        }
        out
    }
}

/// The wheel's horizon from `elapsed`, for deciding when exactness applies.
fn horizon(elapsed: u64) -> u64 {
    ((elapsed >> 30) + 64) * (1 << 30) - 1
}

#[test]
fn insert_refuses_deadlines_not_after_elapsed() {
    let mut h = Harness::new();
    assert_eq!(h.insert(0), Err(Elapsed));
    assert!(h.poll(100).is_empty());
    assert_eq!(h.wheel.elapsed(), 100);
    assert_eq!(h.insert(100), Err(Elapsed));
    assert!(h.insert(101).is_ok());
    assert_eq!(h.wheel.len(), 1);
}

#[test]
fn elapsed_never_goes_back() {
    let mut h = Harness::new();
    h.poll(100);
    h.poll(50);
    assert_eq!(h.wheel.elapsed(), 100);
}

const BASES: [u64; 9] = [0, 1, 63, 64, 4095, 4096, L3 - 1, L3, 12_345_678_901];
const DELTAS: [u64; 20] = [
    1,
    2,
    63,
    64,
    65,
    4095,
    4096,
    4097,
    L3 - 1,
    L3,
    L3 + 1,
    L4 - 1,
    L4,
    L5 - 1,
    L5,
    L5 + 1,
    RANGE_MS - L5,
    RANGE_MS - 1,
    RANGE_MS,
    RANGE_MS * 3 + 17,
];

#[test]
fn fires_at_every_level_boundary() {
    for base in BASES {
        for delta in DELTAS {
            let d = base + delta;
            let mut h = Harness::new();
            assert!(h.poll(base).is_empty());
            let id = h.insert(d).unwrap();
            let next = h.wheel.next_expiration().unwrap();
            if d <= horizon(base) {
                assert_eq!(next, d, "base {base} delta {delta}: next_expiration is exact");
            } else {
                assert!(next < d && next > base, "base {base} delta {delta}: clamped to {next}");
            }
            assert!(h.poll(d - 1).is_empty(), "base {base} delta {delta}: fired early");
            assert_eq!(h.wheel.elapsed(), d - 1);
            assert_eq!(h.wheel.next_expiration(), Some(d), "base {base} delta {delta}: after cascading");
            assert_eq!(h.poll(d), vec![id], "base {base} delta {delta}");
            assert_eq!(h.wheel.next_expiration(), None);
            assert_eq!(h.wheel.len(), 0);
        }
    }
}

#[test]
fn following_next_expiration_never_wakes_early() {
    // A parked worker wakes at `next_expiration`; with exact keys every such
    // wake-up fires something, at every level and across the clamp.
    for base in BASES {
        for delta in DELTAS {
            let d = base + delta;
            let mut h = Harness::new();
            h.poll(base);
            let id = h.insert(d).unwrap();
            let mut wakeups = 0;
            loop {
                let next = h.wheel.next_expiration().expect("entry still linked");
                assert!(next <= d);
                wakeups += 1;
                let fired = h.poll(next);
                if !fired.is_empty() {
                    assert_eq!((fired, next), (vec![id], d));
                    break;
                }
                assert!(d > horizon(base), "an empty wake-up for an in-range deadline");
                assert!(wakeups < 10, "too many clamp steps");
            }
        }
    }
}

#[test]
fn cancel_at_every_level_boundary() {
    for base in BASES {
        for delta in DELTAS {
            let d = base + delta;
            let mut h = Harness::new();
            h.poll(base);
            let keep = h.insert(d + 1).unwrap();
            let id = h.insert(d).unwrap();
            h.remove(id);
            assert_eq!(h.wheel.len(), 1);
            // The slot's key may now be stale (early), never late.
            assert!(h.wheel.next_expiration().unwrap() <= d + 1);
            assert_eq!(h.poll(d), Vec::<usize>::new(), "base {base} delta {delta}");
            assert_eq!(h.poll(d + 1), vec![keep]);
            // Cancel alone in its slot: the slot empties.
            let lone = h.insert(d + 1 + delta).unwrap();
            h.remove(lone);
            assert_eq!(h.wheel.next_expiration(), None);
            assert_eq!(h.wheel.len(), 0);
        }
    }
}

#[test]
fn cancel_from_the_pending_list() {
    let mut h = Harness::new();
    // Three entries in one level-1 slot with the same deadline: processing
    // the slot moves them to the pending list together.
    let ids: Vec<_> = (0..3).map(|_| h.insert(100).unwrap()).collect();
    let first = h.wheel.poll_expired(100).map(|p| h.id_of(p)).unwrap();
    let rest: Vec<_> = ids.iter().copied().filter(|&i| i != first).collect();
    h.remove(rest[0]);
    assert_eq!(h.wheel.next_expiration(), Some(100));
    assert_eq!(h.poll(100), vec![rest[1]]);
    assert_eq!(h.wheel.len(), 0);
}

#[test]
fn stepping_every_ms_fires_each_entry_exactly_at_its_deadline() {
    let mut rng = Rng::new(7);
    let mut h = Harness::new();
    let (n, span) = (size(5_000), size(300_000));
    for _ in 0..n {
        h.insert(1 + rng.below(span)).unwrap();
    }
    let mut fired = 0;
    for now in 1..=span {
        for id in h.poll(now) {
            assert_eq!(h.deadlines[id], now);
            fired += 1;
        }
    }
    assert_eq!(fired, n);
}

/// A delta whose level is uniform over the six levels (and a bit beyond).
fn random_delta(rng: &mut Rng) -> u64 {
    let level = rng.below(7) as u32;
    1 + rng.below(64u64.pow(level + 1).min(RANGE_MS * 4))
}

#[test]
fn random_deadlines_fire_in_order_and_exactly_once() {
    let mut rng = Rng::new(0x5eed);
    let mut h = Harness::new();
    let mut now = 0;
    let n = size(20_000);
    let mut fired = vec![false; n as usize];
    for _ in 0..n {
        h.insert(now + random_delta(&mut rng)).unwrap();
    }
    let mut last = 0;
    while h.wheel.len() > 0 {
        let prev = now;
        now += match rng.below(4) {
            0 => rng.below(64),
            1 => rng.below(L2 * 4),
            2 => rng.below(L4),
            _ => rng.below(L5 * 8),
        };
        for id in h.poll(now) {
            let d = h.deadlines[id];
            assert!(!fired[id], "entry {id} fired twice");
            fired[id] = true;
            assert!(d > prev && d <= now, "entry with deadline {d} fired in poll ({prev}, {now}]");
            assert!(d >= last, "out of order: {d} after {last}");
            last = d;
        }
    }
    assert!(fired.iter().all(|&f| f));
}

#[test]
fn following_next_expiration_fires_something_every_time() {
    // Without cancellations every key is exact: each wake-up at
    // `next_expiration` hands out exactly the entries with that deadline.
    let mut rng = Rng::new(42);
    let mut h = Harness::new();
    let mut reference: BTreeMap<u64, usize> = BTreeMap::new();
    for _ in 0..size(3_000) {
        let d = random_delta(&mut rng).min(RANGE_MS - L5);
        h.insert(d).unwrap();
        *reference.entry(d).or_default() += 1;
    }
    while let Some((&d, &count)) = reference.iter().next() {
        assert_eq!(h.wheel.next_expiration(), Some(d));
        let fired = h.poll(d);
        assert_eq!(fired.len(), count);
        assert!(fired.iter().all(|&id| h.deadlines[id] == d));
        reference.remove(&d);
        // Insert more as time goes on, some into the current level-0 window.
        if rng.below(4) == 0 {
            let d2 = d + 1 + rng.below(100);
            h.insert(d2).unwrap();
            *reference.entry(d2).or_default() += 1;
        }
    }
    assert_eq!(h.wheel.next_expiration(), None);
}

#[test]
fn model_against_btreemap() {
    for seed in 1..=size(20) {
        model(seed, size(4_000) as usize);
    }
}

fn model(seed: u64, steps: usize) {
    let mut rng = Rng::new(seed);
    let mut h = Harness::new();
    let mut reference: BTreeMap<(u64, usize), ()> = BTreeMap::new();
    let mut live: Vec<usize> = vec![];
    let mut now = 0u64;
    for step in 0..steps {
        match rng.below(10) {
            0..=3 => {
                let d = now + random_delta(&mut rng);
                let id = h.insert(d).unwrap();
                reference.insert((d, id), ());
                live.push(id);
            }
            4..=5 if !live.is_empty() => {
                let id = live.swap_remove(rng.below(live.len() as u64) as usize);
                h.remove(id);
                reference.remove(&(h.deadlines[id], id));
            }
            _ => {
                now += match rng.below(3) {
                    0 => rng.below(70),
                    1 => rng.below(L3),
                    _ => rng.below(L5 * 2),
                };
                let fired = h.poll(now);
                let mut expected = vec![];
                while let Some(&(d, id)) = reference.keys().next() {
                    if d > now {
                        break;
                    }
                    reference.remove(&(d, id));
                    expected.push(id);
                }
                let ds: Vec<u64> = fired.iter().map(|&id| h.deadlines[id]).collect();
                assert!(ds.windows(2).all(|w| w[0] <= w[1]), "seed {seed} step {step}: out of order");
                let mut sorted = fired.clone();
                sorted.sort_unstable();
                expected.sort_unstable();
                assert_eq!(sorted, expected, "seed {seed} step {step}: fired set at {now}");
                live.retain(|id| h.linked[*id]);
                assert_eq!(h.wheel.elapsed(), now);
            }
        }
        assert_eq!(h.wheel.len(), reference.len(), "seed {seed} step {step}");
        match (h.wheel.next_expiration(), reference.keys().next()) {
            (None, None) => {}
            (Some(next), Some(&(min, _))) => {
                assert!(next <= min, "seed {seed} step {step}: next {next} after earliest {min}");
                assert!(next >= h.wheel.elapsed(), "seed {seed} step {step}");
            }
            (got, want) => panic!("seed {seed} step {step}: next_expiration {got:?}, earliest {want:?}"),
        }
    }
}

#[test]
fn pop_any_drains_everything() {
    let mut rng = Rng::new(3);
    let mut h = Harness::new();
    for _ in 0..1_000 {
        h.insert(random_delta(&mut rng)).unwrap();
    }
    let mut n = 0;
    while let Some(ptr) = h.wheel.pop_any() {
        h.id_of(ptr);
        n += 1;
    }
    assert_eq!((n, h.wheel.len(), h.wheel.next_expiration()), (1_000, 0, None));
}

#[test]
fn far_future_deadline_stays_until_its_time() {
    let mut h = Harness::new();
    let never = h.insert(u64::MAX).unwrap();
    let far = h.insert(RANGE_MS * 5 + 3).unwrap();
    assert!(h.poll(RANGE_MS * 5 + 2).is_empty());
    assert_eq!(h.poll(RANGE_MS * 5 + 3), vec![far]);
    assert!(h.poll(RANGE_MS * 40).is_empty());
    assert!(h.linked[never]);
    assert!(h.wheel.next_expiration().unwrap() > RANGE_MS * 40);
}
