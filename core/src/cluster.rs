//! The primary and its replicas: routes each statement, fails reads over to the primary, and
//! hands out dedicated connections.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use deadpool_postgres::Object;
use tokio::task::JoinHandle;

use crate::balancer::RoundRobin;
use crate::config::{NodeConfig, Options};
use crate::error::CoreError;
use crate::events::{Event, EventKind, EventSink};
use crate::health::{HealthState, Limits, Observation, Role, SharedHealth, Transition};
use crate::lexer::{tokenize, Token};
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::node::{Node, ReadMode, Reply};
use crate::router::{Reason, Route, Router, Target};
use crate::values::Param;

pub struct Replica {
    pub node: Node,
    pub health: SharedHealth,
    /// When the last failover event for this replica went out (ms since the epoch).
    last_failover_event: AtomicU64,
    /// Reads that failed here and ran on the primary instead.
    pub failovers: AtomicU64,
    /// Failed health checks of this replica.
    pub check_failures: AtomicU64,
}

/// What the last health round learned about the primary.
#[derive(Debug, Clone, Default)]
pub struct PrimaryState {
    pub reachable: Option<bool>,
    pub role: Option<Role>,
    pub last_check: Option<SystemTime>,
    /// Its current WAL position, the reference for replication lag.
    pub wal_lsn: Option<u64>,
}

pub struct Cluster {
    pub primary: Node,
    pub replicas: Vec<Replica>,
    pub options: Options,
    pub metrics: Metrics,
    pub router: Router,
    pub primary_state: Mutex<PrimaryState>,
    /// Receives state changes (set once by the binding).
    pub events: OnceLock<EventSink>,
    balancer: RoundRobin,
    closed: AtomicBool,
    /// Background tasks (health loop, idle reaper), aborted on close.
    pub(crate) tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// Read-your-writes for one query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Causal {
    /// Read on the primary.
    pub strong: bool,
    /// Read only where this WAL position has been replayed.
    pub min_lsn: Option<u64>,
    /// Report the WAL position that covers a write.
    pub track_write: bool,
}

/// What `getClient` asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    Read,
    Write,
}

/// A connection checked out for `getClient`, with the node it came from.
pub struct Checkout {
    pub conn: Object,
    /// Index into `replicas`, or `None` for the primary.
    pub replica: Option<usize>,
}

/// One replica's entry in `getReplicaStatus()`.
#[derive(Debug, Clone)]
pub struct ReplicaStatus {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub health: HealthState,
}

const CLOSED: &str = "Read replica manager is closed";

impl Cluster {
    /// Builds the pools; no connection is made until `start` or the first query.
    pub fn new(primary: NodeConfig, replicas: Vec<NodeConfig>, options: Options) -> Arc<Cluster> {
        let replicas = replicas
            .into_iter()
            .enumerate()
            .map(|(i, config)| Replica {
                node: Node::new(format!("replica_{i}"), config, &options),
                health: SharedHealth::default(),
                last_failover_event: AtomicU64::new(0),
                failovers: AtomicU64::new(0),
                check_failures: AtomicU64::new(0),
            })
            .collect();
        Arc::new(Cluster {
            primary: Node::new("primary".into(), primary, &options),
            replicas,
            router: Router::new(&options.write_functions, &options.read_only_functions),
            options,
            metrics: Metrics::default(),
            primary_state: Mutex::new(PrimaryState::default()),
            events: OnceLock::new(),
            balancer: RoundRobin::default(),
            closed: AtomicBool::new(false),
            tasks: Mutex::new(Vec::new()),
        })
    }

    pub fn limits(&self) -> Limits {
        Limits {
            failure_threshold: self.options.failure_threshold,
            recovery_threshold: self.options.recovery_threshold,
            max_lag: self.options.max_replication_lag,
            max_lag_bytes: self.options.max_replication_lag_bytes,
        }
    }

