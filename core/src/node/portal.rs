//! A cursor on one connection: the statement prepared, a transaction begun (or the caller's
//! joined), a portal bound, and its rows fetched a batch per request (`Execute` with a row
//! limit) until they run out, the cursor is closed, or it fails. Rows are decoded exactly as a
//! query's are (`execute`), server text included.

use std::future::Future;
use std::time::Duration;

use super::Object;
use futures_util::TryStreamExt;
use tokio::time::Instant;
use tokio_postgres::{Column, Portal};

use super::execute::{check_input, decode_row, fields, Retry, STALE_RETRIES};
use super::probe::{first_row, insert_lsn};
use super::server_text::resolve_server_text;
use super::Node;
use crate::cursor::{Batch, Pending, Request, Requests};
use crate::error::CoreError;
use crate::lsn::Lsn;
use crate::statement::Statements;
use crate::values::{Param, Value};

/// Whose transaction the cursor's portal lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorTransaction {
    /// One begun for the cursor and ended with it (`READ ONLY` on a standby).
    Own { read_only: bool },
    /// The one the connection's client has open: joined, and never ended here.
    Callers,
}

/// What became of a cursor on one connection.
pub struct Served {
    /// What ended it, when something failed.
    pub error: Option<CoreError>,
    /// The first request, still unanswered: the cursor failed before a row was handed out, so
    /// it may be opened elsewhere (or the error given to it).
    pub unanswered: Option<Pending>,
    /// What the connection is fit for now.
    pub conn: ConnState,
}

/// The state a cursor leaves its connection in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Usable: back to the pool (or to its client).
    Fit,
    /// Broken, or its transaction state is unknown: to be closed.
    Broken,
    /// An exchange was cut short (a time limit): cancel it, then close the connection.
    InFlight,
}

impl Served {
    fn answered(error: Option<CoreError>, conn: ConnState) -> Served {
        Served {
            error,
            unanswered: None,
            conn,
        }
    }

    /// Gives a request still unanswered its error, where nothing else may open the cursor.
    /// Returns what ended the cursor, if anything did.
    pub fn settle(self) -> Option<CoreError> {
        if let (Some(first), Some(error)) = (self.unanswered, &self.error) {
            first.fail(error.clone());
        }
        self.error
    }
}

/// The transaction the portal lives in. The caller's is joined through tokio-postgres's own
/// `Transaction` (whose `START TRANSACTION` only warns inside a transaction block) and is never
/// ended here: it is forgotten instead of dropped, since dropping would roll it back.
struct Tx<'c> {
    inner: Option<tokio_postgres::Transaction<'c>>,
    own: bool,
}

impl<'c> Tx<'c> {
    async fn begin(
        conn: &'c mut tokio_postgres::Client,
        transaction: CursorTransaction,
    ) -> Result<Tx<'c>, tokio_postgres::Error> {
        // Only `READ ONLY` is asked for: `READ WRITE` fails on a standby, where a read
        // client's own transaction may run.
        let (inner, own) = match transaction {
            CursorTransaction::Own { read_only: true } => (
                conn.build_transaction().read_only(true).start().await?,
                true,
            ),
            CursorTransaction::Own { read_only: false } => (conn.transaction().await?, true),
            CursorTransaction::Callers => (conn.transaction().await?, false),
        };
        Ok(Tx {
            inner: Some(inner),
            own,
        })
    }

    fn get(&self) -> &tokio_postgres::Transaction<'c> {
        self.inner
            .as_ref()
            .expect("a transaction is only taken when it ends")
    }

    /// Commits or rolls back a transaction of the cursor's own; leaves the caller's open.
    async fn end(mut self, commit: bool) -> Result<(), tokio_postgres::Error> {
        let Some(inner) = self.inner.take() else {
            return Ok(());
        };
        match (self.own, commit) {
            (false, _) => {
                std::mem::forget(inner);
                Ok(())
            }
            (true, true) => inner.commit().await,
            (true, false) => inner.rollback().await,
        }
    }
}

impl Drop for Tx<'_> {
    /// A transaction of the cursor's own rolls back (tokio-postgres sends the ROLLBACK); the
    /// caller's stays as it is.
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            if !self.own {
                std::mem::forget(inner);
            }
        }
    }
}

/// The statement a cursor runs, and where and how.
pub struct CursorPlan<'p, 'a> {
    pub statements: &'p Statements<'a>,
    pub params: &'p [Param],
    pub transaction: CursorTransaction,
    /// Report the WAL position that covers the transaction's commit (a tracked write).
    pub track_lsn: bool,
}

