//! One PostgreSQL server: its connection pool, the health checker's own connection, and what
//! is known about how far it has replayed.
//!
//! - [`connect`]: opening a connection, asking a password function first when there is one.
//! - [`driver`]: moving a connection, from its own task or the thread that queued a request.
//! - [`pool`]: connections for statements, bounded waits.
//! - [`probe`]: the checker's connection and the WAL positions asked of a server.
//! - [`execute`]: running a text on a connection, with retries on broken connections for reads.
//! - [`lane`]: connections shared by concurrent plain statements (pipelining).
//! - [`brisk`]: which statements are known to be short here (gathered onto few lanes).
//! - [`portal`]: a cursor on one connection: its transaction, its portal, its batches.
//! - [`server_text`]: the server's own text for values without a local text form.

mod brisk;
mod connect;
mod driver;
mod execute;
mod lane;
mod pool;
mod portal;
mod probe;
mod server_text;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::{NodeConfig, Options};
use crate::lsn::Lsn;
use crate::metrics::LatencyHistogram;

pub use connect::{Object, Pool};
pub use driver::inline;
pub use execute::{Retry, StatementOptions};
pub use portal::{ConnState, CursorPlan, CursorTransaction, Served};
pub use probe::{insert_lsn, Probed};

pub struct Node {
    /// `primary`, `replica_0`, …: the key status reports use.
    name: String,
    /// Name and address for messages: `replica_0 (10.0.0.2:5432)`. Never a password.
    label: String,
    config: NodeConfig,
    pool: Pool,
    /// Pooled connections plain statements share while the pool is busy.
    lanes: lane::Lanes,
    /// How long each statement's recent runs here took: which are brisk.
    brisk: brisk::Brisk,
    /// Cancels statements on this node (TLS when the config asks for it).
    tls: MakeRustlsConnect,
    /// The health checker's own connection, kept apart from the pool so that a busy pool never
    /// fails a check.
    checker: tokio::sync::Mutex<Option<tokio_postgres::Client>>,
    /// How long statements routed here took, connecting included.
    latency: LatencyHistogram,
    /// The latest WAL position seen replayed here (standbys; from checks and causal reads).
    replayed: AtomicU64,
    /// When the node was made: the origin of `drained_until`.
    opened: Instant,
    /// Connections created up to this many nanoseconds after `opened` are not handed out again
    /// (0: none); see [`Node::drain`].
    drained_until: AtomicU64,
    /// The checker's connection is to be opened afresh at the next probe (after a drain).
    stale_checker: AtomicBool,
}

impl Node {
    pub fn new(name: String, mut config: NodeConfig, options: &Options) -> Node {
        config.pg.connect_timeout(options.connect_timeout);
        let tls = config
            .tls
            .connector()
            .expect("TLS settings are checked when the config is read");
        let label = format!("{name} ({}:{})", config.host, config.port);
        let pool = pool::build(&config, tls.clone(), &label, options);
        Node {
            name,
            label,
            config,
            pool,
            lanes: lane::Lanes::new(options.pipeline_depth, options.brisk_depth),
            brisk: brisk::Brisk::new(),
            tls,
            checker: tokio::sync::Mutex::new(None),
            latency: LatencyHistogram::default(),
            replayed: AtomicU64::new(0),
            opened: Instant::now(),
            drained_until: AtomicU64::new(0),
            stale_checker: AtomicBool::new(false),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// `host:port`, for events and logs.
    pub fn address(&self) -> String {
        format!("{}:{}", self.config.host, self.config.port)
    }

    pub fn latency(&self) -> &LatencyHistogram {
        &self.latency
    }

    pub fn pool_status(&self) -> deadpool::Status {
        self.pool.status()
    }

    /// The latest WAL position this node is known to have replayed (0/0 when unknown).
    pub fn known_replayed(&self) -> Lsn {
        Lsn(self.replayed.load(Ordering::Relaxed))
    }

    pub fn note_replayed(&self, lsn: Option<Lsn>) {
        if let Some(lsn) = lsn {
            self.replayed.fetch_max(lsn.0, Ordering::Relaxed);
        }
    }

    /// Closes the pool and the checker's connection. Connections checked out close when they
    /// are returned.
    pub async fn close(&self) {
        self.lanes.retire_all();
        self.pool.close();
        self.checker.lock().await.take();
    }
}
