//! The poll-duration histogram: how long a sample of task polls took, in
//! log-scaled buckets.
//!
//! The buckets are fixed (`scheduler::stats::poll_bucket`): bucket `k` of
//! the first `PollHistogram::BUCKETS - 1` holds the polls that took at most
//! `1 us << k` (1 us, 2 us, 4 us, ... 2^20 us = 1.048576 s), and the last
//! bucket holds the longer ones (its bound is +Inf). Each worker keeps its
//! own counts in its core and publishes them with its other counters
//! (docs/design/metrics.md); a runtime-wide histogram is their sum.

use crate::rt::scheduler::stats::{poll_bucket_bound_ns, POLL_BUCKETS};
use std::time::Duration;

/// Counts of polls by duration, from [`crate::metrics::WorkerMetrics::poll_histogram`]
/// (one worker) or [`crate::metrics::RuntimeMetrics::poll_histogram`] (all
/// workers).
///
/// Counts are per bucket, not cumulative; [`PollHistogram::cumulative`]
/// gives the running totals Prometheus expects.
///
/// **A sample**: each worker times one poll in 32, its 32nd, 64th, ...
/// poll (timing a poll reads the clock twice, which costs as much as a
/// cheap poll). So `total_count()` is a 32nd of the polls (less timed polls
/// that called `task::block_in_place`, which are left out) and `sum()` the
/// summed duration of the sampled polls, not the worker's busy time. The
/// shape of the distribution is what it tells; a rare long poll may fall
/// between samples, but stalls (polls over the stall threshold) are
/// counted exactly, by the monitor
/// ([`WorkerMetrics::stalls`](crate::metrics::WorkerMetrics::stalls)).
///
/// ```
/// use std::time::Duration;
/// use weft::metrics::PollHistogram;
///
/// // Bucket k holds polls of at most 1 us << k; the last is unbounded.
/// assert_eq!(PollHistogram::bucket_bound(0), Some(Duration::from_micros(1)));
/// assert_eq!(PollHistogram::bucket_of(Duration::from_micros(3)), 2); // 2 us < 3 us <= 4 us
/// assert_eq!(PollHistogram::bucket_bound(PollHistogram::BUCKETS - 1), None);
///
/// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     for _ in 0..64 {
///         weft::spawn(async {}).await.unwrap();
///     }
/// });
/// let mut all = PollHistogram::default();
/// for w in rt.metrics().workers() {
///     all.merge(&w.poll_histogram());
/// }
/// // Cumulative counts end with the total (Prometheus's `le="+Inf"`).
/// let (bound, total) = all.cumulative().last().unwrap();
/// assert_eq!((bound, total), (None, all.total_count()));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollHistogram {
    counts: [u64; POLL_BUCKETS],
    sum_ns: u64,
}

impl PollHistogram {
    /// Number of buckets, the last one unbounded (+Inf).
    pub const BUCKETS: usize = POLL_BUCKETS;

    pub(crate) fn new(counts: [u64; POLL_BUCKETS], sum_ns: u64) -> PollHistogram {
        PollHistogram { counts, sum_ns }
    }

    /// The inclusive upper bound of bucket `k`: `1 us << k` for every bucket
    /// but the last, `None` (+Inf) for the last. Panics if
    /// `k >= PollHistogram::BUCKETS`.
    pub fn bucket_bound(k: usize) -> Option<Duration> {
        assert!(k < POLL_BUCKETS, "weft: poll histogram bucket {k} out of range (there are {POLL_BUCKETS})");
        poll_bucket_bound_ns(k).map(Duration::from_nanos)
    }

    /// The upper bounds of all buckets in order, the last `None` (+Inf).
    pub fn bounds() -> impl Iterator<Item = Option<Duration>> {
        (0..POLL_BUCKETS).map(PollHistogram::bucket_bound)
    }

