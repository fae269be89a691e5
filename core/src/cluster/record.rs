//! What the cluster learns — health checks, failed connections, statements run — recorded in one
//! place, with the events that tell an operator about it. Every recorded check re-runs the election.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use super::Cluster;
use crate::error::CoreError;
use crate::events::{Event, EventKind};
use crate::health::{Check, HealthState, Role, Transition};
use crate::insights::Trail;
use crate::node::Node;
use crate::result::Outcome;
use crate::statement::Statements;

impl Cluster {
    /// Records the outcome of one health check of member `i`. A member whose role or timeline
    /// changed, or that is reachable again, has its pooled connections drained: they were opened
    /// for the old role (or, behind a name that moved, to another server).
    pub(crate) fn record_check(&self, i: usize, outcome: Result<Check, CoreError>) {
        let now = SystemTime::now();
        let limits = self.limits();
        let member = &self.members[i];
        *member.check_error.lock().unwrap_or_else(|e| e.into_inner()) =
            outcome.as_ref().err().cloned();
        // Before and after are taken in the same update, so concurrent checks of one member
        // (its loop, a refresh) never both report the same change.
        let (mut before, mut after) = (HealthState::default(), HealthState::default());
        let mut record = |change: &mut dyn FnMut(&mut HealthState) -> Transition| {
            member.health.update(|s| {
                before = s.clone();
                let transition = change(s);
                after = s.clone();
                transition
            })
        };
        let (transition, cause) = match outcome {
            Ok(check) => (
                record(&mut |s| s.check_passed(now, check.response_time, check.seen, &limits)),
                String::new(),
            ),
            Err(e) => {
                self.counters.health_check_failure();
                member.check_failures.fetch_add(1, Ordering::Relaxed);
                (
                    record(&mut |s| s.check_failed(now, &limits)),
                    format!("health check: {e}"),
                )
            }
        };
        let role_changed = matches!((before.role, after.role), (Some(was), Some(is)) if was != is);
        let back = after.reachable && !before.reachable && before.last_check.is_some();
        let new_timeline = after.timeline.is_some()
            && before.timeline.is_some()
            && after.timeline != before.timeline;
        if role_changed || back || new_timeline {
            member.node.drain();
        }
        match after.role {
            Some(role) if role_changed => self.role_changed(i, role),
            _ => self.read_rotation_event(i, &before, &after, transition, &cause),
        }
        self.reelect(&cause);
    }

    /// Member `i` turned primary (promoted) or standby (demoted).
    fn role_changed(&self, i: usize, role: Role) {
        let node = &self.members[i].node;
        let (kind, message) = match role {
            Role::Primary => (
                EventKind::MemberPromoted,
                format!("{} was promoted: it is a primary now", node.label()),
            ),
            Role::Replica => (
                EventKind::MemberDemoted,
                format!("{} is a standby now", node.label()),
            ),
        };
        self.emit(kind, node, message);
    }

    /// Counts a connection failure seen by a query toward member `i`'s health.
    pub fn member_connection_failed(&self, i: usize) {
        let limits = self.limits();
        let member = &self.members[i];
        let before = member.health.snapshot();
        let transition = member.health.update(|s| s.query_failed(&limits));
        let after = member.health.snapshot();
        self.read_rotation_event(i, &before, &after, transition, "queries failed to reach it");
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
                statement: None,
            });
        }
    }

    /// Records a statement that ran (or failed) in the insights; tells of it when it was slow.
    pub(crate) fn record(
        &self,
        statements: &Statements<'_>,
        outcome: &Result<Outcome, CoreError>,
        elapsed: Duration,
        trail: &mut Trail,
    ) {
        let Some(slow) = self.insights.record(statements, outcome, elapsed, trail) else {
            return;
        };
        let Some(sink) = self.events.get() else {
            return;
        };
        let node = trail.member.map(|m| &self.members[m].node);
        let message = format!(
            "slow query ({:.1} ms on {}): {}",
            slow.duration.as_secs_f64() * 1000.0,
            node.map_or("no member", Node::label),
            slow.fingerprint
        );
        sink(Event {
            kind: EventKind::SlowQuery,
            node: node.map_or_else(String::new, |n| n.name().to_string()),
            address: node.map_or_else(String::new, Node::address),
            message,
            at: SystemTime::now(),
            statement: Some(slow),
        });
    }

    /// Tells why member `i` left or rejoined the read rotation.
    fn read_rotation_event(
        &self,
        i: usize,
        before: &HealthState,
        now: &HealthState,
        transition: Transition,
        cause: &str,
    ) {
        let node = &self.members[i].node;
        if before.last_check.is_none() && now.last_check.is_some() {
            // The first check: admission is quiet, a member down from the start is not.
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
            Transition::BecameIneligible if now.lagging => (
                EventKind::ReplicaLagging,
                format!(
                    "{} is {} bytes / {} ms behind the primary, over the limit; reads skip it",
                    node.label(),
                    now.lag_bytes.unwrap_or(0),
                    now.lag.map_or(0, |l| l.as_millis())
                ),
            ),
            Transition::BecameIneligible => return,
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

    /// A read that failed on member `i` ran elsewhere: counted, and told at most once a second
    /// per member (never a line per query).
    pub(super) fn read_failed_over(&self, i: usize, error: &CoreError) {
        self.member_connection_failed(i);
        self.counters.failover();
        let member = &self.members[i];
        member.failovers.fetch_add(1, Ordering::Relaxed);
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let last = &member.last_failover_event;
        let before = last.load(Ordering::Relaxed);
        if now.saturating_sub(before) >= 1000
            && last
                .compare_exchange(before, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.emit(
                EventKind::Failover,
                &member.node,
                format!("reads on {} failed over: {error}", member.node.label()),
            );
        }
    }
}
