//! Where each statement runs: reads on an eligible standby, writes on the member that is primary
//! now, waiting for the next primary when there is none; dedicated connections for `getClient`.

use tokio::time::Instant;

use super::{Causal, Checkout, ClientKind, Cluster};
use crate::checker;
use crate::error::CoreError;
use crate::fingerprint::Fingerprint;
use crate::health::Role;
use crate::insights::Trail;
use crate::lsn::Lsn;
use crate::node::{Retry, StatementOptions};
use crate::result::{Outcome, Reply};
use crate::router::{Reason, Route, Target};
use crate::settings::Settings;
use crate::statement::Statements;
use crate::values::Param;

/// Where a text runs ([`Cluster::place`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Placement {
    /// Transaction control, which needs a dedicated client.
    Reject,
    /// On the member that is primary now. `read`: the router took it for a read (forced there,
    /// or a strong read), so a broken connection may be replaced; `track`: report the WAL
    /// position that covers it.
    Primary { read: bool, track: bool },
    /// A read on an eligible standby, failing over to the primary.
    Standby,
}

impl Cluster {
    /// Runs one text where the router (or `route_override`) sends it, with read-your-writes:
    /// a read waits for, or avoids, standbys that have not replayed `causal.min_lsn`; a write
    /// reports the WAL position that covers it when `causal.track_write`.
    pub async fn query(
        &self,
        sql: &str,
        params: &[Param],
        route_override: Option<Target>,
        causal: Causal,
        options: StatementOptions<'_>,
        trail: &mut Trail,
    ) -> Result<Outcome, CoreError> {
        let statements = Statements::parse(sql);
        self.query_statements(&statements, params, route_override, causal, options, trail)
            .await
    }

    /// [`Cluster::query`] for a text already parsed, with what the client brings (`options`).
    /// `trail` learns where it ran; the statement is recorded in the insights.
    pub async fn query_statements(
        &self,
        statements: &Statements<'_>,
        params: &[Param],
        route_override: Option<Target>,
        causal: Causal,
        options: StatementOptions<'_>,
        trail: &mut Trail,
    ) -> Result<Outcome, CoreError> {
        self.ensure_open()?;
        let started = std::time::Instant::now();
        // Hashed once, for the insights and for the member's brisk statements.
        let fingerprint = Fingerprint::of(statements);
        trail.fingerprint = Some(fingerprint);
        let options = StatementOptions {
            fingerprint: Some(fingerprint),
            ..options
        };
        let (placement, route) = self.place(statements, route_override, causal);
        trail.route = Some(route);
        let outcome = match placement {
            Placement::Reject => {
                self.insights.describe(statements, trail);
                return Err(CoreError::TransactionControl);
            }
            Placement::Primary { read, track } => {
                // A read sent to the primary may still be retried on a fresh connection; a
                // write never.
                let retry = match read {
                    true => Retry::Read { limit: None },
                    false => Retry::Never,
                };
                self.on_primary(statements, params, retry, track, options, trail)
                    .await
            }
            Placement::Standby => self.read(statements, params, causal, options, trail).await,
        };
        self.record(statements, &outcome, started.elapsed(), trail);
        outcome
    }

    /// Where a text runs — the router's answer, or the caller's override — with
    /// read-your-writes' `strong` reads sent to the primary; counted in the metrics. The one
    /// routing decision of `query` and `cursor`.
    pub(super) fn place(
        &self,
        statements: &Statements<'_>,
        route_override: Option<Target>,
        causal: Causal,
    ) -> (Placement, Route) {
        let classified = self.router.classify_statements(statements);
        let route = match route_override {
            Some(Target::Replica) => Route {
                target: Target::Replica,
                reason: Reason::OverrideReplica,
            },
            Some(_) => Route {
                target: Target::Primary,
                reason: Reason::OverridePrimary,
            },
            None => classified,
        };
        let read = classified.target == Target::Replica;
        self.counters.route(route.reason);
        let placement = match route.target {
            Target::Reject => Placement::Reject,
            Target::Primary => {
                self.counters.write();
                // Anything run on the primary in a session is tracked: a statement forced there
                // may call a function that writes.
                Placement::Primary {
                    read,
                    track: causal.track_write,
                }
            }
            Target::Replica if causal.strong => {
                self.counters.read();
                self.counters.consistency_primary_read();
                Placement::Primary {
                    read: true,
                    track: false,
                }
            }
            Target::Replica => {
                self.counters.read();
                Placement::Standby
            }
        };
        (placement, route)
    }

