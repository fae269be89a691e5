//! The members — the configured primary and replicas — with their pools, health and discovered
//! roles, and the counters: owned in one place.
//!
//! The configs name the members; which one takes the writes is discovered ([`roles`]), never
//! assumed from the config it came in. Member 0 is the one given as `primaryConfig` (named
//! `primary`), then `replica_0`, `replica_1`, … in order.
//!
//! - [`route`]: where each statement runs, read failover, waiting for a primary, checkouts.
//! - [`cursor`]: where a cursor runs, and opening it elsewhere when its member fails.
//! - [`roles`]: who is primary now, refreshing roles on demand, waiting for the next primary.
//! - [`record`]: recording health checks and failures, and the events they raise.

mod cursor;
mod record;
mod roles;
mod route;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::SystemTime;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::balancer::RoundRobin;
use crate::config::{NodeConfig, Options};
use crate::error::CoreError;
use crate::events::EventSink;
use crate::health::{HealthState, Limits, SharedHealth};
use crate::insights::Insights;
use crate::lsn::Lsn;
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::node::{Node, Object};
use crate::router::{Route, Router};
use crate::topology::Election;

/// One server of the cluster, its health, and what happened to reads sent to it.
pub struct Member {
    node: Node,
    health: SharedHealth,
    /// When the last failover event for this member went out (ms since the epoch).
    last_failover_event: AtomicU64,
    /// Reads that failed here and ran elsewhere instead.
    failovers: AtomicU64,
    /// Failed health checks of this member.
    check_failures: AtomicU64,
    /// Why its latest check failed (`None` when it passed).
    check_error: Mutex<Option<CoreError>>,
    /// A role refresh's probe of this member is under way.
    probing: AtomicBool,
}

impl Member {
    fn new(node: Node) -> Member {
        Member {
            node,
            health: SharedHealth::default(),
            last_failover_event: AtomicU64::new(0),
            failovers: AtomicU64::new(0),
            check_failures: AtomicU64::new(0),
            check_error: Mutex::new(None),
            probing: AtomicBool::new(false),
        }
    }

    pub fn node(&self) -> &Node {
        &self.node
    }

    pub fn pipelined(&self) -> u64 {
        self.node.pipelined()
    }

    pub fn failovers(&self) -> u64 {
        self.failovers.load(Ordering::Relaxed)
    }

    pub fn check_failures(&self) -> u64 {
        self.check_failures.load(Ordering::Relaxed)
    }

