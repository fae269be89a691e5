//! Running a text on a node: checking out a connection, retrying a read whose pooled connection
//! turned out broken, bounding replica reads, and the statement cache.

use std::time::Duration;

use tokio::time::Instant;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Column, Row, Statement};

use super::lane::{shareable, Held};
use super::probe::{insert_lsn, replay_lsn};
use super::server_text::resolve_server_text;
use super::{Node, Object};
use crate::client_link::ClientLink;
use crate::command::{self, Command, Counts};
use crate::error::CoreError;
use crate::fingerprint::Fingerprint;
use crate::lsn::Lsn;
use crate::result::{Field, Outcome, QueryOutput, Reply};
use crate::settings::Settings;
use crate::statement::Statements;
use crate::values::{decode, decode_text, type_size, Param, Raw, Value};

/// Statements cached per connection before the cache is emptied, so that applications that
/// build SQL text with literals cannot grow it without bound.
const STATEMENT_CACHE_LIMIT: usize = 512;

/// The largest message a server accepts (PQ_LARGE_MESSAGE_LIMIT): above it the backend drops
/// the connection without a word, which would read as the server's fault.
const MAX_MESSAGE_BYTES: usize = 0x3FFF_FFFF;

/// Times a read is retried on fresh connections when the pooled ones turn out to be broken
/// (a restarted server, terminated backends).
pub(super) const STALE_RETRIES: usize = 3;

/// What a client brings to each statement it runs on a pooled connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatementOptions<'a> {
    /// The routing client's settings, made on the connection unless it has them already
    /// (`None`: the session defaults, as for everyone else).
    pub settings: Option<&'a Settings>,
    /// Type OIDs whose values come back as the text pg's text protocol gives (custom parsers).
    pub text_types: &'a [u32],
    /// The routing client whose statement this is: linked to the connection while it runs.
    pub client: Option<&'a ClientLink>,
    /// The statement's fingerprint, when the caller has it already (hashed once per statement).
    pub fingerprint: Option<Fingerprint>,
}

/// What may be done again when a text fails on its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// A write: run once. If its connection broke, whether it ran is unknown.
    Never,
    /// A read: a pooled connection found broken is replaced and the read run again, since a
    /// read that failed with its connection changed nothing. The whole read, connecting
    /// included, ends at `limit` when there is one.
    Read { limit: Option<Duration> },
}

impl Node {
    /// Checks out a connection and runs the text on it. A connection that turns out to be
    /// broken is closed, never pooled again. With `track_lsn`, the outcome also carries the
    /// server's WAL insert position right after the text, which covers its commit.
    pub async fn run(
        &self,
        statements: &Statements<'_>,
        params: &[Param],
        retry: Retry,
        track_lsn: bool,
        options: StatementOptions<'_>,
    ) -> Result<Outcome, CoreError> {
        let started = Instant::now();
        let outcome = self
            .attempt(statements, params, retry, track_lsn, options)
            .await;
        self.latency.record(started.elapsed());
        outcome
    }

