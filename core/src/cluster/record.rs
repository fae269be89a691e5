//! What the cluster learns — health checks, failed connections, the primary's state — recorded
//! in one place, with the events that tell an operator about it.

use std::sync::atomic::Ordering;
use std::time::SystemTime;

use super::Cluster;
use crate::error::CoreError;
use crate::events::{Event, EventKind};
use crate::health::{HealthState, PrimaryObservation, ReplicaCheck, Role, Transition};
use crate::lsn::Lsn;
use crate::node::Node;

impl Cluster {
    /// Counts a connection failure seen by a query toward the replica's health.
    pub fn replica_connection_failed(&self, i: usize) -> Transition {
        let limits = self.limits();
        let before = self.replicas[i].health.snapshot();
        let transition = self.replicas[i].health.update(|s| s.query_failed(&limits));
        self.replica_event(i, &before, transition, "queries failed to reach it");
        transition
    }

    /// Sends an event, when anyone listens.
    pub fn emit(&self, kind: EventKind, node: &Node, message: String) {
        if let Some(sink) = self.events.get() {
            sink(Event {
                kind,
                node: node.name().to_string(),
                address: node.address(),
                message,
                at: SystemTime::now(),
            });
        }
    }

    /// Tells why replica `i` left or rejoined the read rotation.
    fn replica_event(&self, i: usize, before: &HealthState, transition: Transition, cause: &str) {
        let node = &self.replicas[i].node;
        let now = self.replicas[i].health.snapshot();
        if before.last_check.is_none() && now.last_check.is_some() {
            // The first check: admission is quiet, a replica down from the start is not.
            if !now.healthy {
                self.emit(
                    EventKind::ReplicaUnhealthy,
                    node,
                    format!(
                        "{} failed its first health check ({cause}); reads skip it",
                        node.label()
                    ),
                );
            }
            return;
        }
        let (kind, message) = match transition {
            Transition::Unchanged => return,
            Transition::BecameIneligible if !now.healthy => (
                EventKind::ReplicaUnhealthy,
                format!(
                    "{} is unhealthy after {} consecutive failures ({cause}); reads skip it",
                    node.label(),
                    now.failure_count
                ),
            ),
            Transition::BecameIneligible if now.role == Some(Role::Primary) => (
                EventKind::ReplicaPromoted,
                format!(
                    "{} is no longer a standby (promoted?); reads skip it",
                    node.label()
                ),
            ),
            Transition::BecameIneligible => (
                EventKind::ReplicaLagging,
                format!(
                    "{} is {} bytes / {} ms behind the primary, over the limit; reads skip it",
                    node.label(),
                    now.lag_bytes.unwrap_or(0),
                    now.lag.map_or(0, |l| l.as_millis())
                ),
            ),
            Transition::BecameEligible if before.lagging && before.healthy => (
                EventKind::ReplicaCaughtUp,
                format!(
                    "{} caught up and is back in the read rotation",
                    node.label()
                ),
            ),
            Transition::BecameEligible => (
                EventKind::ReplicaRecovered,
                format!("{} is healthy and in the read rotation", node.label()),
            ),
        };
        self.emit(kind, node, message);
    }

    /// One failover event per replica per second at most: never a line per query.
    pub(super) fn failover_event(&self, i: usize, error: &CoreError) {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let last = &self.replicas[i].last_failover_event;
        let before = last.load(Ordering::Relaxed);
        if now.saturating_sub(before) >= 1000
            && last
                .compare_exchange(before, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let node = &self.replicas[i].node;
            self.emit(
                EventKind::Failover,
                node,
                format!(
                    "reads on {} failed over to the primary: {error}",
                    node.label()
                ),
            );
        }
    }

    /// Records the outcome of one health check of replica `i`.
    pub(crate) fn record_check(
        &self,
        i: usize,
        outcome: Result<ReplicaCheck, CoreError>,
    ) -> Transition {
        let now = SystemTime::now();
        let limits = self.limits();
        let before = self.replicas[i].health.snapshot();
        let (transition, cause) = match outcome {
            Ok(check) => (
                self.replicas[i]
                    .health
                    .update(|s| s.check_passed(now, check.response_time, check.seen, &limits)),
                String::new(),
            ),
            Err(e) => {
                self.counters.health_check_failure();
                self.replicas[i]
                    .check_failures
                    .fetch_add(1, Ordering::Relaxed);
                (
                    self.replicas[i]
                        .health
                        .update(|s| s.check_failed(now, &limits)),
                    format!("health check: {e}"),
                )
            }
        };
        self.replica_event(i, &before, transition, &cause);
        transition
    }

    /// Records the outcome of one health check of the primary; returns its WAL position, the
    /// reference for the replicas' lag.
    pub(crate) fn record_primary_check(
        &self,
        outcome: Result<PrimaryObservation, CoreError>,
    ) -> Option<Lsn> {
        let mut state = self.primary_state.lock().unwrap_or_else(|e| e.into_inner());
        let before = state.clone();
        state.last_check = Some(SystemTime::now());
        let error = match outcome {
            Ok(seen) => {
                state.reachable = Some(true);
                state.role = Some(if seen.in_recovery {
                    Role::Replica
                } else {
                    Role::Primary
                });
                state.wal_lsn = seen.wal_lsn;
                None
            }
            Err(e) => {
                state.reachable = Some(false);
                state.wal_lsn = None;
                Some(e)
            }
        };
        let now = state.clone();
        drop(state);
        let label = self.primary.label();
        match (before.reachable, now.reachable, error) {
            (Some(true) | None, Some(false), Some(e)) => self.emit(
                EventKind::PrimaryUnreachable,
                &self.primary,
                format!("the primary {label} is unreachable: {e}"),
            ),
            (Some(false), Some(true), _) => self.emit(
                EventKind::PrimaryReachable,
                &self.primary,
                format!("the primary {label} is reachable again"),
            ),
            _ => {}
        }
        if now.role == Some(Role::Replica) && before.role != Some(Role::Replica) {
            self.emit(
                EventKind::PrimaryInRecovery,
                &self.primary,
                format!("the configured primary {label} is a standby: writes will fail"),
            );
        }
        now.wal_lsn
    }
}