    /// The bucket a poll of duration `d` is counted in.
    pub fn bucket_of(d: Duration) -> usize {
        crate::rt::scheduler::stats::poll_bucket(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    /// Polls counted in each bucket (not cumulative), `BUCKETS` entries.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Polls counted in bucket `k`. Panics if `k >= PollHistogram::BUCKETS`.
    pub fn bucket_count(&self, k: usize) -> u64 {
        assert!(k < POLL_BUCKETS, "weft: poll histogram bucket {k} out of range (there are {POLL_BUCKETS})");
        self.counts[k]
    }

    /// `(upper bound, polls in this bucket or below)` for every bucket, the
    /// last bound `None` (+Inf) with the total count: Prometheus's `le`
    /// buckets.
    pub fn cumulative(&self) -> impl Iterator<Item = (Option<Duration>, u64)> + '_ {
        PollHistogram::bounds().zip(self.counts.iter().scan(0u64, |acc, &c| {
            *acc = acc.saturating_add(c);
            Some(*acc)
        }))
    }

    /// Polls counted in all buckets.
    pub fn total_count(&self) -> u64 {
        self.counts.iter().fold(0u64, |a, &c| a.saturating_add(c))
    }

    /// The summed duration of the polls counted (the sampled polls only).
    pub fn sum(&self) -> Duration {
        Duration::from_nanos(self.sum_ns)
    }

    /// An upper bound of the `q`-quantile (`q` in 0..=1; 0.99 for p99): the
    /// bound of the bucket that holds it, `Duration::MAX` for the last
    /// bucket; `None` if the histogram is empty. Buckets double, so the
    /// bound is within a factor of two of the true value.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {
    ///     for _ in 0..64 {
    ///         weft::spawn(async {}).await.unwrap();
    ///     }
    /// });
    /// let h = rt.metrics().poll_histogram();
    /// if let (Some(p50), Some(p99)) = (h.quantile(0.5), h.quantile(0.99)) {
    ///     assert!(p50 <= p99);
    ///     println!("polls: p50 <= {p50:?}, p99 <= {p99:?}");
    /// }
    /// ```
    pub fn quantile(&self, q: f64) -> Option<std::time::Duration> {
        let total = self.total_count();
        if total == 0 {
            return None;
        }
        // The rank of the quantile, 1-based; a NaN `q` counts as 0.
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let (bound, _) = self.cumulative().find(|&(_, c)| c >= rank)?;
        Some(bound.unwrap_or(Duration::MAX))
    }

    /// Adds `other`'s counts and sum to this histogram.
    pub fn merge(&mut self, other: &PollHistogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a = a.saturating_add(*b);
        }
        self.sum_ns = self.sum_ns.saturating_add(other.sum_ns);
    }

    /// This histogram without `part`'s samples (a part of it: what is left
    /// of a total once the other classes' samples are taken out).
    /// Saturating, so counts published at slightly different moments never
    /// underflow.
    pub(crate) fn without(&self, part: &PollHistogram) -> PollHistogram {
        let mut h = self.clone();
        for (a, b) in h.counts.iter_mut().zip(&part.counts) {
            *a = a.saturating_sub(*b);
        }
        h.sum_ns = h.sum_ns.saturating_sub(part.sum_ns);
        h
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_part_taken_out_leaves_the_rest_and_never_underflows() {
        let mut total = [0u64; POLL_BUCKETS];
        total[0] = 5;
        total[3] = 2;
        let mut part = [0u64; POLL_BUCKETS];
        part[0] = 2;
        part[3] = 3;
        let rest = PollHistogram::new(total, 900).without(&PollHistogram::new(part, 1_000));
        assert_eq!(rest.counts()[0], 3);
        assert_eq!(rest.counts()[3], 0);
        assert_eq!(rest.total_count(), 3);
        assert_eq!(rest.sum(), Duration::ZERO);
    }

    #[test]
    fn bounds_are_powers_of_two_from_one_microsecond() {
        let bounds: Vec<_> = PollHistogram::bounds().collect();
        assert_eq!(bounds.len(), PollHistogram::BUCKETS);
        assert_eq!(bounds[0], Some(Duration::from_micros(1)));
        assert_eq!(bounds[15], Some(Duration::from_micros(32_768)));
        assert_eq!(bounds[20], Some(Duration::from_micros(1 << 20)));
        assert_eq!(bounds[21], None);
        assert_eq!(PollHistogram::bucket_of(Duration::from_millis(20)), 15);
        assert_eq!(PollHistogram::bucket_of(Duration::from_secs(2)), 21);
        assert_eq!(PollHistogram::bucket_of(Duration::MAX), 21);
    }

    #[test]
    fn cumulative_merge_and_totals() {
        let mut counts = [0; POLL_BUCKETS];
        counts[0] = 2;
        counts[3] = 1;
        counts[21] = 4;
        let mut h = PollHistogram::new(counts, 5_000);
        assert_eq!(h.total_count(), 7);
        assert_eq!(h.sum(), Duration::from_micros(5));
        let cum: Vec<u64> = h.cumulative().map(|(_, c)| c).collect();
        assert_eq!(&cum[..5], &[2, 2, 2, 3, 3]);
        assert_eq!(cum.last(), Some(&7));
        assert!(cum.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(h.quantile(0.0), Some(Duration::from_micros(1)));
        assert_eq!(h.quantile(0.2857), Some(Duration::from_micros(1)), "2 of 7");
        assert_eq!(h.quantile(0.4), Some(Duration::from_micros(8)), "the 3rd of 7");
        assert_eq!(h.quantile(0.99), Some(Duration::MAX));
        assert_eq!(PollHistogram::default().quantile(0.5), None);
        h.merge(&h.clone());
        assert_eq!(h.total_count(), 14);
        assert_eq!(h.bucket_count(21), 8);
        assert_eq!(h.sum(), Duration::from_micros(10));
    }
}