    /// A read: on an eligible standby, bounded by `replicaReadTimeout`; on the primary when no
    /// standby is eligible, or the standby's connection fails, times out, or it cancels the read
    /// on a recovery conflict. While no member is primary, another standby takes it instead.
    async fn read(
        &self,
        statements: &Statements<'_>,
        params: &[Param],
        causal: Causal,
        options: StatementOptions<'_>,
        trail: &mut Trail,
    ) -> Result<Outcome, CoreError> {
        // A read that must see a position goes first to a standby already known to have
        // replayed it, and only then asks (and waits for) one that may not have.
        let known = causal.min_lsn.and_then(|min| {
            self.balancer.pick(self.members.len(), |i| {
                let m = &self.members[i];
                m.health.is_eligible() && m.node.known_replayed() >= min
            })
        });
        let mut another_standby_may_try = true;
        let mut next = known.or_else(|| self.pick_standby(None));
        if next.is_none() && self.members.len() > 1 {
            self.counters.failover();
        }
        while let Some(i) = next.take() {
            trail.ran_on(i, false);
            match self
                .read_on(i, statements, params, causal.min_lsn, options)
                .await
            {
                Ok(Some(reply)) => return Ok(Outcome::untracked(reply)),
                // The standby had not replayed the reader's writes in time.
                Ok(None) => self.counters.consistency_primary_read(),
                Err(e) if e.is_connection_failure() => {
                    self.read_failed_over(i, &e);
                    trail.failed_over_from = Some(i);
                    // With no primary to take it, one more standby may.
                    if another_standby_may_try && self.writer().is_none() {
                        another_standby_may_try = false;
                        next = self.pick_standby(Some(i));
                    }
                }
                // The standby refused a write the router took for a read (a function the
                // write-function list does not know): it changed nothing, so run it where it can,
                // as the write it is: once, and tracked for read-your-writes.
                Err(e) if e.is_read_only_refusal() => {
                    self.counters.misrouted_read();
                    let track = causal.track_write;
                    return self
                        .on_primary(statements, params, Retry::Never, track, options, trail)
                        .await;
                }
                Err(e) => return Err(e),
            }
        }
        let retry = Retry::Read { limit: None };
        self.on_primary(statements, params, retry, false, options, trail)
            .await
    }

    /// Reads on member `i`, bounded by `replicaReadTimeout`; with `min_lsn`, only once it has
    /// replayed that far (`None` when it did not within `causalWaitMs`). A standby already
    /// known to be past it reads at once.
    async fn read_on(
        &self,
        i: usize,
        statements: &Statements<'_>,
        params: &[Param],
        min_lsn: Option<Lsn>,
        options: StatementOptions<'_>,
    ) -> Result<Option<Reply>, CoreError> {
        let node = &self.members[i].node;
        let limit = self.options.replica_read_timeout;
        match min_lsn {
            Some(min) if node.known_replayed() < min => {
                self.counters.causal_wait();
                let wait = self.options.causal_wait;
                let read = node.run_after_replay(statements, params, min, wait, options);
                match limit {
                    // Bounded like any replica read: a hung standby fails over.
                    Some(limit) => tokio::time::timeout(limit, read)
                        .await
                        .unwrap_or_else(|_| Err(node.timed_out(limit))),
                    None => read.await,
                }
            }
            _ => {
                let outcome = node
                    .run(statements, params, Retry::Read { limit }, false, options)
                    .await;
                outcome.map(|o| Some(o.reply))
            }
        }
    }

    /// The next eligible standby in the rotation, other than `except`.
    pub(super) fn pick_standby(&self, except: Option<usize>) -> Option<usize> {
        self.balancer.pick(self.members.len(), |i| {
            Some(i) != except && self.members[i].health.is_eligible()
        })
    }

