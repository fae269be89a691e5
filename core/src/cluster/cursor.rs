//! Where a cursor runs. Its text is placed as `query` places it ([`Cluster::place`]: the same
//! router, override, strong reads and counters). A read opens on an eligible standby, in a
//! read-only transaction, and fails over as `query`'s reads do — but only while opening: once
//! a row has been handed out it never runs anywhere else. A write opens on the member that is
//! primary now, waiting for one as `query`'s writes do.

use tokio::time::Instant;

use super::route::Placement;
use super::{Causal, Cluster};
use crate::cursor::{Pending, Requests};
use crate::error::CoreError;
use crate::node::{CursorPlan, CursorTransaction, Retry, Served};
use crate::router::Target;
use crate::statement::Statements;
use crate::values::Param;

/// A failure before a row went out, with the request it leaves unanswered; `None` when the
/// cursor was served (its error, if any, already answered).
fn unanswered(served: Served) -> Option<(CoreError, Pending)> {
    match served {
        Served {
            error: Some(error),
            unanswered: Some(first),
            ..
        } => Some((error, first)),
        _ => None,
    }
}

impl Cluster {
    /// Serves the cursor whose handle sends `requests`, until it ends. Nothing is routed or
    /// opened before the first request for rows. The binding spawns one per manager cursor.
    pub async fn serve_cursor(
        &self,
        sql: String,
        params: Vec<Param>,
        route_override: Option<Target>,
        causal: Causal,
        mut requests: Requests,
    ) {
        let Some(first) = requests.opened().await else {
            return;
        };
        self.serve_opened_cursor(&sql, &params, route_override, causal, first, requests)
            .await;
    }

    /// [`Cluster::serve_cursor`] from its first read on.
    pub async fn serve_opened_cursor(
        &self,
        sql: &str,
        params: &[Param],
        route_override: Option<Target>,
        causal: Causal,
        first: Pending,
        mut requests: Requests,
    ) {
        if let Err(e) = self.ensure_open() {
            return first.fail(e);
        }
        let statements = Statements::parse(sql);
        let plan = CursorPlan {
            statements: &statements,
            params,
            transaction: CursorTransaction::Own { read_only: false },
            track_lsn: false,
        };
        match self.place(&statements, route_override, causal).0 {
            Placement::Reject => first.fail(CoreError::TransactionControl),
            Placement::Primary { read, track } => {
                let plan = CursorPlan {
                    track_lsn: track,
                    ..plan
                };
                self.cursor_on_primary(&plan, read, first, &mut requests)
                    .await
            }
            Placement::Standby => self.cursor_read(&plan, causal, first, &mut requests).await,
        }
    }

    /// A read cursor: on an eligible standby — with a read-your-writes position, only one
    /// known to have replayed it (a cursor does not wait for one to catch up) — else on the
    /// primary; opened on the primary instead when the standby fails for a server or network
    /// reason, or refuses a write the router took for a read, before a row went out.
    async fn cursor_read(
        &self,
        plan: &CursorPlan<'_, '_>,
        causal: Causal,
        mut first: Pending,
        requests: &mut Requests,
    ) {
        let mut next = match causal.min_lsn {
            Some(min) => {
                let known = self.balancer.pick(self.members.len(), |i| {
                    let m = &self.members[i];
                    m.health.is_eligible() && m.node.known_replayed() >= min
                });
                if known.is_none() {
                    self.counters.consistency_primary_read();
                }
                known
            }
            None => {
                let standby = self.pick_standby(None);
                if standby.is_none() && self.members.len() > 1 {
                    self.counters.failover();
                }
                standby
            }
        };
        let on_standby = CursorPlan {
            transaction: CursorTransaction::Own { read_only: true },
            ..*plan
        };
        let retry = Retry::Read {
            limit: self.options.replica_read_timeout,
        };
        let mut another_standby_may_try = true;
        while let Some(i) = next.take() {
            let node = &self.members[i].node;
            let served = node
                .open_cursor(&on_standby, first, requests, retry, self.closed())
                .await;
            // A connection that failed after rows went out counts against the standby too.
            let failed_later = served.unanswered.is_none()
                && served
                    .error
                    .as_ref()
                    .is_some_and(CoreError::is_connection_failure);
            let Some((error, pending)) = unanswered(served) else {
                if failed_later {
                    self.member_connection_failed(i);
                }
                return;
            };
            first = pending;
            if error.is_connection_failure() {
                self.read_failed_over(i, &error);
                // With no primary to take it, one more standby may.
                if another_standby_may_try && self.writer().is_none() {
                    another_standby_may_try = false;
                    next = self.pick_standby(Some(i));
                }
            } else if error.is_read_only_refusal() {
                // A write the router took for a read: it changed nothing, so it runs where it
                // can, as the write it is, tracked for read-your-writes.
                self.counters.misrouted_read();
                let plan = CursorPlan {
                    track_lsn: causal.track_write,
                    ..*plan
                };
                return self.cursor_on_primary(&plan, false, first, requests).await;
            } else {
                return first.fail(error);
            }
        }
        self.cursor_on_primary(plan, true, first, requests).await
    }

    /// A cursor on the member that is primary now, waiting for one up to
    /// `connectionTimeoutMillis` when there is none or it refused the cursor before running
    /// it. A read may also open again after its connection broke; a write then fails, its
    /// outcome unknown — as `query` runs statements on the primary.
    async fn cursor_on_primary(
        &self,
        plan: &CursorPlan<'_, '_>,
        read: bool,
        mut first: Pending,
        requests: &mut Requests,
    ) {
        let retry = match read {
            true => Retry::Read { limit: None },
            false => Retry::Never,
        };
        let deadline = Instant::now() + self.options.connect_timeout;
        loop {
            let w = match self.await_primary(deadline).await {
                Ok(w) => w,
                Err(e) => return first.fail(e),
            };
            let node = &self.members[w].node;
            let served = node
                .open_cursor(plan, first, requests, retry, self.closed())
                .await;
            let Some((error, pending)) = unanswered(served) else {
                return;
            };
            first = pending;
            let error = match error {
                e if e.refused_before_running() => e,
                e if read && e.is_connection_failure() => e,
                e if e.breaks_connection() => {
                    return first.fail(CoreError::OutcomeUnknown {
                        node: node.label().to_string(),
                        cause: Box::new(e),
                    })
                }
                e => return first.fail(e),
            };
            if !self.primary_failed(w, deadline).await || Instant::now() >= deadline {
                return first.fail(error);
            }
        }
    }
}
