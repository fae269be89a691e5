//! Who is primary now. Every recorded check re-runs the election ([`crate::topology::elect`]);
//! a write that finds no primary, or is refused by the one it found because its role changed,
//! refreshes every member's role at once and waits for the next primary instead of waiting for
//! the next interval.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::{Cluster, Roles, NO_WRITER};
use crate::checker;
use crate::events::EventKind;
use crate::lsn::Lsn;
use crate::topology::{elect, Election};

/// The shortest time between two role refreshes, however many writes ask for one.
const REFRESH_EVERY: Duration = Duration::from_millis(100);

impl Cluster {
    /// The member that takes the writes now.
    pub fn writer(&self) -> Option<usize> {
        match self.writer.load(Ordering::Acquire) {
            NO_WRITER => None,
            w => Some(w),
        }
    }

    /// The member that took the writes last (now, or before the primary was lost).
    pub(super) fn last_writer(&self) -> Option<usize> {
        let roles = self.roles.lock().unwrap_or_else(|e| e.into_inner());
        roles.last_writer
    }

    /// The WAL position of the member that takes (or last took) the writes, at its latest
    /// passing check: the reference for replication lag, kept through a failover.
    pub(crate) fn writer_lsn(&self) -> Option<Lsn> {
        self.last_writer()
            .and_then(|w| self.members[w].health.snapshot().wal_lsn)
    }

    /// Elects the writer from what the latest checks saw, and tells of a change (`cause`: what
    /// the check that led to it found, for the message when the primary is lost). Events go out
    /// under the lock, so two elections never tell theirs out of order.
    pub(super) fn reelect(&self, cause: &str) {
        // Sightings are read under the lock, so that a slower election never overwrites a
        // newer one with what it saw earlier.
        let mut roles = self.roles.lock().unwrap_or_else(|e| e.into_inner());
        let sightings: Vec<_> = self
            .members
            .iter()
            .map(|m| m.health.snapshot().sighting())
            .collect();
        let next = elect(&sightings, roles.election.writer);
        let changed = next != roles.election;
        if changed {
            let before = std::mem::replace(&mut roles.election, next.clone());
            let last_writer = roles.last_writer;
            if next.writer.is_some() {
                roles.last_writer = next.writer;
            }
            self.writer
                .store(next.writer.unwrap_or(NO_WRITER), Ordering::Release);
            if next.writer.is_some() && last_writer.is_some() && next.writer != last_writer {
                self.counters.primary_change();
            }
            if next.fenced != before.fenced {
                // A claimant on a lower timeline may only be one whose last check predates its
                // demotion (an ordinary switchover): look again before calling it split brain.
                roles.fenced_since = (!next.fenced.is_empty()).then(SystemTime::now);
                roles.split_brain_told = false;
                if !next.fenced.is_empty() {
                    self.refresh_roles();
                }
            }
            self.writer_events(&before, &next, last_writer, cause);
        }
        self.split_brain_event(&mut roles);
        drop(roles);
        if changed {
            self.election_changed.notify_waiters();
        }
    }

    /// Tells of a new primary, a lost one, or the same one found again.
    fn writer_events(
        &self,
        before: &Election,
        next: &Election,
        last_writer: Option<usize>,
        cause: &str,
    ) {
        let label = |i: usize| self.members[i].node.label().to_string();
        match (before.writer, next.writer, last_writer) {
            (_, Some(w), Some(last)) if w != last => self.emit(
                EventKind::PrimaryChanged,
                &self.members[w].node,
                format!(
                    "writes now go to {}, the new primary (was {})",
                    label(w),
                    label(last)
                ),
            ),
            (None, Some(w), Some(_)) => self.emit(
                EventKind::PrimaryReachable,
                &self.members[w].node,
                format!("{} is primary again: writes go there", label(w)),
            ),
            (Some(b), None, _) => self.no_primary_event(Some(b), cause),
            _ => {}
        }
    }

    /// Split brain, told once: a fenced member whose check after it was fenced still claims
    /// to be primary.
    fn split_brain_event(&self, roles: &mut Roles) {
        let (Some(since), false, Some(w)) = (
            roles.fenced_since,
            roles.split_brain_told,
            roles.election.writer,
        ) else {
            return;
        };
        let health = |i: usize| self.members[i].health.snapshot();
        let confirmed: Vec<String> = roles
            .election
            .fenced
            .iter()
            .filter(|&&i| health(i).last_check.is_some_and(|at| at > since))
            .map(|&i| {
                let timeline = health(i).timeline.unwrap_or(0);
                format!("{} (timeline {timeline})", self.members[i].node.label())
            })
            .collect();
        if confirmed.is_empty() {
            return;
        }
        roles.split_brain_told = true;
        self.emit(
            EventKind::SplitBrain,
            &self.members[w].node,
            format!(
                "more than one member claims to be primary: writes go to {} (timeline {}); {} \
                 serves nothing until it is a standby",
                self.members[w].node.label(),
                health(w).timeline.unwrap_or(0),
                confirmed.join(", ")
            ),
        );
    }

    /// No member is primary: writes wait for one. `last` is the one that was, if any.
    pub(crate) fn no_primary_event(&self, last: Option<usize>, cause: &str) {
        let node = &self.members[last.unwrap_or(0)].node;
        let was = match (last, cause) {
            (Some(_), "") => format!(" ({} was)", node.label()),
            (Some(_), cause) => format!(" ({} was; {cause})", node.label()),
            (None, _) => String::new(),
        };
        self.emit(
            EventKind::PrimaryUnreachable,
            node,
            format!(
                "no member is primary{was}: writes wait up to {} ms for one",
                self.options.connect_timeout.as_millis()
            ),
        );
    }

    /// Checks every member's role now, in the background: each member's probe runs on its own
    /// (one at a time per member) and is recorded as soon as it answers, so a hung member delays
    /// no one; a refresh starts at most every [`REFRESH_EVERY`].
    pub fn refresh_roles(&self) {
        let Some(cluster) = self.this.upgrade() else {
            return;
        };
        // Under the task list's lock, so that close() either sees these tasks or stops them
        // from starting.
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        if self.is_closed() || self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        tasks.retain(|t| !t.is_finished());
        for i in 0..self.members.len() {
            if self.members[i].probing.swap(true, Ordering::AcqRel) {
                continue;
            }
            let c = cluster.clone();
            tasks.push(tokio::spawn(async move {
                checker::check_member(&c, i).await;
                c.members[i].probing.store(false, Ordering::Release);
            }));
        }
        // While statements wait for a primary, refreshes follow one another every interval.
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(REFRESH_EVERY).await;
            cluster.refreshing.store(false, Ordering::Release);
            if cluster.waiting.load(Ordering::Acquire) > 0 {
                cluster.refresh_roles();
            }
        }));
    }

    /// The writer, waiting for one until `deadline` while roles are refreshed every
    /// [`REFRESH_EVERY`] (for as long as anyone waits); `None` when none appeared in time (or the
    /// manager closed). Waiters wake only when the election changes.
    pub(super) async fn await_writer(&self, deadline: Instant) -> Option<usize> {
        if let Some(w) = self.writer() {
            return Some(w);
        }
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let _done = Waiting(&self.waiting);
        loop {
            let changed = self.election_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(w) = self.writer() {
                return Some(w);
            }
            if self.is_closed() || Instant::now() >= deadline {
                return None;
            }
            self.refresh_roles();
            tokio::select! {
                _ = changed => {}
                _ = tokio::time::sleep_until(deadline) => {}
            }
        }
    }
}

/// Counts a statement waiting for a primary while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
