//! Counters the guide's `getMetrics()` reports, updated lock-free on the query path.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::router::Reason;

const REASONS: usize = Reason::ALL.len();

#[derive(Debug, Default)]
pub struct Metrics {
    read_queries: AtomicU64,
    write_queries: AtomicU64,
    replica_failovers: AtomicU64,
    health_check_failures: AtomicU64,
    misrouted_reads: AtomicU64,
    routes: [AtomicU64; REASONS],
}

/// A point-in-time copy of the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MetricsSnapshot {
    pub read_queries: u64,
    pub write_queries: u64,
    pub replica_failovers: u64,
    pub health_check_failures: u64,
    /// Reads a replica refused as writes (SQLSTATE 25006) that the primary then ran.
    pub misrouted_reads: u64,
    /// Statements routed, by reason, in the order of [`Reason::ALL`].
    pub routes: [u64; REASONS],
}

impl Metrics {
    pub fn read(&self) {
        self.read_queries.fetch_add(1, Ordering::Relaxed);
    }
    pub fn write(&self) {
        self.write_queries.fetch_add(1, Ordering::Relaxed);
    }
    pub fn failover(&self) {
        self.replica_failovers.fetch_add(1, Ordering::Relaxed);
    }
    pub fn health_check_failure(&self) {
        self.health_check_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn misrouted_read(&self) {
        self.misrouted_reads.fetch_add(1, Ordering::Relaxed);
    }
    pub fn route(&self, reason: Reason) {
        self.routes[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            read_queries: self.read_queries.load(Ordering::Relaxed),
            write_queries: self.write_queries.load(Ordering::Relaxed),
            replica_failovers: self.replica_failovers.load(Ordering::Relaxed),
            health_check_failures: self.health_check_failures.load(Ordering::Relaxed),
            misrouted_reads: self.misrouted_reads.load(Ordering::Relaxed),
            routes: std::array::from_fn(|i| self.routes[i].load(Ordering::Relaxed)),
        }
    }
}
