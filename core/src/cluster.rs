//! The primary and its replicas: routes each statement, fails reads over to the primary, and
//! hands out dedicated connections.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use deadpool_postgres::Object;
use tokio::task::JoinHandle;

use crate::balancer::RoundRobin;
use crate::config::{NodeConfig, Options};
use crate::error::CoreError;
use crate::health::{HealthState, SharedHealth, Transition};
use crate::lexer::{tokenize, Token};
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::node::{Node, Reply};
use crate::router::{Reason, Route, Router, Target};
use crate::values::Param;

pub struct Replica {
    pub node: Node,
    pub health: SharedHealth,
    /// The health checker's own connection, kept apart from the pool so that a busy pool never
    /// fails a check.
    pub checker: tokio::sync::Mutex<Option<tokio_postgres::Client>>,
}

pub struct Cluster {
    pub primary: Node,
    pub replicas: Vec<Replica>,
    pub options: Options,
    pub metrics: Metrics,
    pub router: Router,
    balancer: RoundRobin,
    closed: AtomicBool,
    /// Background tasks (health loop, idle reaper), aborted on close.
    pub(crate) tasks: Mutex<Vec<JoinHandle<()>>>,
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
                checker: tokio::sync::Mutex::new(None),
            })
            .collect();
        Arc::new(Cluster {
            primary: Node::new("primary".into(), primary, &options),
            replicas,
            router: Router::new(&options.write_functions, &options.read_only_functions),
            options,
            metrics: Metrics::default(),
            balancer: RoundRobin::default(),
            closed: AtomicBool::new(false),
            tasks: Mutex::new(Vec::new()),
        })
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

    /// Runs one statement where the router (or `route_override`) sends it.
    pub async fn query(
        &self,
        sql: &str,
        params: &[Param],
        route_override: Option<Target>,
    ) -> Result<Reply, CoreError> {
        self.ensure_open()?;
        let tokens = tokenize(sql);
        let route = match route_override {
            Some(Target::Replica) => Route {
                target: Target::Replica,
                reason: Reason::OverrideReplica,
            },
            Some(_) => Route {
                target: Target::Primary,
                reason: Reason::OverridePrimary,
            },
            None => self.router.classify_tokens(&tokens),
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
                self.primary.run(sql, &tokens, params).await
            }
            Target::Replica => {
                self.metrics.read();
                self.read(sql, &tokens, params).await
            }
        }
    }

    /// A read: on a healthy replica, and on the primary when there is none or the replica's
    /// connection fails.
    async fn read(
        &self,
        sql: &str,
        tokens: &[Token<'_>],
        params: &[Param],
    ) -> Result<Reply, CoreError> {
        match self.pick_replica() {
            Some(i) => match self.replicas[i].node.run(sql, tokens, params).await {
                Err(e) if e.is_connection_failure() => {
                    self.replica_connection_failed(i);
                    self.metrics.failover();
                }
                // The replica refused a write the router took for a read (a function the
                // write-function list does not know): it changed nothing, so run it where it can.
                Err(e) if e.is_read_only_refusal() => self.metrics.misrouted_read(),
                done => return done,
            },
            None if !self.replicas.is_empty() => self.metrics.failover(),
            None => {}
        }
        self.primary.run(sql, tokens, params).await
    }

    fn pick_replica(&self) -> Option<usize> {
        self.balancer.pick(self.replicas.len(), |i| {
            self.replicas[i].health.is_healthy()
        })
    }

    /// Counts a connection failure seen by a query toward the replica's health.
    pub fn replica_connection_failed(&self, i: usize) -> Transition {
        let threshold = self.options.failure_threshold;
        self.replicas[i]
            .health
            .update(|s| s.query_failed(threshold))
    }

    /// A dedicated connection for `getClient`: reads from a healthy replica (the primary when
    /// there is none or it cannot connect), writes from the primary.
    pub async fn checkout(&self, kind: ClientKind) -> Result<Checkout, CoreError> {
        self.ensure_open()?;
        if kind == ClientKind::Read {
            match self.pick_replica() {
                Some(i) => match self.replicas[i].node.connection().await {
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
        self.primary.pool.close();
        for replica in &self.replicas {
            replica.node.pool.close();
            replica.checker.lock().await.take();
        }
    }

    /// Records the outcome of one health check.
    pub fn record_check(
        &self,
        i: usize,
        outcome: Result<std::time::Duration, CoreError>,
    ) -> Transition {
        let now = SystemTime::now();
        let threshold = self.options.failure_threshold;
        match outcome {
            Ok(elapsed) => self.replicas[i]
                .health
                .update(|s| s.check_passed(now, elapsed)),
            Err(_) => {
                self.metrics.health_check_failure();
                self.replicas[i]
                    .health
                    .update(|s| s.check_failed(now, threshold))
            }
        }
    }
}