    fn ensure_open(&self) -> Result<(), CoreError> {
        if self.closed.load(Ordering::Acquire) {
            Err(CoreError::Closed(CLOSED))
        } else {
            Ok(())
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Runs one text where the router (or `route_override`) sends it, with read-your-writes:
    /// a read waits for, or avoids, replicas that have not replayed `causal.min_lsn`; a write
    /// reports the WAL position that covers it when `causal.track_write`.
    pub async fn query(
        &self,
        sql: &str,
        params: &[Param],
        route_override: Option<Target>,
        causal: Causal,
    ) -> Result<(Reply, Option<u64>), CoreError> {
        self.ensure_open()?;
        let tokens = tokenize(sql);
        let classified = self.router.classify_tokens(&tokens);
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
        let primary_mode = match classified.target {
            Target::Replica => ReadMode::Bounded(None),
            _ => ReadMode::No,
        };
        self.metrics.route(route.reason);
        match route.target {
            Target::Reject => Err(CoreError::Rejected(
                "Transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, …) cannot run through \
                 manager.query(): consecutive queries may use different connections. Run the \
                 transaction on a dedicated client: const client = await \
                 manager.getClient('write'); await client.query('BEGIN'); … await \
                 client.query('COMMIT'); client.release()"
                    .into(),
            )),
            Target::Primary => {
                self.metrics.write();
                // Anything run on the primary in a session is tracked: a statement forced there
                // may call a function that writes.
                let track = causal.track_write;
                let outcome = self
                    .primary
                    .run_tracked(sql, &tokens, params, primary_mode, track)
                    .await;
                outcome.map_err(|e| self.explain_primary_error(e))
            }
            Target::Replica if causal.strong => {
                self.metrics.read();
                self.metrics.consistency_primary_read();
                let mode = ReadMode::Bounded(None);
                let outcome = self.primary.run(sql, &tokens, params, mode).await;
                outcome.map(|reply| (reply, None))
            }
            Target::Replica => {
                self.metrics.read();
                self.read(sql, &tokens, params, causal).await
            }
        }
    }

    /// A read: on an eligible replica, bounded by `replicaReadTimeout`; on the primary when no
    /// replica is eligible, or the replica's connection fails, times out, or the replica
    /// cancels the read on a recovery conflict.
    async fn read(
        &self,
        sql: &str,
        tokens: &[Token<'_>],
        params: &[Param],
        causal: Causal,
    ) -> Result<(Reply, Option<u64>), CoreError> {
        let mode = ReadMode::Bounded(self.options.replica_read_timeout);
        // A read that must see a position goes first to a replica already known to have
        // replayed it, and only then asks (and waits for) one that may not have.
        let known = causal.min_lsn.and_then(|min| {
            self.balancer.pick(self.replicas.len(), |i| {
                let r = &self.replicas[i];
                r.health.is_eligible() && r.node.known_replayed() >= min
            })
        });
        match known.or_else(|| self.pick_replica()) {
            Some(i) => match self
                .read_on(i, sql, tokens, params, mode, causal.min_lsn)
                .await
            {
                // The replica had not replayed the reader's writes in time.
                Ok(None) => self.metrics.consistency_primary_read(),
                Ok(Some(reply)) => return Ok((reply, None)),
                Err(e) if e.is_connection_failure() => {
                    self.replica_connection_failed(i);
                    self.metrics.failover();
                    self.replicas[i].failovers.fetch_add(1, Ordering::Relaxed);
                    self.failover_event(i, &e);
                }
                // The replica refused a write the router took for a read (a function the
                // write-function list does not know): it changed nothing, so run it where it can,
                // as the write it is: once, and tracked for read-your-writes.
                Err(e) if e.is_read_only_refusal() => {
                    self.metrics.misrouted_read();
                    return self
                        .primary
                        .run_tracked(sql, tokens, params, ReadMode::No, causal.track_write)
                        .await;
                }
                Err(e) => return Err(e),
            },
            None if !self.replicas.is_empty() => self.metrics.failover(),
            None => {}
        }
        let mode = ReadMode::Bounded(None);
        let reply = self.primary.run(sql, tokens, params, mode).await?;
        Ok((reply, None))
    }

    /// Reads on replica `i`; with `min_lsn`, only once it has replayed that far (`None` when
    /// it did not within `causalWaitMs`). A replica already known to be past it reads at once.
    async fn read_on(
        &self,
        i: usize,
        sql: &str,
        tokens: &[Token<'_>],
        params: &[Param],
        mode: ReadMode,
        min_lsn: Option<u64>,
    ) -> Result<Option<Reply>, CoreError> {
        let node = &self.replicas[i].node;
        match min_lsn {
            Some(min) if node.known_replayed() < min => {
                self.metrics.causal_wait();
                let wait = self.options.causal_wait;
                let read = node.run_after_replay(sql, tokens, params, min, wait);
                match self.options.replica_read_timeout {
                    // Bounded like any replica read: a hung replica fails over.
                    Some(limit) => tokio::time::timeout(limit, read)
                        .await
                        .unwrap_or_else(|_| Err(node.timed_out(limit))),
                    None => read.await,
                }
            }
            _ => node.run(sql, tokens, params, mode).await.map(Some),
        }
    }

    fn pick_replica(&self) -> Option<usize> {
        self.balancer.pick(self.replicas.len(), |i| {
            self.replicas[i].health.is_eligible()
        })
    }

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
                node: node.name.clone(),
                address: format!("{}:{}", node.config.host, node.config.port),
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
                        node.label
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
                    node.label, now.failure_count
                ),
            ),
            Transition::BecameIneligible if now.role == Some(Role::Primary) => (
                EventKind::ReplicaPromoted,
                format!(
                    "{} is no longer a standby (promoted?); reads skip it",
                    node.label
                ),
            ),
            Transition::BecameIneligible => (
                EventKind::ReplicaLagging,
                format!(
                    "{} is {} bytes / {} ms behind the primary, over the limit; reads skip it",
                    node.label,
                    now.lag_bytes.unwrap_or(0),
                    now.lag.map_or(0, |l| l.as_millis())
                ),
            ),
            Transition::BecameEligible if before.lagging && before.healthy => (
                EventKind::ReplicaCaughtUp,
                format!("{} caught up and is back in the read rotation", node.label),
            ),
            Transition::BecameEligible => (
                EventKind::ReplicaRecovered,
                format!("{} is healthy and in the read rotation", node.label),
            ),
        };
        self.emit(kind, node, message);
    }

