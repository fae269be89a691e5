//! Background work: a health loop per node and the idle-connection reaper.
//!
//! Tasks hold only a `Weak` reference to the cluster, so a manager that is dropped without
//! `close()` still stops them.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::future::join_all;

use crate::cluster::Cluster;
use crate::error::CoreError;
use crate::health::{Observation, PrimaryObservation, ReplicaCheck};
use crate::lsn::Lsn;
use crate::node::Probed;

/// Runs the first health check of every node (all at once, bounded by the check timeout), then
/// starts the background tasks. The pools' minimum connections open in the background, so that
/// a node that is slow to connect never holds up initialization.
pub async fn start(cluster: &Arc<Cluster>) {
    check_all(cluster).await;
    let weak = Arc::downgrade(cluster);
    let warm = tokio::spawn(async move {
        if let Some(c) = weak.upgrade() {
            warm_pools(&c).await;
        }
    });
    let mut tasks = vec![
        warm,
        tokio::spawn(idle_reaper(Arc::downgrade(cluster))),
        tokio::spawn(node_loop(Arc::downgrade(cluster), None)),
    ];
    for i in 0..cluster.replicas().len() {
        tasks.push(tokio::spawn(node_loop(Arc::downgrade(cluster), Some(i))));
    }
    cluster.adopt_tasks(tasks);
}

/// The health loop of one node (`None` for the primary). Each node has its own, so a slow or
/// hung node delays no other node's checks.
async fn node_loop(cluster: Weak<Cluster>, replica: Option<usize>) {
    let Some(interval) = cluster.upgrade().map(|c| c.options().health_check_interval) else {
        return;
    };
    loop {
        tokio::time::sleep(interval).await;
        let Some(c) = cluster.upgrade().filter(|c| !c.is_closed()) else {
            return;
        };
        match replica {
            None => check_primary(&c).await,
            Some(i) => check_replica(&c, i).await,
        }
    }
}

/// What the primary is asked: whether it is a standby, and its WAL position.
const PRIMARY_PROBE: &str = "SELECT pg_is_in_recovery(), \
     CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END";

/// What each replica is asked: whether it is still a standby, how far it has replayed, and how
/// long ago it replayed its last transaction.
const REPLICA_PROBE: &str = "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, \
     (EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::int8";

/// Checks every node at once: the primary first in spirit (its WAL position is the reference
/// for lag), but concurrently in fact, each bounded by the check timeout.
pub async fn check_all(cluster: &Cluster) {
    let limit = cluster.options().health_check_timeout;
    let replicas = join_all(
        cluster
            .replicas()
            .iter()
            .map(|r| r.node().probe(REPLICA_PROBE, limit)),
    );
    let (primary, replicas) = tokio::join!(cluster.primary().probe(PRIMARY_PROBE, limit), replicas);
    let primary_lsn = cluster.record_primary_check(primary.map(|p| observe_primary(&p)));
    for (i, outcome) in replicas.into_iter().enumerate() {
        record_replica(cluster, i, outcome, primary_lsn);
    }
}

async fn check_primary(cluster: &Cluster) {
    let limit = cluster.options().health_check_timeout;
    let outcome = cluster.primary().probe(PRIMARY_PROBE, limit).await;
    cluster.record_primary_check(outcome.map(|p| observe_primary(&p)));
}

/// Lag is measured against the primary's WAL position from its latest check.
async fn check_replica(cluster: &Cluster, i: usize) {
    let limit = cluster.options().health_check_timeout;
    let outcome = cluster.replicas()[i]
        .node()
        .probe(REPLICA_PROBE, limit)
        .await;
    record_replica(cluster, i, outcome, cluster.primary_wal_lsn());
}

/// Records a replica probe: its replay position for causal reads, its health and lag.
fn record_replica(
    cluster: &Cluster,
    i: usize,
    outcome: Result<Probed, CoreError>,
    primary_lsn: Option<Lsn>,
) {
    if let Ok(probed) = &outcome {
        let replayed = probed.text(1).and_then(|v| v.parse().ok());
        cluster.replicas()[i].node().note_replayed(replayed);
    }
    let observed = outcome.map(|p| ReplicaCheck {
        response_time: p.elapsed,
        seen: observe(&p, primary_lsn),
    });
    cluster.record_check(i, observed);
}

/// Reads a primary probe row.
fn observe_primary(probed: &Probed) -> PrimaryObservation {
    PrimaryObservation {
        in_recovery: probed.text(0) == Some("t"),
        wal_lsn: probed.text(1).and_then(|v| v.parse().ok()),
    }
}

/// Reads a replica probe row; lag is measured against the primary's WAL position, and the
/// replay age counts only while the replica is behind (an idle primary writes nothing new).
fn observe(probed: &Probed, primary_lsn: Option<Lsn>) -> Observation {
    let in_recovery = probed.text(0) == Some("t");
    let replayed: Option<Lsn> = probed.text(1).and_then(|v| v.parse().ok());
    let lag_bytes = match (in_recovery, primary_lsn, replayed) {
        (true, Some(primary), Some(replayed)) => Some(primary.bytes_after(replayed)),
        _ => None,
    };
    let age = probed.text(2).and_then(|v| v.parse::<i64>().ok());
    let lag = match lag_bytes {
        Some(0) => Some(Duration::ZERO),
        Some(_) => age.map(|ms| Duration::from_millis(ms.max(0) as u64)),
        None => None,
    };
    Observation {
        in_recovery,
        lag_bytes,
        lag,
    }
}

/// Opens each pool's minimum number of connections; failures are left to the health checks.
async fn warm_pools(cluster: &Cluster) {
    let min = cluster.options().pool_min;
    if min == 0 {
        return;
    }
    join_all(cluster.nodes().map(|node| async move {
        let conns = join_all((0..min).map(|_| node.connection())).await;
        drop(conns);
    }))
    .await;
}

/// Closes connections idle for longer than the idle timeout, keeping the pool's minimum.
async fn idle_reaper(cluster: Weak<Cluster>) {
    let Some(idle) = cluster.upgrade().map(|c| c.options().idle_timeout) else {
        return;
    };
    let period = (idle / 2).clamp(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        tokio::time::sleep(period).await;
        let Some(c) = cluster.upgrade().filter(|c| !c.is_closed()) else {
            return;
        };
        let min = c.options().pool_min;
        for node in c.nodes() {
            node.close_idle(min, idle);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lag counts bytes against the primary, and age only while the replica is behind.
    #[test]
    fn observations() {
        let row = |r: &str, lsn: &str, age: &str| Probed {
            row: vec![
                Some(r.to_string()),
                Some(lsn.to_string()),
                Some(age.to_string()),
            ],
            elapsed: Duration::ZERO,
        };
        let caught_up = observe(&row("t", "0/100", "60000"), Some(Lsn(0x100)));
        assert_eq!(caught_up.lag_bytes, Some(0));
        assert_eq!(caught_up.lag, Some(Duration::ZERO));
        let behind = observe(&row("t", "0/100", "2500"), Some(Lsn(0x300)));
        assert_eq!(behind.lag_bytes, Some(0x200));
        assert_eq!(behind.lag, Some(Duration::from_millis(2500)));
        let promoted = observe(&row("f", "0/100", "0"), Some(Lsn(0x300)));
        assert!(!promoted.in_recovery);
        assert_eq!(promoted.lag_bytes, None);
        let primary_down = observe(&row("t", "0/100", "10"), None);
        assert_eq!(primary_down.lag_bytes, None);
    }
}