impl Node {
    /// Checks out a connection and serves the cursor on it, as [`Node::run`] runs a text: a
    /// read whose pooled connection turns out broken before a row went out is opened again on
    /// a fresh one, and opening (connecting included, up to the first batch) ends at `limit`
    /// when there is one. The connection goes back to the pool when the cursor ends, unless it
    /// broke.
    pub(crate) async fn open_cursor(
        &self,
        plan: &CursorPlan<'_, '_>,
        mut first: Pending,
        requests: &mut Requests,
        retry: Retry,
        closing: impl Future<Output = ()>,
    ) -> Served {
        let limit = match retry {
            Retry::Read { limit } => limit,
            Retry::Never => None,
        };
        let deadline = limit.map(|l| (Instant::now() + l, l));
        let mut closing = std::pin::pin!(closing);
        let mut retries = 0;
        loop {
            let remaining = deadline.map(|(d, _)| d.saturating_duration_since(Instant::now()));
            let mut conn = match self.connection_within(remaining, None).await {
                Ok(conn) => conn,
                Err(e) => {
                    return Served {
                        error: Some(e),
                        unanswered: Some(first),
                        conn: ConnState::Fit,
                    }
                }
            };
            let reused = Object::metrics(&conn).recycle_count > 0;
            let served = self
                .serve_cursor(&mut conn, plan, first, requests, deadline, closing.as_mut())
                .await;
            match served.conn {
                ConnState::Fit => drop(conn),
                ConnState::Broken => drop(Object::take(conn)),
                ConnState::InFlight => self.abandon(conn),
            }
            match served {
                Served {
                    error: Some(e),
                    unanswered: Some(pending),
                    ..
                } if e.breaks_connection()
                    && retry != Retry::Never
                    && reused
                    && retries < STALE_RETRIES =>
                {
                    retries += 1;
                    first = pending;
                }
                other => return other,
            }
        }
    }

    /// Opens the cursor on `conn` and serves its requests until it ends: prepares the
    /// statement, begins (or joins) the transaction, binds the portal and fetches the first
    /// batch — all by `open_by` (a deadline, and the limit it came from), when given — then
    /// fetches one batch per request. The transaction commits when the rows run out, on
    /// `close`, or when every handle is gone; it rolls back on an error, or when `closing`
    /// completes (the manager closed).
    pub async fn serve_cursor(
        &self,
        conn: &mut Object,
        plan: &CursorPlan<'_, '_>,
        first: Pending,
        requests: &mut Requests,
        open_by: Option<(Instant, Duration)>,
        closing: impl Future<Output = ()>,
    ) -> Served {
        let driver = |e| CoreError::from_driver(e, &self.label);
        let (open_by, limit) = (open_by.map(|(at, _)| at), open_by.map(|(_, limit)| limit));
        let failed = |error: CoreError, first: Pending| Served {
            conn: match error.breaks_connection() {
                true => ConnState::Broken,
                false => ConnState::Fit,
            },
            error: Some(error),
            unanswered: Some(first),
        };
        let timed_out = |first: Pending| Served {
            error: Some(self.timed_out(limit.unwrap_or_default())),
            unanswered: Some(first),
            conn: ConnState::InFlight,
        };

        if let Err(e) = check_input(plan.statements, plan.params) {
            return failed(e, first);
        }
        let sql = plan.statements.sql();
        // Prepared afresh, not from the statement cache: one round trip per cursor, and no
        // stale cached plan to recover from half-way through opening.
        let prepared = bounded(open_by, async {
            let statement = conn.prepare(sql).await.map_err(driver)?;
            self.check_param_count(conn, sql, &statement, plan.params)
                .await?;
            Ok::<_, CoreError>(statement)
        });
        let statement = match prepared.await {
            Some(Ok(statement)) => statement,
            Some(Err(e)) => return failed(e, first),
            None => return timed_out(first),
        };
        let columns = statement.columns();
        let client: &mut tokio_postgres::Client = &mut *conn;
        let tx = match bounded(open_by, Tx::begin(client, plan.transaction)).await {
            Some(Ok(tx)) => tx,
            Some(Err(e)) => return failed(driver(e), first),
            None => return timed_out(first),
        };
        let opened = bounded(open_by, async {
            let portal = tx.get().bind_raw(&statement, plan.params.iter()).await?;
            let batch = fetch(tx.get(), &portal, columns, first.rows).await?;
            Ok::<_, tokio_postgres::Error>((portal, batch))
        })
        .await;
        let (portal, (values, done)) = match opened {
            Some(Ok(opened)) => opened,
            Some(Err(e)) => {
                let e = driver(e);
                let rolled_back = e.breaks_connection() || tx.end(false).await.is_ok();
                let mut served = failed(e, first);
                if !rolled_back {
                    served.conn = ConnState::Broken;
                }
                return served;
            }
            None => {
                drop(tx);
                return timed_out(first);
            }
        };
        let fields = Some(fields(columns));
        if done {
            drop(portal);
            let ended = tx.end(true).await;
            let (answer, conn_state) = self.ended(conn, ended, plan).await;
            first.answer(answer.map(|write_lsn| Batch {
                fields,
                columns: values,
                done,
                write_lsn,
            }));
            return Served::answered(None, conn_state);
        }
        first.answer(Ok(Batch {
            fields,
            columns: values,
            ..Batch::default()
        }));

        let mut closing = std::pin::pin!(closing);
        loop {
            let request = tokio::select! {
                request = requests.recv() => request,
                () = closing.as_mut() => {
                    // The manager closed: the connection closes with its pool, which rolls
                    // the transaction back.
                    drop(portal);
                    drop(tx);
                    return Served::answered(None, ConnState::Broken);
                }
            };
            let (values, reply) = match request {
                Some(Request::Next { rows, reply }) => {
                    match fetch(tx.get(), &portal, columns, rows).await {
                        Ok((values, false)) => {
                            let _ = reply.send(Ok(Batch {
                                columns: values,
                                ..Batch::default()
                            }));
                            continue;
                        }
                        Ok((values, true)) => (values, Some(reply)),
                        Err(e) => {
                            let e = driver(e);
                            drop(portal);
                            let broken = e.breaks_connection() || tx.end(false).await.is_err();
                            let _ = reply.send(Err(e.clone()));
                            let conn_state = match broken {
                                true => ConnState::Broken,
                                false => ConnState::Fit,
                            };
                            return Served::answered(Some(e), conn_state);
                        }
                    }
                }
                Some(Request::Close { reply }) => (Vec::new(), Some(reply)),
                // Every handle is gone (garbage-collected): ended as close() ends it.
                None => (Vec::new(), None),
            };
            drop(portal);
            let ended = tx.end(true).await;
            let (answer, conn_state) = self.ended(conn, ended, plan).await;
            if let Some(reply) = reply {
                let _ = reply.send(answer.map(|write_lsn| Batch {
                    columns: values,
                    done: true,
                    write_lsn,
                    ..Batch::default()
                }));
            }
            return Served::answered(None, conn_state);
        }
    }

