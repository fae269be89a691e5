//! The health checker's own connection, and the WAL positions asked of a server.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio_postgres::SimpleQueryMessage;

use super::{Node, Object};
use crate::error::CoreError;
use crate::lsn::Lsn;

/// A probe's first row, each value as the server's text, and how long the exchange took.
#[derive(Debug, Clone)]
pub struct Probed {
    pub row: Vec<Option<String>>,
    pub elapsed: Duration,
}

impl Probed {
    /// Column `i` as text, `None` when absent or NULL.
    pub fn text(&self, i: usize) -> Option<&str> {
        self.row.get(i).and_then(|v| v.as_deref())
    }
}

impl Node {
    /// Runs `sql` on the checker's own connection (opened on demand, as the pool opens its
    /// own), bounded by `limit`. A closed node opens nothing.
    pub async fn probe(&self, sql: &str, limit: Duration) -> Result<Probed, CoreError> {
        let started = Instant::now();
        // One deadline for connecting and for the whole probe: a connect that runs out reports
        // why (a password function that gave no answer, say).
        let deadline = tokio::time::Instant::now() + limit;
        let attempt = async {
            let mut checker = self.checker.lock().await;
            if self.pool.is_closed() {
                checker.take();
                return Err(CoreError::Closed);
            }
            // A drain asked for a new connection (the server behind the name may have moved).
            if self.stale_checker.swap(false, Ordering::AcqRel) {
                checker.take();
            }
            if checker.as_ref().is_none_or(|c| c.is_closed()) {
                // The connection's task ends when the client is dropped.
                let (client, _task, _messages) = self.pool.manager().open(deadline, limit).await?;
                *checker = Some(client);
            }
            let client = checker.as_ref().expect("connected above");
            let messages = client
                .simple_query(sql)
                .await
                .map_err(|e| CoreError::from_driver(e, &self.label))?;
            Ok(Probed {
                row: first_row(&messages),
                elapsed: started.elapsed(),
            })
        };
        match tokio::time::timeout_at(deadline, attempt).await {
            Ok(outcome) => outcome,
            Err(_) => {
                // The connection may be stuck mid-exchange: start afresh next time.
                self.checker.lock().await.take();
                Err(self.timed_out(limit))
            }
        }
    }
}

pub(super) fn first_row(messages: &[SimpleQueryMessage]) -> Vec<Option<String>> {
    let row = messages.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(row) => Some(row),
        _ => None,
    });
    row.map_or_else(Vec::new, |row| {
        (0..row.len())
            .map(|i| row.get(i).map(str::to_string))
            .collect()
    })
}

/// The server's current WAL insert position: at or past the commit of anything it just ran.
pub async fn insert_lsn(conn: &Object) -> Result<Option<Lsn>, tokio_postgres::Error> {
    first_lsn(conn, "SELECT pg_current_wal_insert_lsn()::text").await
}

/// How far a standby has replayed.
pub(super) async fn replay_lsn(conn: &Object) -> Result<Option<Lsn>, tokio_postgres::Error> {
    first_lsn(conn, "SELECT pg_last_wal_replay_lsn()::text").await
}

async fn first_lsn(conn: &Object, sql: &str) -> Result<Option<Lsn>, tokio_postgres::Error> {
    let messages = conn.simple_query(sql).await?;
    let row = first_row(&messages);
    Ok(row.first().and_then(|v| v.as_deref()?.parse().ok()))
}
