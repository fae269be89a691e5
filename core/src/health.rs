//! Replica health: the state machine (pure) and a thread-safe cell the router reads without locks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// What a recorded outcome did to a replica's eligibility, for logs and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Unchanged,
    BecameHealthy,
    BecameUnhealthy,
}

/// One replica's health. A replica is healthy only after a passing check; `threshold`
/// consecutive failures (from checks or from queries) make it unhealthy again.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HealthState {
    pub healthy: bool,
    pub failure_count: u32,
    pub last_check: Option<SystemTime>,
    pub response_time: Option<Duration>,
}

impl HealthState {
    pub fn check_passed(&mut self, at: SystemTime, response_time: Duration) -> Transition {
        let was = self.healthy;
        self.healthy = true;
        self.failure_count = 0;
        self.last_check = Some(at);
        self.response_time = Some(response_time);
        if was {
            Transition::Unchanged
        } else {
            Transition::BecameHealthy
        }
    }

    pub fn check_failed(&mut self, at: SystemTime, threshold: u32) -> Transition {
        self.last_check = Some(at);
        self.failed(threshold)
    }

    /// A query on this replica failed for a connection reason.
    pub fn query_failed(&mut self, threshold: u32) -> Transition {
        self.failed(threshold)
    }

    fn failed(&mut self, threshold: u32) -> Transition {
        self.failure_count = self.failure_count.saturating_add(1);
        if self.healthy && self.failure_count >= threshold {
            self.healthy = false;
            Transition::BecameUnhealthy
        } else {
            Transition::Unchanged
        }
    }
}

/// A replica's health as shared between the health checker, the query path and status reads.
#[derive(Debug, Default)]
pub struct SharedHealth {
    state: Mutex<HealthState>,
    /// Mirrors `state.healthy` so that routing never takes the lock.
    healthy: AtomicBool,
}

impl SharedHealth {
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    pub fn snapshot(&self) -> HealthState {
        self.lock().clone()
    }

    /// Applies `change` to the state and republishes the healthy flag.
    pub fn update(&self, change: impl FnOnce(&mut HealthState) -> Transition) -> Transition {
        let mut state = self.lock();
        let transition = change(&mut state);
        self.healthy.store(state.healthy, Ordering::Relaxed);
        transition
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HealthState> {
        // The state stays consistent even if a holder panicked: every update is a few stores.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// A replica is not used before its first passing check.
    #[test]
    fn starts_unhealthy_until_a_check_passes() {
        let mut s = HealthState::default();
        assert!(!s.healthy);
        assert_eq!(s.check_failed(SystemTime::now(), 3), Transition::Unchanged);
        assert!(!s.healthy);
        assert_eq!(
            s.check_passed(SystemTime::now(), MS),
            Transition::BecameHealthy
        );
        assert!(s.healthy);
        assert_eq!(s.failure_count, 0);
    }

    /// Three consecutive failures eject a healthy replica; fewer do not.
    #[test]
    fn threshold_failures_make_unhealthy() {
        let mut s = HealthState::default();
        s.check_passed(SystemTime::now(), MS);
        assert_eq!(s.check_failed(SystemTime::now(), 3), Transition::Unchanged);
        assert_eq!(s.query_failed(3), Transition::Unchanged);
        assert!(s.healthy);
        assert_eq!(
            s.check_failed(SystemTime::now(), 3),
            Transition::BecameUnhealthy
        );
        assert!(!s.healthy);
        assert_eq!(s.failure_count, 3);
        assert_eq!(s.check_failed(SystemTime::now(), 3), Transition::Unchanged);
    }

    /// A pass in between resets the count: failures must be consecutive.
    #[test]
    fn a_pass_resets_the_count() {
        let mut s = HealthState::default();
        s.check_passed(SystemTime::now(), MS);
        s.check_failed(SystemTime::now(), 3);
        s.check_failed(SystemTime::now(), 3);
        s.check_passed(SystemTime::now(), 2 * MS);
        assert_eq!(s.failure_count, 0);
        s.check_failed(SystemTime::now(), 3);
        assert!(s.healthy);
        assert_eq!(s.response_time, Some(2 * MS));
    }

    /// The lock-free flag follows every update.
    #[test]
    fn shared_flag_mirrors_state() {
        let h = SharedHealth::default();
        assert!(!h.is_healthy());
        h.update(|s| s.check_passed(SystemTime::now(), MS));
        assert!(h.is_healthy());
        for _ in 0..3 {
            h.update(|s| s.query_failed(3));
        }
        assert!(!h.is_healthy());
    }
}