    /// Why the latest check failed, if it did.
    fn check_error(&self) -> Option<CoreError> {
        self.check_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// `writer` when no member takes the writes.
const NO_WRITER: usize = usize::MAX;

/// The members, and everything that decides where a statement runs. Its state is its own: other
/// modules read it through methods and change it through `record_*`.
pub struct Cluster {
    members: Vec<Member>,
    options: Options,
    counters: Metrics,
    /// Statement stats, slow statements, statements per member.
    insights: Insights,
    router: Router,
    /// The member that takes the writes now ([`NO_WRITER`] when none does), read lock-free on
    /// the query path; the full election (with the fenced claimants) behind it.
    writer: AtomicUsize,
    roles: Mutex<Roles>,
    /// Wakes writes that wait for a primary whenever the election changes.
    election_changed: Notify,
    /// A role refresh started less than its interval ago (see [`Cluster::refresh_roles`]).
    refreshing: AtomicBool,
    /// Statements waiting for a primary: while there are any, refreshes follow one another.
    waiting: AtomicUsize,
    /// Receives state changes (set once by the binding).
    events: OnceLock<EventSink>,
    balancer: RoundRobin,
    closed: AtomicBool,
    /// Turns true on close: work that outlives a call (cursors) ends then.
    closing: watch::Sender<bool>,
    /// Background tasks (health loops, idle reaper, role refreshes), aborted on close.
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Itself, for the background work it starts on demand.
    this: Weak<Cluster>,
}

/// The latest election, the last member that took the writes (to tell a new primary from the
/// same one found again), and when members were fenced (split brain is told once confirmed).
#[derive(Debug, Default)]
struct Roles {
    election: Election,
    last_writer: Option<usize>,
    fenced_since: Option<SystemTime>,
    split_brain_told: bool,
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

/// A connection checked out for `getClient`, with the member it came from.
pub struct Checkout {
    pub conn: Object,
    pub member: usize,
    /// The member took the writes when the connection was checked out.
    pub from_writer: bool,
}

/// One member's entry in `getReplicaStatus()` or `getMetrics().primary`.
#[derive(Debug, Clone)]
pub struct MemberStatus {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub health: HealthState,
    /// Takes the writes now.
    pub writer: bool,
    /// Claims to be primary but lost the election (split brain): serves nothing.
    pub fenced: bool,
    /// Statements it ran.
    pub queries: u64,
    /// Statements that shared a busy connection (pipelined).
    pub pipelined: u64,
}

impl Cluster {
    /// Builds the pools; no connection is made until the checker starts or the first query.
    pub fn new(primary: NodeConfig, replicas: Vec<NodeConfig>, options: Options) -> Arc<Cluster> {
        let members: Vec<Member> = std::iter::once(Node::new("primary".into(), primary, &options))
            .chain(
                replicas
                    .into_iter()
                    .enumerate()
                    .map(|(i, config)| Node::new(format!("replica_{i}"), config, &options)),
            )
            .map(Member::new)
            .collect();
        let insights = Insights::new(&options, members.len());
        Arc::new_cyclic(|this| Cluster {
            insights,
            members,
            router: Router::new(&options.write_functions, &options.read_only_functions),
            options,
            counters: Metrics::default(),
            writer: AtomicUsize::new(NO_WRITER),
            roles: Mutex::new(Roles::default()),
            election_changed: Notify::new(),
            refreshing: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            events: OnceLock::new(),
            balancer: RoundRobin::default(),
            closed: AtomicBool::new(false),
            closing: watch::Sender::new(false),
            tasks: Mutex::new(Vec::new()),
            this: this.clone(),
        })
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Statement stats and the rest of what is learned from statements run.
    pub fn insights(&self) -> &Insights {
        &self.insights
    }

    /// Every member: the configured primary first, then the replicas in config order.
    pub fn members(&self) -> &[Member] {
        &self.members
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

    /// Completes once the manager is closed (at once when it is already).
    pub async fn closed(&self) {
        let mut closing = self.closing.subscribe();
        let _ = closing.wait_for(|closed| *closed).await;
    }

    /// The node a checkout came from.
    pub fn node(&self, member: usize) -> &Node {
        &self.members[member].node
    }

    fn status_of(&self, i: usize, election: &Election) -> MemberStatus {
        let config = self.members[i].node.config();
        MemberStatus {
            name: self.members[i].node.name().to_string(),
            host: config.host.clone(),
            port: config.port,
            database: config.database.clone(),
            health: self.members[i].health.snapshot(),
            writer: election.writer == Some(i),
            fenced: election.fenced.contains(&i),
            queries: self.insights.served(i),
            pipelined: self.members[i].node.pipelined(),
        }
    }

    /// Every member, in config order.
    pub fn member_status(&self) -> Vec<MemberStatus> {
        let election = self.election();
        (0..self.members.len())
            .map(|i| self.status_of(i, &election))
            .collect()
    }

    /// `getReplicaStatus()`: every configured replica, whatever its role now (the guide's keys
    /// stay), and the configured primary too while another member takes the writes.
    pub fn replica_status(&self) -> Vec<MemberStatus> {
        let mut members = self.member_status();
        if members.first().is_some_and(|primary| primary.writer) {
            members.remove(0);
        }
        members
    }

    /// The member that takes the writes now, if any.
    pub fn primary_status(&self) -> Option<MemberStatus> {
        let election = self.election();
        election.writer.map(|w| self.status_of(w, &election))
    }

    fn election(&self) -> Election {
        let roles = self.roles.lock().unwrap_or_else(|e| e.into_inner());
        roles.election.clone()
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
        self.closing.send_replace(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for task in tasks {
            task.abort();
        }
        for member in &self.members {
            member.node.close().await;
        }
        // Writes waiting for a primary give up now.
        self.election_changed.notify_waiters();
    }

    /// Every member's node.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.members.iter().map(|m| &m.node)
    }
}
