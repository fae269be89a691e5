//! Where each statement runs: reads on an eligible replica (or the primary when none can take
//! them, or the replica fails), writes on the primary, dedicated connections for `getClient`.

use std::sync::atomic::Ordering;

use super::{Causal, Checkout, ClientKind, Cluster};
use crate::error::CoreError;
use crate::health::Role;
use crate::lsn::Lsn;
use crate::node::Retry;
use crate::result::{Outcome, Reply};
use crate::router::{Reason, Route, Target};
use crate::statement::Statements;
use crate::values::Param;

impl Cluster {
    /// Runs one text where the router (or `route_override`) sends it, with read-your-writes:
    /// a read waits for, or avoids, replicas that have not replayed `causal.min_lsn`; a write
    /// reports the WAL position that covers it when `causal.track_write`.
    pub async fn query(
        &self,
        sql: &str,
        params: &[Param],
        route_override: Option<Target>,
        causal: Causal,
    ) -> Result<Outcome, CoreError> {
        self.ensure_open()?;
        let statements = Statements::parse(sql);
        let classified = self.router.classify_statements(&statements);
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
        // A read sent to the primary may still be retried on a fresh connection; a write never.
        let primary_retry = match classified.target {
            Target::Replica => Retry::Read { limit: None },
            _ => Retry::Never,
        };
        self.counters.route(route.reason);
        match route.target {
            Target::Reject => Err(CoreError::TransactionControl),
            Target::Primary => {
                self.counters.write();
                // Anything run on the primary in a session is tracked: a statement forced there
                // may call a function that writes.
                let outcome = self
                    .primary
                    .run(&statements, params, primary_retry, causal.track_write)
                    .await;
                outcome.map_err(|e| self.explain_primary_error(e))
            }
            Target::Replica if causal.strong => {
                self.counters.read();
                self.counters.consistency_primary_read();
                let retry = Retry::Read { limit: None };
                self.primary.run(&statements, params, retry, false).await
            }
            Target::Replica => {
                self.counters.read();
                self.read(&statements, params, causal).await
            }
        }
    }

    /// A read: on an eligible replica, bounded by `replicaReadTimeout`; on the primary when no
    /// replica is eligible, or the replica's connection fails, times out, or the replica
    /// cancels the read on a recovery conflict.
    async fn read(
        &self,
        statements: &Statements<'_>,
        params: &[Param],
        causal: Causal,
    ) -> Result<Outcome, CoreError> {
        // A read that must see a position goes first to a replica already known to have
        // replayed it, and only then asks (and waits for) one that may not have.
        let known = causal.min_lsn.and_then(|min| {
            self.balancer.pick(self.replicas.len(), |i| {
                let r = &self.replicas[i];
                r.health.is_eligible() && r.node.known_replayed() >= min
            })
        });
        match known.or_else(|| self.pick_replica()) {
            Some(i) => match self.read_on(i, statements, params, causal.min_lsn).await {
                // The replica had not replayed the reader's writes in time.
                Ok(None) => self.counters.consistency_primary_read(),
                Ok(Some(reply)) => return Ok(Outcome::untracked(reply)),
                Err(e) if e.is_connection_failure() => {
                    self.replica_connection_failed(i);
                    self.counters.failover();
                    self.replicas[i].failovers.fetch_add(1, Ordering::Relaxed);
                    self.failover_event(i, &e);
                }
                // The replica refused a write the router took for a read (a function the
                // write-function list does not know): it changed nothing, so run it where it can,
                // as the write it is: once, and tracked for read-your-writes.
                Err(e) if e.is_read_only_refusal() => {
                    self.counters.misrouted_read();
                    return self
                        .primary
                        .run(statements, params, Retry::Never, causal.track_write)
                        .await;
                }
                Err(e) => return Err(e),
            },
            None if !self.replicas.is_empty() => self.counters.failover(),
            None => {}
        }
        let retry = Retry::Read { limit: None };
        self.primary.run(statements, params, retry, false).await
    }

    /// Reads on replica `i`, bounded by `replicaReadTimeout`; with `min_lsn`, only once it has
    /// replayed that far (`None` when it did not within `causalWaitMs`). A replica already
    /// known to be past it reads at once.
    async fn read_on(
        &self,
        i: usize,
        statements: &Statements<'_>,
        params: &[Param],
        min_lsn: Option<Lsn>,
    ) -> Result<Option<Reply>, CoreError> {
        let node = &self.replicas[i].node;
        let limit = self.options.replica_read_timeout;
        match min_lsn {
            Some(min) if node.known_replayed() < min => {
                self.counters.causal_wait();
                let read = node.run_after_replay(statements, params, min, self.options.causal_wait);
                match limit {
                    // Bounded like any replica read: a hung replica fails over.
                    Some(limit) => tokio::time::timeout(limit, read)
                        .await
                        .unwrap_or_else(|_| Err(node.timed_out(limit))),
                    None => read.await,
                }
            }
            _ => {
                let outcome = node
                    .run(statements, params, Retry::Read { limit }, false)
                    .await;
                outcome.map(|o| Some(o.reply))
            }
        }
    }

    fn pick_replica(&self) -> Option<usize> {
        self.balancer.pick(self.replicas.len(), |i| {
            self.replicas[i].health.is_eligible()
        })
    }

    /// A write the configured primary refused because it is a standby says so plainly.
    fn explain_primary_error(&self, e: CoreError) -> CoreError {
        let in_recovery = self
            .primary_state
            .lock()
            .is_ok_and(|s| s.role == Some(Role::Replica));
        let refused = e.is_read_only_refusal();
        match e {
            CoreError::Database(cause) if in_recovery && refused => CoreError::PrimaryInRecovery {
                node: self.primary.label().to_string(),
                cause,
            },
            other => other,
        }
    }

    /// A dedicated connection for `getClient`: reads from an eligible replica (the primary when
    /// there is none or it cannot connect), writes from the primary.
    pub async fn checkout(&self, kind: ClientKind) -> Result<Checkout, CoreError> {
        self.ensure_open()?;
        if kind == ClientKind::Read {
            match self.pick_replica() {
                Some(i) => match self.replicas[i]
                    .node
                    .connection_within(self.options.replica_read_timeout)
                    .await
                {
                    Ok(conn) => {
                        return Ok(Checkout {
                            conn,
                            replica: Some(i),
                        })
                    }
                    Err(e) if e.is_connection_failure() => {
                        self.replica_connection_failed(i);
                        self.counters.failover();
                    }
                    Err(e) => return Err(e),
                },
                None if !self.replicas.is_empty() => self.counters.failover(),
                None => {}
            }
        }
        Ok(Checkout {
            conn: self.primary.connection().await?,
            replica: None,
        })
    }
}
