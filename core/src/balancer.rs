//! Picks the member for the next read: round-robin over the members that are eligible.

use std::sync::atomic::{AtomicUsize, Ordering};

/// A lock-free round-robin cursor shared by every caller.
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: AtomicUsize,
}

impl RoundRobin {
    /// The next of the eligible indexes among `count`, in turn; `None` when none is eligible.
    /// Each eligible index gets an equal share however many are skipped (the primary is always
    /// among the members, and never a reader).
    pub fn pick(&self, count: usize, eligible: impl Fn(usize) -> bool) -> Option<usize> {
        let eligible_count = (0..count).filter(|&i| eligible(i)).count();
        if eligible_count == 0 {
            return None;
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed) % eligible_count;
        // Eligibility may change between the two passes: then take the first still eligible.
        let mut candidates = (0..count).filter(|&i| eligible(i));
        candidates.clone().nth(turn).or_else(|| candidates.next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With every replica eligible, picks cycle through them in order.
    #[test]
    fn cycles_through_all() {
        let rr = RoundRobin::default();
        let picks: Vec<_> = (0..6).map(|_| rr.pick(3, |_| true).unwrap()).collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2]);
    }

    /// Ineligible members are never picked and the rest share the load exactly evenly, wherever
    /// the ineligible ones stand.
    #[test]
    fn skips_ineligible() {
        for skipped in 0..3 {
            let rr = RoundRobin::default();
            let mut counts = [0; 3];
            for _ in 0..300 {
                counts[rr.pick(3, |i| i != skipped).unwrap()] += 1;
            }
            let mut expected = [150; 3];
            expected[skipped] = 0;
            assert_eq!(counts, expected, "member {skipped} skipped");
        }
        let rr = RoundRobin::default();
        let mut counts = [0; 3];
        for _ in 0..300 {
            counts[rr.pick(3, |i| i != 1).unwrap()] += 1;
        }
        assert_eq!(counts[1], 0);
        assert_eq!(counts[0] + counts[2], 300);
        assert!(counts[0] >= 100 && counts[2] >= 100, "{counts:?}");
    }

    /// No eligible replica, or none configured, gives no pick.
    #[test]
    fn none_when_nothing_eligible() {
        let rr = RoundRobin::default();
        assert_eq!(rr.pick(2, |_| false), None);
        assert_eq!(rr.pick(0, |_| true), None);
    }
}