    /// Reads here only once this replica has replayed WAL up to `min_lsn`, waiting for that at
    /// most `wait`; `Ok(None)` when it did not catch up in time. The replica's own replay
    /// position is asked on the connection that then runs the read.
    pub async fn run_after_replay(
        &self,
        statements: &Statements<'_>,
        params: &[Param],
        min_lsn: Lsn,
        wait: Duration,
        options: StatementOptions<'_>,
    ) -> Result<Option<Reply>, CoreError> {
        let started = Instant::now();
        let conn = self
            .connection_within(Some(wait.max(Duration::from_secs(1))), options.settings)
            .await?;
        loop {
            let replayed = replay_lsn(&conn)
                .await
                .map_err(|e| CoreError::from_driver(e, &self.label))?;
            self.note_replayed(replayed);
            if replayed.is_some_and(|lsn| lsn >= min_lsn) {
                break;
            }
            if started.elapsed() >= wait {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        self.link(&conn, options.client);
        let reply = self.run_marked(&conn, statements, params, options).await;
        options.client.map(ClientLink::detach);
        self.latency.record(started.elapsed());
        reply.map(Some)
    }

    async fn attempt(
        &self,
        statements: &Statements<'_>,
        params: &[Param],
        retry: Retry,
        track_lsn: bool,
        options: StatementOptions<'_>,
    ) -> Result<Outcome, CoreError> {
        let limit = match retry {
            Retry::Read { limit } => limit,
            Retry::Never => None,
        };
        let deadline = limit.map(|l| Instant::now() + l);
        let shares = self.pipelines()
            && shareable(
                statements,
                options.settings.is_some(),
                options.client.is_some(),
            );
        let mut retries = 0;
        loop {
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let conn = match shares {
                true => {
                    self.shared_connection(statements, options.fingerprint, remaining)
                        .await?
                }
                false => Held::Own(self.connection_within(remaining, options.settings).await?),
            };
            let reused = conn.reused();
            self.link(&conn, options.client);
            let run = self.run_marked(&conn, statements, params, options);
            let finished = match deadline {
                None => Some(run.await),
                Some(deadline) => tokio::time::timeout_at(deadline, run).await.ok(),
            };
            options.client.map(ClientLink::detach);
            let Some(outcome) = finished else {
                conn.abandon(self);
                return Err(self.timed_out(limit.unwrap_or_default()));
            };
            match outcome {
                Err(e) if e.breaks_connection() => {
                    conn.broke();
                    let may_retry = retry != Retry::Never && reused && retries < STALE_RETRIES;
                    if !may_retry {
                        return Err(e);
                    }
                    retries += 1;
                }
                Err(e) => return Err(e),
                Ok(reply) => {
                    // A position we cannot read leaves the session as it was: reads then go
                    // where the previous position allows, never to a staler replica. On a
                    // shared connection it may also cover a neighbour's later write: a reader
                    // then waits a little longer for a replica, never reads a staler one.
                    let write_lsn = match track_lsn {
                        true => insert_lsn(&conn).await.ok().flatten(),
                        false => None,
                    };
                    return Ok(Outcome { reply, write_lsn });
                }
            }
        }
    }

    /// Links a client to `conn`, a connection of this node, while it runs the client's work.
    pub fn link(&self, conn: &Object, client: Option<&ClientLink>) {
        if let Some(client) = client {
            client.attach(conn.cancel_token(), self.tls.clone(), &conn.messages);
        }
    }

    /// Runs the text on `conn` (checked out with the settings it needs); a text that changes
    /// settings itself leaves them unknown, so the connection's next user resets them.
    async fn run_marked(
        &self,
        conn: &Object,
        statements: &Statements<'_>,
        params: &[Param],
        options: StatementOptions<'_>,
    ) -> Result<Reply, CoreError> {
        let outcome = self
            .run_on(conn, statements, params, true, options.text_types)
            .await;
        if statements.changes_settings() {
            conn.session.unknown();
        }
        outcome
    }

    /// Stops the statement running on `conn` if the server still listens, and closes the
    /// connection: one with an exchange in flight is never pooled again.
    pub(crate) fn abandon(&self, conn: Object) {
        let cancel = conn.cancel_token();
        let tls = self.tls.clone();
        tokio::spawn(async move {
            let _ = cancel.cancel_query(tls).await;
        });
        drop(Object::take(conn));
    }

    /// Runs the text on `conn`. Several statements without parameters run one by one, as the
    /// simple query protocol would, inside one transaction when `may_wrap` (the connection is
    /// not in a transaction of its own) and none of them is transaction control.
    pub async fn run_on(
        &self,
        conn: &Object,
        statements: &Statements<'_>,
        params: &[Param],
        may_wrap: bool,
        text_types: &[u32],
    ) -> Result<Reply, CoreError> {
        check_input(statements, params)?;
        if statements.len() < 2 || !params.is_empty() {
            // One statement (or several with parameters, which the server itself rejects).
            let Some(last) = statements.last() else {
                return Ok(Reply::Single(QueryOutput::default()));
            };
            let command = command::derive(last.tokens());
            return self
                .statement(conn, statements.sql(), params, &command, text_types)
                .await
                .map(Reply::Single);
        }
        let wrap = may_wrap && !statements.iter().any(|s| s.is_transaction_control());
        if wrap {
            self.simple(conn, "BEGIN").await?;
        }
        let mut outputs = Vec::with_capacity(statements.len());
        for statement in statements.iter() {
            let command = command::derive(statement.tokens());
            match self
                .statement(conn, statement.text(), &[], &command, text_types)
                .await
            {
                Ok(out) => outputs.push(out),
                Err(e) => {
                    if wrap {
                        let _ = self.simple(conn, "ROLLBACK").await;
                    }
                    return Err(e);
                }
            }
        }
        if wrap {
            self.simple(conn, "COMMIT").await?;
        }
        Ok(Reply::Batch(outputs))
    }

    /// [`Node::run_on`] in the transaction a deferred `BEGIN` opens, sent first in the same
    /// write: one round trip for both. A `BEGIN` that failed (its connection did) is the error.
    pub async fn run_begun(
        &self,
        conn: &Object,
        statements: &Statements<'_>,
        params: &[Param],
        text_types: &[u32],
    ) -> Result<Reply, CoreError> {
        // Polled in order: BEGIN's request is queued before the statement's.
        let (begun, reply) = futures_util::future::join(
            self.begin(conn),
            self.run_on(conn, statements, params, false, text_types),
        )
        .await;
        begun?;
        reply
    }

    /// Opens a transaction block on `conn` (a deferred `BEGIN`, sent now).
    pub async fn begin(&self, conn: &Object) -> Result<(), CoreError> {
        self.simple(conn, "BEGIN").await
    }

    async fn simple(&self, conn: &Object, sql: &str) -> Result<(), CoreError> {
        conn.batch_execute(sql)
            .await
            .map_err(|e| CoreError::from_driver(e, &self.label))
    }

    /// Runs one statement on `conn`, through its statement cache.
    async fn statement(
        &self,
        conn: &Object,
        sql: &str,
        params: &[Param],
        command: &Command,
        text_types: &[u32],
    ) -> Result<QueryOutput, CoreError> {
        let driver = |e| CoreError::from_driver(e, &self.label);
        let mut retried = false;
        loop {
            if conn.statement_cache.size() >= STATEMENT_CACHE_LIMIT {
                conn.statement_cache.clear();
            }
            let statement = conn.prepare_cached(sql).await.map_err(driver)?;
            self.check_param_count(conn, sql, &statement, params)
                .await?;
            match execute(conn, &statement, params, command, text_types).await {
                // The cached statement went stale (the schema changed, or the session ran
                // DISCARD / DEALLOCATE): forget it and prepare again, once.
                Err(e) if !retried && is_stale_statement(&e) => {
                    conn.statement_cache.clear();
                    retried = true;
                }
                other => return other.map_err(driver),
            }
        }
    }
}

impl Node {
    /// Stops a statement whose placeholders do not match the values before it is sent (the
    /// driver would refuse to bind it), with the error the server gives pg.
    pub(super) async fn check_param_count(
        &self,
        conn: &Object,
        sql: &str,
        statement: &Statement,
        params: &[Param],
    ) -> Result<(), CoreError> {
        let expected = statement.params().len();
        if expected == params.len() {
            return Ok(());
        }
        if params.is_empty() {
            // pg sends text without values through the simple protocol, where the server
            // itself reports the placeholder ("there is no parameter $1").
            conn.simple_query(sql)
                .await
                .map_err(|e| CoreError::from_driver(e, &self.label))?;
        }
        Err(CoreError::ParameterCount {
            expected,
            got: params.len(),
        })
    }
}

/// Refuses what no statement call can send: text and values over the server's message limit,
/// and COPY's streaming modes.
pub(super) fn check_input(statements: &Statements<'_>, params: &[Param]) -> Result<(), CoreError> {
    let size = statements.sql().len() + params.iter().map(Param::wire_len).sum::<usize>();
    if size > MAX_MESSAGE_BYTES {
        return Err(CoreError::InvalidInput(format!(
            "the text and values take {size} bytes, over the server's limit of {MAX_MESSAGE_BYTES} bytes per message"
        )));
    }
    if statements.iter().any(|s| s.is_copy_stream()) {
        return Err(CoreError::Unsupported(
            "COPY … FROM STDIN / TO STDOUT needs the protocol's copy mode, which neither \
             query() nor cursor() drives; COPY to or from a server file, or INSERT … SELECT, \
             work as usual"
                .into(),
        ));
    }
    Ok(())
}

/// node-postgres's field descriptions of a statement's columns.
pub(super) fn fields(columns: &[Column]) -> Vec<Field> {
    columns
        .iter()
        .map(|c| Field {
            name: c.name().to_string(),
            table_id: c.table_oid().unwrap_or(0),
            column_id: c.column_id().unwrap_or(0),
            type_id: c.type_().oid(),
            type_size: type_size(c.type_()),
            type_modifier: c.type_modifier(),
        })
        .collect()
}

/// Decodes one row onto the end of `values` (`values[c]` is column `c`); values of the
/// `text_types` OIDs as pg's text (see [`StatementOptions::text_types`]).
pub(super) fn decode_row(
    columns: &[Column],
    row: &Row,
    values: &mut [Vec<Value>],
    text_types: &[u32],
) -> Result<(), tokio_postgres::Error> {
    for (c, column) in columns.iter().enumerate() {
        let raw: Raw<'_> = row.try_get(c)?;
        let decoded = match text_types.contains(&column.type_().oid()) {
            true => decode_text(column.type_(), raw.0),
            false => decode(column.type_(), raw.0),
        };
        let value = decoded.unwrap_or_else(|_| {
            // A value the decoder cannot read is returned as its bytes, not dropped.
            Value::Bytes(raw.0.unwrap_or_default().to_vec())
        });
        values[c].push(value);
    }
    Ok(())
}

fn is_stale_statement(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().is_some_and(|db| {
        (*db.code() == SqlState::FEATURE_NOT_SUPPORTED
            && db
                .message()
                .contains("cached plan must not change result type"))
            || *db.code() == SqlState::INVALID_SQL_STATEMENT_NAME
    })
}

async fn execute(
    conn: &Object,
    statement: &Statement,
    params: &[Param],
    command: &Command,
    text_types: &[u32],
) -> Result<QueryOutput, tokio_postgres::Error> {
    let args: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
    let columns = statement.columns();
    let fields = fields(columns);

    let (affected, values) = if columns.is_empty() {
        (conn.execute_raw(statement, args).await?, Vec::new())
    } else {
        let rows = conn.query(statement, &args).await?;
        let mut values: Vec<Vec<Value>> = (0..columns.len())
            .map(|_| Vec::with_capacity(rows.len()))
            .collect();
        for row in &rows {
            decode_row(columns, row, &mut values, text_types)?;
        }
        resolve_server_text(conn, &mut values).await;
        (rows.len() as u64, values)
    };

    Ok(QueryOutput {
        command: (!command.name.is_empty()).then(|| command.name.clone()),
        row_count: match command.counts {
            Counts::None => None,
            _ => Some(affected),
        },
        oid: (command.counts == Counts::RowsAndOid).then_some(0),
        fields,
        columns: values,
    })
}
