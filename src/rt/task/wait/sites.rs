//! Await sites: a process-wide, lock-free table that turns the
//! `&'static Location` of a leaf future's construction into a 16-bit index
//! that fits in a task's header beside its spawn stamp (`raw::TaskStats`).
//!
//! The table is a fixed array of pointers with open addressing on the
//! pointer's hash and a bounded probe: a lookup is a hash and, for a site
//! seen before, usually one Acquire load. A site is inserted once, with a
//! CAS from null; entries are never removed (a `Location` is `'static`).
//! When the probe finds no free slot the site gets index 0, "unknown", and
//! a dump shows no site for it. Index `i` is slot `i` of the array; slot 0
//! is never filled.

use crate::loom::sync::atomic::{Ordering::Acquire, Ordering::Release, StaticAtomicPtr};
use std::panic::Location;

/// Slots in the table (a power of two, at most 2^16 so an index fits the
/// 16 bits beside the spawn stamp).
const SLOTS: usize = 4096;
/// Slots a lookup visits before it gives up with index 0.
const PROBES: usize = 32;

const _: () = assert!(SLOTS.is_power_of_two() && SLOTS <= 1 << 16);

type Site = Location<'static>;

#[allow(clippy::declare_interior_mutable_const)] // the array initialiser only
const EMPTY: StaticAtomicPtr<Site> = StaticAtomicPtr::new(std::ptr::null_mut());
static TABLE: [StaticAtomicPtr<Site>; SLOTS] = [EMPTY; SLOTS];

/// The index of `site` (0 when the table has no room for it).
#[inline]
pub(crate) fn intern(site: &'static Site) -> u16 {
    let ptr = site as *const Site as *mut Site;
    let addr = ptr as usize as u64;
    // Fibonacci hashing of the address: locations are 8-aligned and
    // clustered in one read-only section, which the multiply spreads.
    let mut slot = (addr.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as usize & (SLOTS - 1);
    for _ in 0..PROBES {
        if slot != 0 {
            // Acquire: pairs with the Release CAS below, so the pointer read
            // is one a thread fully published (it is `'static` anyway; the
            // ordering keeps the table's protocol self-contained).
            let seen = TABLE[slot].load(Acquire);
            if seen == ptr {
                return slot as u16;
            }
            if seen.is_null() {
                // Release: pairs with the Acquire loads above and in `site`.
                // Acquire on failure: the value we compare next.
                match TABLE[slot].compare_exchange(std::ptr::null_mut(), ptr, Release, Acquire) {
                    Ok(_) => return slot as u16,
                    Err(other) if other == ptr => return slot as u16,
                    Err(_) => {}
                }
            }
        }
        slot = (slot + 1) & (SLOTS - 1);
    }
    0
}

/// The site at `index`, if any (0 and unfilled slots have none).
pub(crate) fn site(index: u16) -> Option<&'static Site> {
    let slot = usize::from(index);
    if slot == 0 || slot >= SLOTS {
        return None;
    }
    // Acquire: pairs with the Release CAS in `intern`.
    let ptr = TABLE[slot].load(Acquire);
    // SAFETY: a non-null slot holds a pointer made from a
    // `&'static Location<'static>` in `intern`; it lives for ever.
    unsafe { ptr.as_ref() }
}

/// Filled slots (tests).
#[cfg(all(test, not(loom)))]
fn filled() -> usize {
    // Acquire: as in `site`.
    TABLE.iter().filter(|s| !s.load(Acquire).is_null()).count()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_site_keeps_its_index_and_maps_back() {
        let here = Location::caller();
        let i = intern(here);
        assert_ne!(i, 0);
        assert_eq!(intern(here), i);
        assert!(std::ptr::eq(site(i).unwrap(), here));
        let there = Location::caller();
        let j = intern(there);
        assert_ne!(i, j);
        assert!(std::ptr::eq(site(j).unwrap(), there));
        assert!(site(0).is_none());
        assert!(filled() >= 2);
    }

    /// Threads racing to insert the same sites agree on every index (the
    /// CAS from null decides, and a loser finds the winner's entry).
    #[test]
    fn racing_threads_agree_on_each_sites_index() {
        #[rustfmt::skip]
        let sites: [&'static Site; 8] = [Location::caller(), Location::caller(), Location::caller(), Location::caller(), Location::caller(), Location::caller(), Location::caller(), Location::caller()];
        let barrier = std::sync::Barrier::new(4);
        let seen: Vec<Vec<u16>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        sites.iter().map(|l| intern(l)).collect::<Vec<u16>>()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for other in &seen[1..] {
            assert_eq!(other, &seen[0]);
        }
        for (l, &i) in sites.iter().zip(&seen[0]) {
            assert!(std::ptr::eq(site(i).unwrap(), *l), "each index maps back to its own site");
        }
    }
}
