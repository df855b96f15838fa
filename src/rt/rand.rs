//! A per-thread random number generator: `select!` starts polling its
//! branches at a random one, so that no branch wins every time both are
//! ready. The state is one `u64` in the thread's context (xorshift64, the
//! generator the scheduler uses for victim choice): no lock, no atomic, no
//! shared cache line, and the sequence of one thread does not depend on
//! what the others draw.

use crate::rt::context;

/// A number in `0..n` (`n > 0`), from this thread's generator; seeded on
/// first use. Outside a context (loom thread teardown) it returns 0.
pub(crate) fn thread_rng_n(n: u32) -> u32 {
    debug_assert!(n > 0);
    context::with(|c| {
        let mut x = c.rng.get();
        if x == 0 {
            x = seed();
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c.rng.set(x);
        // The high 32 bits are the better mixed; scaling instead of `%`
        // avoids a division.
        (((x >> 32) * u64::from(n)) >> 32) as u32
    })
    .unwrap_or(0)
}

/// A non-zero seed: fixed under loom (the model must be reproducible),
/// otherwise from std's per-process random keys mixed with the address of
/// this thread's context (distinct per live thread).
fn seed() -> u64 {
    if crate::loom::IS_LOOM {
        return 0x9E37_79B9_7F4A_7C15;
    }
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let here = context::with(|c| c as *const context::Context as usize).unwrap_or(0);
    h.write_usize(here);
    h.finish() | 1
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::thread_rng_n;

    #[test]
    fn stays_in_range_and_covers_it() {
        let mut seen = [0u32; 5];
        for _ in 0..10_000 {
            let k = thread_rng_n(5);
            seen[k as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 0), "every value drawn: {seen:?}");
        assert!((0..1000).all(|_| thread_rng_n(1) == 0));
    }
}
