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
    consistency_primary_reads: AtomicU64,
    causal_waits: AtomicU64,
    primary_changes: AtomicU64,
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
    /// Reads sent to the primary because no replica had replayed the session's writes in
    /// time, or because the read asked for strong consistency.
    pub consistency_primary_reads: u64,
    /// Reads that asked a replica for its replay position (and waited for it if behind).
    pub causal_waits: u64,
    /// Times another member became the primary.
    pub primary_changes: u64,
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
    pub fn consistency_primary_read(&self) {
        self.consistency_primary_reads
            .fetch_add(1, Ordering::Relaxed);
    }
    pub fn causal_wait(&self) {
        self.causal_waits.fetch_add(1, Ordering::Relaxed);
    }
    pub fn primary_change(&self) {
        self.primary_changes.fetch_add(1, Ordering::Relaxed);
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
            consistency_primary_reads: self.consistency_primary_reads.load(Ordering::Relaxed),
            causal_waits: self.causal_waits.load(Ordering::Relaxed),
            primary_changes: self.primary_changes.load(Ordering::Relaxed),
            routes: std::array::from_fn(|i| self.routes[i].load(Ordering::Relaxed)),
        }
    }
}

/// Upper bounds of the latency buckets, in milliseconds (Prometheus `le` labels).
pub const LATENCY_BUCKETS_MS: [f64; 13] = [
    0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0,
];

/// Query latency on one node, as a cumulative-ready histogram (lock-free).
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    /// One count per bucket, then one for +Inf.
    counts: [AtomicU64; LATENCY_BUCKETS_MS.len() + 1],
    sum_micros: AtomicU64,
}

/// A copy of a histogram: per-bucket (not cumulative) counts, and the sum in seconds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistogramSnapshot {
    pub counts: Vec<u64>,
    pub sum_seconds: f64,
}

impl LatencyHistogram {
    pub fn record(&self, elapsed: std::time::Duration) {
        let ms = elapsed.as_secs_f64() * 1000.0;
        let bucket = LATENCY_BUCKETS_MS
            .iter()
            .position(|&le| ms <= le)
            .unwrap_or(LATENCY_BUCKETS_MS.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            counts: self
                .counts
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect(),
            sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Each latency lands in the first bucket whose bound it does not exceed.
    #[test]
    fn histogram_buckets() {
        let h = LatencyHistogram::default();
        h.record(Duration::from_micros(300));
        h.record(Duration::from_millis(1));
        h.record(Duration::from_millis(7));
        h.record(Duration::from_secs(60));
        let s = h.snapshot();
        assert_eq!(s.counts[0], 1);
        assert_eq!(s.counts[1], 1);
        assert_eq!(s.counts[4], 1);
        assert_eq!(s.counts[LATENCY_BUCKETS_MS.len()], 1);
        assert!((s.sum_seconds - 60.0083).abs() < 1e-6);
    }
}
