//! Member health: the state machine (pure) and a thread-safe cell the router reads without locks.
//!
//! A member serves reads when it is healthy (its checks pass), a standby, and within the
//! configured replication lag; each of the three is reported on its own. What its latest check
//! saw (reached or not, role, timeline, WAL position) is what [`crate::topology`] elects the
//! writer from.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::lsn::Lsn;
use crate::topology::Sighting;

/// What a recorded outcome did to a replica's eligibility for reads, for logs and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Unchanged,
    BecameEligible,
    BecameIneligible,
}

/// What the node said it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// In recovery: a standby.
    Replica,
    /// Not in recovery: a primary (for a configured replica, a promoted one).
    Primary,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Replica => "replica",
            Role::Primary => "primary",
        }
    }
}

/// What one passing check of a member observed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Observation {
    pub in_recovery: bool,
    /// A standby's replay position, a primary's current WAL position.
    pub wal_lsn: Option<Lsn>,
    /// The timeline a primary writes on (standbys: not asked).
    pub timeline: Option<u32>,
    /// Bytes of WAL the primary has written that this standby has not replayed.
    pub lag_bytes: Option<u64>,
    /// How long ago the standby replayed its last transaction, when it is behind.
    pub lag: Option<Duration>,
}

/// A passing check: what it observed and how long the exchange took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Check {
    pub response_time: Duration,
    pub seen: Observation,
}

/// The thresholds that decide health and lag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub failure_threshold: u32,
    pub recovery_threshold: u32,
    pub max_lag: Option<Duration>,
    pub max_lag_bytes: Option<u64>,
}

/// One member's health. It is healthy after a passing check; `failure_threshold` consecutive
/// failures (from checks or from queries) make it unhealthy, and once ejected it takes
/// `recovery_threshold` consecutive passing checks to come back.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HealthState {
    pub healthy: bool,
    /// The latest check reached the server.
    pub reachable: bool,
    pub failure_count: u32,
    /// Consecutive passing checks since the last failure.
    pub pass_count: u32,
    pub last_check: Option<SystemTime>,
    pub response_time: Option<Duration>,
    pub role: Option<Role>,
    pub timeline: Option<u32>,
    pub wal_lsn: Option<Lsn>,
    pub lag_bytes: Option<u64>,
    pub lag: Option<Duration>,
    /// Behind by more than a configured limit.
    pub lagging: bool,
    /// Was ever ejected: readmission then needs `recovery_threshold` passes.
    ejected: bool,
}

impl HealthState {
    /// Whether reads may go to this member: a healthy standby within the lag limits.
    pub fn eligible(&self) -> bool {
        self.healthy && self.role == Some(Role::Replica) && !self.lagging
    }

    /// What the latest check saw, for the election of the writer.
    pub fn sighting(&self) -> Sighting {
        Sighting {
            reachable: self.reachable,
            role: self.role,
            timeline: self.timeline,
        }
    }

    pub fn check_passed(
        &mut self,
        at: SystemTime,
        response_time: Duration,
        seen: Observation,
        limits: &Limits,
    ) -> Transition {
        self.track(|s| {
            s.failure_count = 0;
            s.pass_count = s.pass_count.saturating_add(1);
            s.reachable = true;
            s.last_check = Some(at);
            s.response_time = Some(response_time);
            s.role = Some(if seen.in_recovery {
                Role::Replica
            } else {
                Role::Primary
            });
            s.timeline = seen.timeline;
            s.wal_lsn = seen.wal_lsn;
            s.lag_bytes = seen.lag_bytes;
            s.lag = seen.lag;
            s.lagging = limits
                .max_lag_bytes
                .zip(seen.lag_bytes)
                .is_some_and(|(max, b)| b > max)
                || limits.max_lag.zip(seen.lag).is_some_and(|(max, l)| l > max);
            if !s.healthy && (!s.ejected || s.pass_count >= limits.recovery_threshold) {
                s.healthy = true;
            }
        })
    }