    /// Runs on the member that is primary now. With none, or when the one there refuses the
    /// statement before running it (down, a standby now, shutting down), roles are refreshed at
    /// once and the statement waits for the next primary, up to `connectionTimeoutMillis`. A
    /// read may also go again after its connection broke; a write then fails, its outcome
    /// unknown.
    async fn on_primary(
        &self,
        statements: &Statements<'_>,
        params: &[Param],
        retry: Retry,
        track: bool,
        options: StatementOptions<'_>,
        trail: &mut Trail,
    ) -> Result<Outcome, CoreError> {
        let deadline = Instant::now() + self.options.connect_timeout;
        loop {
            let w = self.await_primary(deadline).await?;
            trail.ran_on(w, true);
            let node = &self.members[w].node;
            let error = match node.run(statements, params, retry, track, options).await {
                Err(e) if e.refused_before_running() => e,
                Err(e) if retry != Retry::Never && e.is_connection_failure() => e,
                Err(e) if e.breaks_connection() => {
                    return Err(CoreError::OutcomeUnknown {
                        node: node.label().to_string(),
                        cause: Box::new(e),
                    })
                }
                other => return other,
            };
            if !self.primary_failed(w, deadline).await || Instant::now() >= deadline {
                return Err(error);
            }
        }
    }

    /// The member that is primary now, waiting for one until `deadline`. When the member that
    /// should be primary (the last one, else the configured one) fails in a way waiting cannot
    /// mend — a certificate, a password — that error comes at once.
    pub(super) async fn await_primary(&self, deadline: Instant) -> Result<usize, CoreError> {
        if let Some(w) = self.writer() {
            return Ok(w);
        }
        let expected = &self.members[self.last_writer().unwrap_or(0)];
        if let Some(e) = expected.check_error().filter(CoreError::is_permanent) {
            self.refresh_roles();
            return Err(e);
        }
        let started = Instant::now();
        match self.await_writer(deadline).await {
            Some(w) => Ok(w),
            None => {
                self.ensure_open()?;
                Err(CoreError::NoPrimary {
                    waited_ms: started.elapsed().as_millis(),
                    members: self.describe_members(),
                    cause: expected.check_error().map(Box::new),
                })
            }
        }
    }

    /// Member `w`, primary until now, failed a statement without running it: learn its role at
    /// once (by `deadline`). Returns whether waiting for another primary may help: only when `w`
    /// is no longer the primary (down, demoted). A primary that is still one refused for a
    /// reason of its own (a terminated backend, `default_transaction_read_only`, too many
    /// connections): running the statement again there would only repeat that.
    pub(super) async fn primary_failed(&self, w: usize, deadline: Instant) -> bool {
        let _ = tokio::time::timeout_at(deadline, checker::check_member(self, w)).await;
        if self.writer() == Some(w) {
            return false;
        }
        self.refresh_roles();
        true
    }

    /// `primary (127.0.0.1:5432): unreachable; replica_0 (…): standby; …`, for errors.
    fn describe_members(&self) -> String {
        let described: Vec<String> = self
            .members
            .iter()
            .map(|m| {
                let h = m.health.snapshot();
                let what = match (h.reachable, h.role) {
                    (false, _) => "unreachable",
                    (true, Some(Role::Primary)) => "primary",
                    (true, _) => "standby",
                };
                format!("{}: {what}", m.node.label())
            })
            .collect();
        described.join("; ")
    }

    /// A dedicated connection for `getClient`: reads from an eligible standby (the primary when
    /// there is none or it cannot connect), writes from the member that is primary now.
    /// With `settings` (a routing client's), the connection comes with them made.
    pub async fn checkout(
        &self,
        kind: ClientKind,
        settings: Option<&Settings>,
    ) -> Result<Checkout, CoreError> {
        self.ensure_open()?;
        if kind == ClientKind::Read {
            match self.pick_standby(None) {
                Some(i) => match self.members[i]
                    .node
                    .connection_within(self.options.replica_read_timeout, settings)
                    .await
                {
                    Ok(conn) => {
                        return Ok(Checkout {
                            conn,
                            member: i,
                            from_writer: false,
                        })
                    }
                    Err(e) if e.is_connection_failure() => {
                        self.member_connection_failed(i);
                        self.counters.failover();
                    }
                    Err(e) => return Err(e),
                },
                None if self.members.len() > 1 => self.counters.failover(),
                None => {}
            }
        }
        let deadline = Instant::now() + self.options.connect_timeout;
        loop {
            let w = self.await_primary(deadline).await?;
            match self.members[w].node.connection_with(settings).await {
                Ok(conn) => {
                    return Ok(Checkout {
                        conn,
                        member: w,
                        from_writer: true,
                    })
                }
                Err(e) if e.refused_before_running() => {
                    if !self.primary_failed(w, deadline).await || Instant::now() >= deadline {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
}
