//! Background work: the replica health loop and the idle-connection reaper.
//!
//! Tasks hold only a `Weak` reference to the cluster, so a manager that is dropped without
//! `close()` still stops them.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio_postgres::NoTls;

use crate::cluster::Cluster;
use crate::error::CoreError;

/// Runs the first health check of every replica (bounded by the check timeout), then starts the
/// background tasks. The pools' minimum connections open in the background, so that a node
/// that is slow to connect never holds up initialization.
pub async fn start(cluster: &Arc<Cluster>) {
    check_all(cluster).await;
    let weak = Arc::downgrade(cluster);
    let warm = tokio::spawn(async move {
        if let Some(c) = weak.upgrade() {
            warm_pools(&c).await;
        }
    });
    let health = tokio::spawn(health_loop(Arc::downgrade(cluster)));
    let reaper = tokio::spawn(idle_reaper(Arc::downgrade(cluster)));
    let mut tasks = cluster.tasks.lock().unwrap_or_else(|e| e.into_inner());
    tasks.extend([warm, health, reaper]);
}

async fn health_loop(cluster: Weak<Cluster>) {
    let Some(interval) = cluster.upgrade().map(|c| c.options.health_check_interval) else {
        return;
    };
    loop {
        tokio::time::sleep(interval).await;
        match cluster.upgrade() {
            Some(c) if !c.is_closed() => check_all(&c).await,
            _ => return,
        }
    }
}

/// Checks every replica at once, so one slow or hung replica never delays the others.
pub async fn check_all(cluster: &Cluster) {
    let checks = (0..cluster.replicas.len()).map(|i| async move {
        let outcome = check(cluster, i).await;
        cluster.record_check(i, outcome);
    });
    join_all(checks).await;
}

/// One bounded check: connect if needed, then a round trip on the checker's own connection.
async fn check(cluster: &Cluster, i: usize) -> Result<Duration, CoreError> {
    let replica = &cluster.replicas[i];
    let timeout = cluster.options.health_check_timeout;
    let started = Instant::now();
    let attempt = async {
        let mut conn = replica.checker.lock().await;
        if conn.as_ref().is_none_or(|c| c.is_closed()) {
            let (client, connection) = replica
                .node
                .config
                .pg
                .connect(NoTls)
                .await
                .map_err(|e| CoreError::from_driver(e, &replica.node.label))?;
            tokio::spawn(connection);
            *conn = Some(client);
        }
        let client = conn.as_ref().expect("connected above");
        client
            .simple_query("SELECT 1")
            .await
            .map_err(|e| CoreError::from_driver(e, &replica.node.label))?;
        Ok(started.elapsed())
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(outcome) => outcome,
        Err(_) => {
            // The connection may be stuck mid-exchange: start afresh next time.
            replica.checker.lock().await.take();
            Err(CoreError::Connection {
                code: "ETIMEDOUT",
                node: replica.node.label.clone(),
                message: format!("health check timed out after {} ms", timeout.as_millis()),
            })
        }
    }
}

/// Opens each pool's minimum number of connections; failures are left to the health checks.
async fn warm_pools(cluster: &Cluster) {
    let min = cluster.options.pool_min;
    if min == 0 {
        return;
    }
    let nodes = std::iter::once(&cluster.primary).chain(cluster.replicas.iter().map(|r| &r.node));
    join_all(nodes.map(|node| async move {
        let conns = join_all((0..min).map(|_| node.connection())).await;
        drop(conns);
    }))
    .await;
}

/// Closes connections idle for longer than the idle timeout, keeping the pool's minimum.
async fn idle_reaper(cluster: Weak<Cluster>) {
    let Some(idle) = cluster.upgrade().map(|c| c.options.idle_timeout) else {
        return;
    };
    let period = (idle / 2).clamp(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        tokio::time::sleep(period).await;
        let Some(c) = cluster.upgrade().filter(|c| !c.is_closed()) else {
            return;
        };
        let min = c.options.pool_min;
        for node in std::iter::once(&c.primary).chain(c.replicas.iter().map(|r| &r.node)) {
            let mut kept = 0;
            node.pool.retain(|_, metrics| {
                let keep = kept < min || metrics.last_used() < idle;
                kept += usize::from(keep);
                keep
            });
        }
    }
}
