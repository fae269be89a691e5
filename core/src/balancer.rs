//! Picks the replica for the next read: round-robin over the replicas that are eligible.

use std::sync::atomic::{AtomicUsize, Ordering};

/// A lock-free round-robin cursor shared by every caller.
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: AtomicUsize,
}

impl RoundRobin {
    /// The next eligible index among `count`, starting after the previous pick; `None` when no
    /// index is eligible. Unhealthy replicas are skipped without shifting the rotation of the
    /// others more than needed.
    pub fn pick(&self, count: usize, eligible: impl Fn(usize) -> bool) -> Option<usize> {
        if count == 0 {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..count)
            .map(|offset| (start + offset) % count)
            .find(|&i| eligible(i))
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

    /// Ineligible replicas are never picked and the rest share the load evenly.
    #[test]
    fn skips_ineligible() {
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