    pub fn check_failed(&mut self, at: SystemTime, limits: &Limits) -> Transition {
        self.last_check = Some(at);
        self.reachable = false;
        self.failed(limits)
    }

    /// A query on this member failed for a connection reason.
    pub fn query_failed(&mut self, limits: &Limits) -> Transition {
        self.failed(limits)
    }

    fn failed(&mut self, limits: &Limits) -> Transition {
        self.track(|s| {
            s.pass_count = 0;
            s.failure_count = s.failure_count.saturating_add(1);
            if s.healthy && s.failure_count >= limits.failure_threshold {
                s.healthy = false;
                s.ejected = true;
            }
        })
    }

    fn track(&mut self, change: impl FnOnce(&mut Self)) -> Transition {
        let was = self.eligible();
        change(self);
        match (was, self.eligible()) {
            (false, true) => Transition::BecameEligible,
            (true, false) => Transition::BecameIneligible,
            _ => Transition::Unchanged,
        }
    }
}

/// A node's health as shared between the health checker, the query path and status reads.
#[derive(Debug, Default)]
pub struct SharedHealth {
    state: Mutex<HealthState>,
    /// Mirrors `state.eligible()` so that routing never takes the lock.
    eligible: AtomicBool,
}

impl SharedHealth {
    pub fn is_eligible(&self) -> bool {
        self.eligible.load(Ordering::Relaxed)
    }

    pub fn snapshot(&self) -> HealthState {
        self.lock().clone()
    }

