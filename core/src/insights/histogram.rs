//! Statement durations as a log-linear histogram (lock-free): eight buckets per power of two of
//! microseconds, so a percentile read back is within ±6% of the true one, in fixed memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Buckets below 2³ µs are exact; each power of two above gets [`PER_OCTAVE`].
const PER_OCTAVE: u32 = 8;
/// Durations from 2^[`TOP_OCTAVE`] µs (about 9.5 hours) up share the last octave.
const TOP_OCTAVE: u32 = 35;
const BUCKETS: usize = ((TOP_OCTAVE - 2) * PER_OCTAVE) as usize;

pub struct DurationHistogram {
    counts: Box<[AtomicU64]>,
}

impl Default for DurationHistogram {
    fn default() -> Self {
        DurationHistogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// The bucket of `micros`.
fn bucket(micros: u64) -> usize {
    if micros < u64::from(PER_OCTAVE) {
        return micros as usize;
    }
    let octave = (63 - micros.leading_zeros()).min(TOP_OCTAVE - 1);
    let shift = octave - 3;
    let sub = (micros >> shift).min(15) & 7;
    ((octave - 2) * PER_OCTAVE) as usize + sub as usize
}

/// The middle of bucket `i`, in microseconds.
fn midpoint(i: usize) -> f64 {
    let per = PER_OCTAVE as usize;
    if i < per {
        return i as f64 + 0.5;
    }
    let octave = (i / per) as u32 + 2;
    let sub = (i % per) as u64;
    let width = 1u64 << (octave - 3);
    ((8 + sub) * width) as f64 + width as f64 / 2.0
}

impl DurationHistogram {
    pub fn record(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.counts[bucket(micros)].fetch_add(1, Ordering::Relaxed);
    }

    /// How many durations were recorded, and the `q` quantiles (each in 0..=1) in
    /// milliseconds (0 before any record).
    pub fn read<const N: usize>(&self, qs: [f64; N]) -> (u64, [f64; N]) {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return (0, [0.0; N]);
        }
        let quantiles = qs.map(|q| {
            // The rank of the q-th value, 1-based, as the nearest-rank method counts.
            let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
            let mut seen = 0;
            let i = counts
                .iter()
                .position(|&c| {
                    seen += c;
                    seen >= rank
                })
                .unwrap_or(BUCKETS - 1);
            midpoint(i) / 1000.0
        });
        (total, quantiles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every duration lands in a bucket whose midpoint is within 1/16 of it.
    #[test]
    fn buckets_are_within_six_percent() {
        for micros in (8..2_000_000u64).step_by(997) {
            let mid = midpoint(bucket(micros));
            assert!(
                (mid - micros as f64).abs() <= micros as f64 / 16.0 + 0.5,
                "{micros} → {mid}"
            );
        }
    }

    /// Small durations are exact; huge ones share the last bucket without overflowing.
    #[test]
    fn ends_of_the_range() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(7), 7);
        assert_eq!(bucket(8), 8);
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
        assert!(bucket(1 << 40) < BUCKETS);
    }

    /// p50 and p99 follow the recorded distribution (nearest rank).
    #[test]
    fn quantiles_of_a_distribution() {
        let h = DurationHistogram::default();
        assert_eq!(h.read([0.5]), (0, [0.0]));
        for _ in 0..98 {
            h.record(Duration::from_millis(1));
        }
        h.record(Duration::from_millis(100));
        h.record(Duration::from_millis(100));
        let (count, [p50, p99]) = h.read([0.5, 0.99]);
        assert_eq!(count, 100);
        assert!((p50 - 1.0).abs() < 0.07, "{p50}");
        assert!((p99 - 100.0).abs() < 7.0, "{p99}");
    }
}