    /// One failover event per replica per second at most: never a line per query.
    fn failover_event(&self, i: usize, error: &CoreError) {
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
                    node.label
                ),
            );
        }
    }

    /// A write the configured primary refused because it is a standby says so plainly.
    fn explain_primary_error(&self, e: CoreError) -> CoreError {
        let in_recovery = self
            .primary_state
            .lock()
            .is_ok_and(|s| s.role == Some(Role::Replica));
        match e {
            CoreError::Database(db) if in_recovery && e_is_read_only(&db) => {
                CoreError::PrimaryInRecovery {
                    node: self.primary.label.clone(),
                    cause: db,
                }
            }
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
                        self.metrics.failover();
                    }
                    Err(e) => return Err(e),
                },
                None if !self.replicas.is_empty() => self.metrics.failover(),
                None => {}
            }
        }
        Ok(Checkout {
            conn: self.primary.connection().await?,
            replica: None,
        })
    }

    /// The node a checkout came from.
    pub fn node(&self, replica: Option<usize>) -> &Node {
        replica.map_or(&self.primary, |i| &self.replicas[i].node)
    }

    pub fn replica_status(&self) -> Vec<ReplicaStatus> {
        self.replicas
            .iter()
            .map(|r| ReplicaStatus {
                name: r.node.name.clone(),
                host: r.node.config.host.clone(),
                port: r.node.config.port,
                database: r.node.config.database.clone(),
                health: r.health.snapshot(),
            })
            .collect()
    }

    pub fn primary_status(&self) -> PrimaryState {
        self.primary_state
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    pub fn metrics(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

    /// Stops background work and closes every pool. Connections checked out by clients close
    /// when they are released.
    pub async fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for task in tasks {
            task.abort();
        }
        for node in self.nodes() {
            node.pool.close();
            node.checker.lock().await.take();
        }
    }

    /// The primary, then every replica.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        std::iter::once(&self.primary).chain(self.replicas.iter().map(|r| &r.node))
    }

    /// Records the outcome of one health check of replica `i`.
    pub fn record_check(
        &self,
        i: usize,
        outcome: Result<(Duration, Observation), CoreError>,
    ) -> Transition {
        let now = SystemTime::now();
        let limits = self.limits();
        let before = self.replicas[i].health.snapshot();
        let (transition, cause) = match outcome {
            Ok((elapsed, seen)) => (
                self.replicas[i]
                    .health
                    .update(|s| s.check_passed(now, elapsed, seen, &limits)),
                String::new(),
            ),
            Err(e) => {
                self.metrics.health_check_failure();
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
}

fn e_is_read_only(db: &tokio_postgres::error::DbError) -> bool {
    *db.code() == tokio_postgres::error::SqlState::READ_ONLY_SQL_TRANSACTION
}
