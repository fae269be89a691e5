//! Background work: a health loop per member, role refreshes, and the idle-connection reaper.
//!
//! Every member is asked the same probe, whatever config it came in: its role, WAL position,
//! replay age and (as a primary) timeline. Tasks hold only a `Weak` reference to the cluster, so
//! a manager dropped without `close()` still stops them.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::future::join_all;

use crate::cluster::Cluster;
use crate::health::{Check, Observation};
use crate::lsn::Lsn;
use crate::node::Probed;

/// Runs the first health check of every member (all at once, bounded by the check timeout),
/// then starts the background tasks. The pools' minimum connections open in the background, so
/// that a member that is slow to connect never holds up initialization.
pub async fn start(cluster: &Arc<Cluster>) {
    check_all(cluster).await;
    if cluster.writer().is_none() {
        cluster.no_primary_event(None, "");
    }
    let weak = Arc::downgrade(cluster);
    let warm = tokio::spawn(async move {
        if let Some(c) = weak.upgrade() {
            warm_pools(&c).await;
        }
    });
    let mut tasks = vec![warm, tokio::spawn(idle_reaper(Arc::downgrade(cluster)))];
    for i in 0..cluster.members().len() {
        tasks.push(tokio::spawn(member_loop(Arc::downgrade(cluster), i)));
    }
    cluster.adopt_tasks(tasks);
}

/// The health loop of member `i`. Each member has its own, so a slow or hung member delays no
/// other member's checks.
async fn member_loop(cluster: Weak<Cluster>, i: usize) {
    let Some(interval) = cluster.upgrade().map(|c| c.options().health_check_interval) else {
        return;
    };
    loop {
        tokio::time::sleep(interval).await;
        let Some(c) = cluster.upgrade().filter(|c| !c.is_closed()) else {
            return;
        };
        check_member(&c, i).await;
    }
}

/// What every member is asked: whether it is in recovery, its WAL position (replayed, or
/// current on a primary), how long ago it replayed its last transaction, and a primary's
/// timeline (the first eight hex digits of its current WAL file's name).
const PROBE: &str = "SELECT pg_is_in_recovery(), \
     CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text, \
     (EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::int8, \
     CASE WHEN pg_is_in_recovery() THEN NULL \
     ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END";

/// Checks every member at once, each bounded by the check timeout and recorded as soon as it
/// answers.
async fn check_all(cluster: &Cluster) {
    join_all((0..cluster.members().len()).map(|i| check_member(cluster, i))).await;
}

/// Checks member `i` now and records what it said. Lag is measured against the primary's WAL
/// position from its latest check.
pub async fn check_member(cluster: &Cluster, i: usize) {
    let limit = cluster.options().health_check_timeout;
    let node = cluster.members()[i].node();
    let outcome = node.probe(PROBE, limit).await;
    if let Ok(probed) = &outcome {
        if probed.text(0) == Some("t") {
            node.note_replayed(probed.text(1).and_then(|v| v.parse().ok()));
        }
    }
    let observed = outcome.map(|p| Check {
        response_time: p.elapsed,
        seen: observe(&p, cluster.writer_lsn()),
    });
    cluster.record_check(i, observed);
}

/// Reads a probe row; a standby's lag is measured against the primary's WAL position, and the
/// replay age counts only while the standby is behind (an idle primary writes nothing new).
fn observe(probed: &Probed, primary_lsn: Option<Lsn>) -> Observation {
    let in_recovery = probed.text(0) == Some("t");
    let wal_lsn: Option<Lsn> = probed.text(1).and_then(|v| v.parse().ok());
    let lag_bytes = match (in_recovery, primary_lsn, wal_lsn) {
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
        wal_lsn,
        timeline: probed.text(3).and_then(|v| v.parse().ok()),
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

    /// Lag counts bytes against the primary, and age only while the standby is behind; a
    /// primary reports its timeline.
    #[test]
    fn observations() {
        let row = |r: &str, lsn: &str, age: &str| Probed {
            row: vec![
                Some(r.to_string()),
                Some(lsn.to_string()),
                Some(age.to_string()),
                None,
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
        let mut primary = row("f", "0/300", "");
        primary.row[3] = Some("3".into());
        let seen = observe(&primary, None);
        assert_eq!((seen.timeline, seen.wal_lsn), (Some(3), Some(Lsn(0x300))));
    }
}
