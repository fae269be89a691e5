//! Brisk statements: how long each statement's recent runs on a node kept their connection busy,
//! so that statements known to be short can be gathered onto few connections (see `lane.rs`)
//! while a long one, or one never seen, never collects a queue behind it.
//!
//! One fixed table of packed words per node, indexed by the statement's fingerprint: no lock, no
//! allocation per statement, bounded memory. Two fingerprints on one slot evict each other; a
//! statement not in the table is unknown, and an unknown statement is never brisk.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::fingerprint::Fingerprint;

/// Slots per node.
const SLOTS: usize = 1024;

/// A statement whose runs here kept their connection busy for less than this on average is
/// brisk: a few of them queued on one connection wait for each other only a little.
pub(super) const BRISK: Duration = Duration::from_millis(1);

/// Runs seen before a statement's mean counts.
const KNOWN_AFTER: u64 = 4;

/// The weight of the newest run is at least 1/this: one slow run makes a statement
/// slow at once, and it takes a few quick ones to be brisk again.
const SMOOTHING: u64 = 4;

/// Per node: fingerprint → recent mean service time.
pub(super) struct Brisk {
    slots: Box<[AtomicU64]>,
}

impl Brisk {
    pub(super) fn new() -> Brisk {
        Brisk {
            slots: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn slot(&self, fingerprint: Fingerprint) -> &AtomicU64 {
        &self.slots[fingerprint.0 as usize % SLOTS]
    }

    /// Whether the statement's recent runs here were all short enough, on average.
    pub(super) fn is_brisk(&self, fingerprint: Fingerprint) -> bool {
        let word = Word(self.slot(fingerprint).load(Ordering::Relaxed));
        word.tag() == tag(fingerprint) && word.runs() >= KNOWN_AFTER && word.mean_us() < BRISK_US
    }

    /// One run of the statement kept its connection busy for `service`.
    pub(super) fn record(&self, fingerprint: Fingerprint, service: Duration) {
        let slot = self.slot(fingerprint);
        // A race between two runs loses one of them: the mean is a hint, not a count.
        let word = Word(slot.load(Ordering::Relaxed));
        let us = u64::try_from(service.as_micros()).unwrap_or(u64::MAX);
        slot.store(word.with_run(tag(fingerprint), us).0, Ordering::Relaxed);
    }
}

const BRISK_US: u64 = BRISK.as_micros() as u64;

/// The fingerprint's bits a slot keeps to tell fingerprints apart (the others chose the slot).
fn tag(fingerprint: Fingerprint) -> u64 {
    fingerprint.0 >> 40
}

/// A slot's word: tag (24 bits), runs (8 bits, saturating), mean service in µs (32 bits,
/// saturating).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Word(u64);

impl Word {
    fn new(tag: u64, runs: u64, mean_us: u64) -> Word {
        Word(tag << 40 | runs.min(0xff) << 32 | mean_us.min(0xffff_ffff))
    }

    fn tag(self) -> u64 {
        self.0 >> 40
    }

    fn runs(self) -> u64 {
        self.0 >> 32 & 0xff
    }

    fn mean_us(self) -> u64 {
        self.0 & 0xffff_ffff
    }

    /// The word after one more run of `us` by the statement tagged `tag` (its first, when the
    /// slot held another statement's).
    fn with_run(self, tag: u64, us: u64) -> Word {
        if self.tag() != tag || self.runs() == 0 {
            return Word::new(tag, 1, us);
        }
        let runs = self.runs() + 1;
        let mean = self.mean_us() as i64;
        let sample = us.min(0xffff_ffff) as i64;
        // The plain average over the first runs, then a moving average.
        let weight = runs.min(SMOOTHING) as i64;
        Word::new(tag, runs, (mean + (sample - mean) / weight) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUICK: Duration = Duration::from_micros(200);
    const SLOW: Duration = Duration::from_millis(50);

    fn runs(brisk: &Brisk, fingerprint: Fingerprint, service: Duration, n: usize) {
        for _ in 0..n {
            brisk.record(fingerprint, service);
        }
    }

    /// A statement never seen is not brisk; nor is one seen fewer than `KNOWN_AFTER` times.
    #[test]
    fn unknown_until_seen_enough() {
        let brisk = Brisk::new();
        let f = Fingerprint(0x1234_5678_9abc_def0);
        assert!(!brisk.is_brisk(f));
        runs(&brisk, f, QUICK, KNOWN_AFTER as usize - 1);
        assert!(!brisk.is_brisk(f));
        runs(&brisk, f, QUICK, 1);
        assert!(brisk.is_brisk(f));
    }

    /// One slow run makes a brisk statement slow at once; quick runs make it brisk again.
    #[test]
    fn one_slow_run_counts_at_once() {
        let brisk = Brisk::new();
        let f = Fingerprint(42 << 40 | 7);
        runs(&brisk, f, QUICK, 100);
        assert!(brisk.is_brisk(f));
        runs(&brisk, f, SLOW, 1);
        assert!(!brisk.is_brisk(f));
        runs(&brisk, f, QUICK, 20);
        assert!(brisk.is_brisk(f));
    }

    /// A statement whose runs are long is never brisk.
    #[test]
    fn long_statements() {
        let brisk = Brisk::new();
        let f = Fingerprint(9 << 40);
        runs(&brisk, f, BRISK, 10);
        assert!(!brisk.is_brisk(f));
    }

    /// Two fingerprints on one slot: the newer evicts the older, which is unknown again (never
    /// mistaken for brisk on the other's runs).
    #[test]
    fn fingerprints_sharing_a_slot() {
        let brisk = Brisk::new();
        let a = Fingerprint(1 << 40 | 5);
        let b = Fingerprint(2 << 40 | 5);
        runs(&brisk, a, QUICK, 10);
        runs(&brisk, b, SLOW, 1);
        assert!(!brisk.is_brisk(a));
        assert!(!brisk.is_brisk(b));
    }

    /// Runs and the mean saturate instead of wrapping.
    #[test]
    fn saturates() {
        let w = Word::new(3, 1_000, u64::MAX);
        assert_eq!((w.tag(), w.runs(), w.mean_us()), (3, 0xff, 0xffff_ffff));
        let next = w.with_run(3, u64::MAX);
        assert_eq!((next.runs(), next.mean_us()), (0xff, 0xffff_ffff));
    }
}
