//! The primary and its replicas: the pools, their health and the counters, owned in one place.
//!
//! - [`route`]: where each statement runs, read failover, `getClient` checkouts.
//! - [`record`]: recording health checks and failures, and the events they raise.

mod record;
mod route;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use deadpool_postgres::Object;
use tokio::task::JoinHandle;

use crate::balancer::RoundRobin;
use crate::config::{NodeConfig, Options};
use crate::error::CoreError;
use crate::events::EventSink;
use crate::health::{HealthState, Limits, Role, SharedHealth};
use crate::lsn::Lsn;
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::node::Node;
use crate::router::{Route, Router};

/// A replica, its health, and what happened to reads sent to it.
pub struct Replica {
    node: Node,
    health: SharedHealth,
    /// When the last failover event for this replica went out (ms since the epoch).
    last_failover_event: AtomicU64,
    /// Reads that failed here and ran on the primary instead.
    failovers: AtomicU64,
    /// Failed health checks of this replica.
    check_failures: AtomicU64,
}

impl Replica {
    pub fn node(&self) -> &Node {
        &self.node
    }

    pub fn failovers(&self) -> u64 {
        self.failovers.load(Ordering::Relaxed)
    }

    pub fn check_failures(&self) -> u64 {
        self.check_failures.load(Ordering::Relaxed)
    }
}

/// What the last health round learned about the primary.
#[derive(Debug, Clone, Default)]
pub struct PrimaryState {
    pub reachable: Option<bool>,
    pub role: Option<Role>,
    pub last_check: Option<SystemTime>,
    /// Its current WAL position, the reference for replication lag.
    pub wal_lsn: Option<Lsn>,
}

/// The primary and its replicas, and everything that decides where a statement runs. Its state
/// is its own: other modules read it through methods and change it through `record_*`.
pub struct Cluster {
    primary: Node,
    replicas: Vec<Replica>,
    options: Options,
    counters: Metrics,
    router: Router,
    primary_state: Mutex<PrimaryState>,
    /// Receives state changes (set once by the binding).
    events: OnceLock<EventSink>,
    balancer: RoundRobin,
    closed: AtomicBool,
    /// Background tasks (health loops, idle reaper), aborted on close.
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// Read-your-writes for one query, decided by the caller (the facade's sessions).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Causal {
    /// Read on the primary.
    pub strong: bool,
    /// Read only where this WAL position has been replayed.
    pub min_lsn: Option<Lsn>,
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
    /// Index into the replicas, or `None` for the primary.
    pub replica: Option<usize>,
}

/// The primary's entry in `getMetrics()`: its address and what its last check learned.
#[derive(Debug, Clone)]
pub struct PrimaryStatus {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub state: PrimaryState,
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

impl Cluster {
    /// Builds the pools; no connection is made until the checker starts or the first query.
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
            counters: Metrics::default(),
            primary_state: Mutex::new(PrimaryState::default()),
            events: OnceLock::new(),
            balancer: RoundRobin::default(),
            closed: AtomicBool::new(false),
            tasks: Mutex::new(Vec::new()),
        })
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    pub fn primary(&self) -> &Node {
        &self.primary
    }

    pub fn replicas(&self) -> &[Replica] {
        &self.replicas
    }

    /// Where this manager's router sends `sql`, and why.
    pub fn classify(&self, sql: &str) -> Route {
        self.router.classify(sql)
    }

    /// Where state changes go; the first sink set stays.
    pub fn set_event_sink(&self, sink: EventSink) {
        let _ = self.events.set(sink);
    }

    /// Keeps background tasks, to abort them on close.
    pub(crate) fn adopt_tasks(&self, tasks: impl IntoIterator<Item = JoinHandle<()>>) {
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(tasks);
    }

    fn limits(&self) -> Limits {
        Limits {
            failure_threshold: self.options.failure_threshold,
            recovery_threshold: self.options.recovery_threshold,
            max_lag: self.options.max_replication_lag,
            max_lag_bytes: self.options.max_replication_lag_bytes,
        }
    }

    fn ensure_open(&self) -> Result<(), CoreError> {
        if self.closed.load(Ordering::Acquire) {
            Err(CoreError::Closed)
        } else {
            Ok(())
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The node a checkout came from.
    pub fn node(&self, replica: Option<usize>) -> &Node {
        replica.map_or(&self.primary, |i| &self.replicas[i].node)
    }

    pub fn replica_status(&self) -> Vec<ReplicaStatus> {
        self.replicas
            .iter()
            .map(|r| ReplicaStatus {
                name: r.node.name().to_string(),
                host: r.node.config().host.clone(),
                port: r.node.config().port,
                database: r.node.config().database.clone(),
                health: r.health.snapshot(),
            })
            .collect()
    }

    pub fn primary_status(&self) -> PrimaryStatus {
        let config = self.primary.config();
        PrimaryStatus {
            host: config.host.clone(),
            port: config.port,
            database: config.database.clone(),
            state: self.primary_state(),
        }
    }

    fn primary_state(&self) -> PrimaryState {
        self.primary_state
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// The primary's WAL position at its last check: the reference for replication lag.
    pub(crate) fn primary_wal_lsn(&self) -> Option<Lsn> {
        self.primary_state().wal_lsn
    }

    /// The counters as they are now.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.counters.snapshot()
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
            node.close().await;
        }
    }

    /// The primary, then every replica.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        std::iter::once(&self.primary).chain(self.replicas.iter().map(|r| &r.node))
    }
}