    /// Whether `conn`'s session is inside a transaction block. Outside one, every statement
    /// starts a transaction of its own, stamped with the statement's own start; inside, the
    /// statement starts later than its transaction. (A client's own record of it may only
    /// guess, after a transaction statement failed.)
    pub async fn in_transaction_block(&self, conn: &Object) -> Result<bool, CoreError> {
        let messages = conn
            .simple_query("SELECT statement_timestamp() <> transaction_timestamp()")
            .await
            .map_err(|e| CoreError::from_driver(e, &self.label))?;
        Ok(first_row(&messages).first() == Some(&Some("t".to_string())))
    }

    /// After a cursor's transaction ended: the WAL position that covers its commit, for a
    /// tracked write, and what the connection is fit for.
    async fn ended(
        &self,
        conn: &Object,
        ended: Result<(), tokio_postgres::Error>,
        plan: &CursorPlan<'_, '_>,
    ) -> (Result<Option<Lsn>, CoreError>, ConnState) {
        match ended {
            Err(e) => {
                let e = CoreError::from_driver(e, &self.label);
                // A COMMIT that failed leaves the session's state unknown.
                (Err(e), ConnState::Broken)
            }
            // A position that cannot be read leaves the session as it was, as for queries.
            Ok(()) if plan.track_lsn => (Ok(insert_lsn(conn).await.ok().flatten()), ConnState::Fit),
            Ok(()) => (Ok(None), ConnState::Fit),
        }
    }
}

/// Runs `work` until `deadline`, if there is one; `None` when the time ran out first.
async fn bounded<T>(deadline: Option<Instant>, work: impl Future<Output = T>) -> Option<T> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, work).await.ok(),
        None => Some(work.await),
    }
}

/// Fetches up to `rows` rows (at least one: 0 would mean all) from the portal, decoded as a
/// query's are. `true` with them when no rows are left: the statement completed, or gave
/// fewer than asked for (the server stops short only at the end).
async fn fetch(
    tx: &tokio_postgres::Transaction<'_>,
    portal: &Portal,
    columns: &[Column],
    rows: u32,
) -> Result<(Vec<Vec<Value>>, bool), tokio_postgres::Error> {
    let rows = rows.clamp(1, i32::MAX as u32);
    let stream = tx.query_portal_raw(portal, rows as i32).await?;
    let mut stream = std::pin::pin!(stream);
    let capacity = (rows as usize).min(4096);
    let mut values: Vec<Vec<Value>> = (0..columns.len())
        .map(|_| Vec::with_capacity(capacity))
        .collect();
    let mut count = 0u32;
    while let Some(row) = stream.try_next().await? {
        decode_row(columns, &row, &mut values, &[])?;
        count += 1;
    }
    let done = stream.rows_affected().is_some() || count < rows;
    resolve_server_text(tx.client(), &mut values).await;
    Ok((values, done))
}