    /// Applies `change` to the state and republishes the eligibility flag.
    pub fn update(&self, change: impl FnOnce(&mut HealthState) -> Transition) -> Transition {
        let mut state = self.lock();
        let transition = change(&mut state);
        self.eligible.store(state.eligible(), Ordering::Relaxed);
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
    const LIMITS: Limits = Limits {
        failure_threshold: 3,
        recovery_threshold: 1,
        max_lag: None,
        max_lag_bytes: None,
    };
    const STANDBY: Observation = Observation {
        in_recovery: true,
        wal_lsn: None,
        timeline: None,
        lag_bytes: Some(0),
        lag: None,
    };

    fn pass(s: &mut HealthState, seen: Observation, limits: &Limits) -> Transition {
        s.check_passed(SystemTime::now(), MS, seen, limits)
    }

    /// A replica is not used before its first passing check.
    #[test]
    fn starts_ineligible_until_a_check_passes() {
        let mut s = HealthState::default();
        assert!(!s.eligible());
        assert_eq!(
            s.check_failed(SystemTime::now(), &LIMITS),
            Transition::Unchanged
        );
        assert!(!s.eligible());
        assert_eq!(pass(&mut s, STANDBY, &LIMITS), Transition::BecameEligible);
        assert!(s.healthy && s.eligible());
        assert_eq!(s.failure_count, 0);
        assert_eq!(s.role, Some(Role::Replica));
    }

    /// Three consecutive failures eject a healthy replica; fewer do not.
    #[test]
    fn threshold_failures_eject() {
        let mut s = HealthState::default();
        pass(&mut s, STANDBY, &LIMITS);
        assert_eq!(
            s.check_failed(SystemTime::now(), &LIMITS),
            Transition::Unchanged
        );
        assert_eq!(s.query_failed(&LIMITS), Transition::Unchanged);
        assert!(s.eligible());
        assert_eq!(
            s.check_failed(SystemTime::now(), &LIMITS),
            Transition::BecameIneligible
        );
        assert!(!s.healthy);
        assert_eq!(s.failure_count, 3);
        assert_eq!(
            s.check_failed(SystemTime::now(), &LIMITS),
            Transition::Unchanged
        );
    }

    /// A pass in between resets the count: failures must be consecutive.
    #[test]
    fn a_pass_resets_the_count() {
        let mut s = HealthState::default();
        pass(&mut s, STANDBY, &LIMITS);
        s.check_failed(SystemTime::now(), &LIMITS);
        s.check_failed(SystemTime::now(), &LIMITS);
        s.check_passed(SystemTime::now(), 2 * MS, STANDBY, &LIMITS);
        assert_eq!(s.failure_count, 0);
        s.check_failed(SystemTime::now(), &LIMITS);
        assert!(s.healthy);
        assert_eq!(s.response_time, Some(2 * MS));
    }

    /// An ejected replica needs `recovery_threshold` consecutive passes to come back.
    #[test]
    fn recovery_threshold_readmits() {
        let limits = Limits {
            recovery_threshold: 2,
            ..LIMITS
        };
        let mut s = HealthState::default();
        assert_eq!(pass(&mut s, STANDBY, &limits), Transition::BecameEligible);
        for _ in 0..3 {
            s.check_failed(SystemTime::now(), &limits);
        }
        assert!(!s.eligible());
        assert_eq!(pass(&mut s, STANDBY, &limits), Transition::Unchanged);
        assert!(!s.eligible());
        s.check_failed(SystemTime::now(), &limits);
        assert_eq!(pass(&mut s, STANDBY, &limits), Transition::Unchanged);
        assert_eq!(pass(&mut s, STANDBY, &limits), Transition::BecameEligible);
    }

    /// A replica behind the lag limit is healthy but not eligible, and returns when it catches up.
    #[test]
    fn lagging_replicas_are_skipped() {
        let limits = Limits {
            max_lag_bytes: Some(1000),
            max_lag: Some(Duration::from_secs(5)),
            ..LIMITS
        };
        let mut s = HealthState::default();
        pass(&mut s, STANDBY, &limits);
        let behind = Observation {
            lag_bytes: Some(5000),
            lag: Some(Duration::from_secs(1)),
            ..STANDBY
        };
        assert_eq!(pass(&mut s, behind, &limits), Transition::BecameIneligible);
        assert!(s.healthy && s.lagging && !s.eligible());
        let stale = Observation {
            lag_bytes: Some(10),
            lag: Some(Duration::from_secs(9)),
            ..STANDBY
        };
        assert_eq!(pass(&mut s, stale, &limits), Transition::Unchanged);
        assert_eq!(pass(&mut s, STANDBY, &limits), Transition::BecameEligible);
    }

    /// A replica that left recovery (promoted) is flagged and leaves the read rotation.
    #[test]
    fn promoted_replicas_are_skipped() {
        let mut s = HealthState::default();
        pass(&mut s, STANDBY, &LIMITS);
        let promoted = Observation {
            in_recovery: false,
            ..STANDBY
        };
        assert_eq!(
            pass(&mut s, promoted, &LIMITS),
            Transition::BecameIneligible
        );
        assert_eq!(s.role, Some(Role::Primary));
        assert!(s.healthy);
    }

    /// What the latest check saw is what the election reads: a failed check leaves the role
    /// known but the member unreachable, so it cannot take the writes.
    #[test]
    fn sightings_follow_the_latest_check() {
        let mut s = HealthState::default();
        assert_eq!(s.sighting(), Sighting::default());
        let primary = Observation {
            in_recovery: false,
            timeline: Some(2),
            ..STANDBY
        };
        pass(&mut s, primary, &LIMITS);
        let seen = s.sighting();
        assert!(seen.reachable && seen.role == Some(Role::Primary) && seen.timeline == Some(2));
        s.check_failed(SystemTime::now(), &LIMITS);
        assert!(!s.sighting().reachable);
        assert_eq!(s.sighting().role, Some(Role::Primary));
        // A query failure counts toward health but says nothing of reachability.
        pass(&mut s, primary, &LIMITS);
        s.query_failed(&LIMITS);
        assert!(s.sighting().reachable);
    }

    /// The lock-free flag follows every update.
    #[test]
    fn shared_flag_mirrors_state() {
        let h = SharedHealth::default();
        assert!(!h.is_eligible());
        h.update(|s| s.check_passed(SystemTime::now(), MS, STANDBY, &LIMITS));
        assert!(h.is_eligible());
        for _ in 0..3 {
            h.update(|s| s.query_failed(&LIMITS));
        }
        assert!(!h.is_eligible());
    }
}
