//! One PostgreSQL server: its connection pool, and running a statement on a connection from it.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime, Timeouts};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::command::{self, Command, Counts};
use crate::config::{NodeConfig, Options};
use crate::error::CoreError;
use crate::lexer::{Token, TokenKind};
use crate::metrics::LatencyHistogram;
use crate::values::{decode, type_size, Param, Raw, Value};

/// Statements cached per connection before the cache is emptied, so that applications that
/// build SQL text with literals cannot grow it without bound.
const STATEMENT_CACHE_LIMIT: usize = 512;

/// A result in the shape node-postgres reports, with values column by column.
#[derive(Debug, Default)]
pub struct QueryOutput {
    /// `None` for empty text, as pg reports it.
    pub command: Option<String>,
    pub row_count: Option<u64>,
    pub oid: Option<u32>,
    pub fields: Vec<Field>,
    /// `columns[c][r]` is row `r` of column `c`.
    pub columns: Vec<Vec<Value>>,
}

/// What one text produced: one result, or one per statement for a multi-statement text
/// without parameters (node-postgres returns an array then).
#[derive(Debug)]
pub enum Reply {
    Single(QueryOutput),
    Batch(Vec<QueryOutput>),
}

/// node-postgres's `FieldDef`.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub table_id: u32,
    pub column_id: i16,
    pub type_id: u32,
    pub type_size: i16,
    pub type_modifier: i32,
}

pub struct Node {
    /// `primary`, `replica_0`, …: the key status reports use.
    pub name: String,
    /// Name and address for messages: `replica_0 (10.0.0.2:5432)`. Never a password.
    pub label: String,
    pub config: NodeConfig,
    pub pool: Pool,
    /// Connects the health checker, as the pool connects (TLS when the config asks for it).
    tls: MakeRustlsConnect,
    /// The health checker's own connection, kept apart from the pool so that a busy pool never
    /// fails a check.
    pub checker: tokio::sync::Mutex<Option<tokio_postgres::Client>>,
    /// How long statements routed here took, connecting included.
    pub latency: LatencyHistogram,
    /// The latest WAL position seen replayed here (replicas; from checks and causal reads).
    replayed: std::sync::atomic::AtomicU64,
}

/// How a statement may be retried on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// A write: run once.
    No,
    /// A read: a pooled connection found broken is replaced and the read retried; the whole
    /// read, connecting included, is bounded by the limit when there is one.
    Bounded(Option<Duration>),
}

/// Times a read is retried on fresh connections when the pooled ones turn out to be broken
/// (a restarted server, terminated backends).
const STALE_RETRIES: usize = 3;

impl Node {
    pub fn new(name: String, mut config: NodeConfig, options: &Options) -> Node {
        config.pg.connect_timeout(options.connect_timeout);
        let tls = config
            .tls
            .connector()
            .expect("TLS settings are checked when the config is read");
        let manager = Manager::from_config(
            config.pg.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_max)
            .timeouts(Timeouts {
                wait: Some(options.connect_timeout),
                create: Some(options.connect_timeout),
                recycle: Some(Duration::from_secs(5)),
            })
            .runtime(Runtime::Tokio1)
            .build()
            .expect("a runtime is set, so building the pool cannot fail");
        let label = format!("{name} ({}:{})", config.host, config.port);
        Node {
            name,
            label,
            config,
            pool,
            tls,
            checker: tokio::sync::Mutex::new(None),
            latency: LatencyHistogram::default(),
            replayed: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// A pooled connection, waiting at most `limit` (connecting included).
    pub async fn connection_within(&self, limit: Option<Duration>) -> Result<Object, CoreError> {
        match limit {
            None => self.connection().await,
            Some(limit) => tokio::time::timeout(limit, self.connection())
                .await
                .unwrap_or_else(|_| Err(self.timed_out(limit))),
        }
    }

    pub fn timed_out(&self, limit: Duration) -> CoreError {
        CoreError::Connection {
            code: "ETIMEDOUT",
            node: self.label.clone(),
            message: format!("no answer within {} ms", limit.as_millis()),
        }
    }

    /// Runs `sql` on the checker's own connection (opened on demand), bounded by `limit`, and
    /// returns the first row's values as text with the time the exchange took.
    pub async fn probe(
        &self,
        sql: &str,
        limit: Duration,
    ) -> Result<(Vec<Option<String>>, Duration), CoreError> {
        let started = std::time::Instant::now();
        let attempt = async {
            let mut checker = self.checker.lock().await;
            if checker.as_ref().is_none_or(|c| c.is_closed()) {
                let (client, connection) = self
                    .config
                    .pg
                    .connect(self.tls.clone())
                    .await
                    .map_err(|e| CoreError::from_driver(e, &self.label))?;
                tokio::spawn(connection);
                *checker = Some(client);
            }
            let client = checker.as_ref().expect("connected above");
            let messages = client
                .simple_query(sql)
                .await
                .map_err(|e| CoreError::from_driver(e, &self.label))?;
            let row = messages.iter().find_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => Some(row),
                _ => None,
            });
            let values = row.map_or_else(Vec::new, |row| {
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_string))
                    .collect()
            });
            Ok((values, started.elapsed()))
        };
        match tokio::time::timeout(limit, attempt).await {
            Ok(outcome) => outcome,
            Err(_) => {
                // The connection may be stuck mid-exchange: start afresh next time.
                self.checker.lock().await.take();
                Err(self.timed_out(limit))
            }
        }
    }

    pub async fn connection(&self) -> Result<Object, CoreError> {
        self.pool.get().await.map_err(|e| {
            let wait = self.pool.timeouts().wait.unwrap_or_default();
            CoreError::from_pool(e, &self.label, wait)
        })
    }

    /// Checks out a connection and runs `sql` (already lexed into `tokens`) on it. A connection
    /// that turns out to be broken is closed, never pooled again; a read then retries on a fresh
    /// one, since a read that failed with its connection changed nothing.
    pub async fn run(
        &self,
        sql: &str,
        tokens: &[Token<'_>],
        params: &[Param],
        mode: ReadMode,
    ) -> Result<Reply, CoreError> {
        self.run_tracked(sql, tokens, params, mode, false)
            .await
            .map(|(reply, _)| reply)
    }

    /// As [`Node::run`]; with `track_lsn`, also the server's WAL insert position right after
    /// the statement, which covers its commit (for read-your-writes).
    pub async fn run_tracked(
        &self,
        sql: &str,
        tokens: &[Token<'_>],
        params: &[Param],
        mode: ReadMode,
        track_lsn: bool,
    ) -> Result<(Reply, Option<u64>), CoreError> {
        let limit = match mode {
            ReadMode::Bounded(limit) => limit,
            ReadMode::No => None,
        };
        let started = tokio::time::Instant::now();
        let outcome = self
            .attempt(sql, tokens, params, mode, limit, track_lsn)
            .await;
        self.latency.record(started.elapsed());
        outcome
    }

    /// Reads `sql` here only once this replica has replayed WAL up to `min_lsn`, waiting for
    /// that at most `wait`; `Ok(None)` when it did not catch up in time. The replica's own
    /// replay position is asked on the connection that then runs the read.
    pub async fn run_after_replay(
        &self,
        sql: &str,
        tokens: &[Token<'_>],
        params: &[Param],
        min_lsn: u64,
        wait: Duration,
    ) -> Result<Option<Reply>, CoreError> {
        let started = tokio::time::Instant::now();
        let conn = self
            .connection_within(Some(wait.max(Duration::from_secs(1))))
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
        let reply = self.run_on(&conn, sql, tokens, params, true).await?;
        self.latency.record(started.elapsed());
        Ok(Some(reply))
    }

    /// The latest WAL position this node is known to have replayed (0 when unknown).
    pub fn known_replayed(&self) -> u64 {
        self.replayed.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn note_replayed(&self, lsn: Option<u64>) {
        if let Some(lsn) = lsn {
            self.replayed
                .fetch_max(lsn, std::sync::atomic::Ordering::Relaxed);
        }
    }

    async fn attempt(
        &self,
        sql: &str,
        tokens: &[Token<'_>],
        params: &[Param],
        mode: ReadMode,
        limit: Option<Duration>,
        track_lsn: bool,
    ) -> Result<(Reply, Option<u64>), CoreError> {
        let deadline = limit.map(|l| tokio::time::Instant::now() + l);
        let mut retries = 0;
        loop {
            let remaining =
                deadline.map(|d| d.saturating_duration_since(tokio::time::Instant::now()));
            let conn = self.connection_within(remaining).await?;
            let reused = Object::metrics(&conn).recycle_count > 0;
            let run = self.run_on(&conn, sql, tokens, params, true);
            let outcome = match deadline {
                None => run.await,
                Some(deadline) => match tokio::time::timeout_at(deadline, run).await {
                    Ok(outcome) => outcome,
                    Err(_) => {
                        // Stop the statement if the server still listens, and never pool a
                        // connection with an exchange in flight.
                        let cancel = conn.cancel_token();
                        let tls = self.tls.clone();
                        tokio::spawn(async move {
                            let _ = cancel.cancel_query(tls).await;
                        });
                        drop(Object::take(conn));
                        return Err(self.timed_out(limit.unwrap_or_default()));
                    }
                },
            };
            match outcome {
                Err(e) if e.breaks_connection() => {
                    drop(Object::take(conn));
                    let may_retry = mode != ReadMode::No && reused && retries < STALE_RETRIES;
                    if !may_retry {
                        return Err(e);
                    }
                    retries += 1;
                }
                Err(e) => return Err(e),
                Ok(reply) if track_lsn => {
                    // A position we cannot read leaves the session as it was: reads then go
                    // where the previous position allows, never to a staler replica.
                    let lsn = insert_lsn(&conn).await.ok().flatten();
                    return Ok((reply, lsn));
                }
                Ok(reply) => return Ok((reply, None)),
            }
        }
    }

    /// Runs `sql` on `conn`. Several statements without parameters run one by one, as the
    /// simple query protocol would, inside one transaction when `may_wrap` (the connection is
    /// not in a transaction of its own) and none of them is transaction control.
    pub async fn run_on(
        &self,
        conn: &Object,
        sql: &str,
        tokens: &[Token<'_>],
        params: &[Param],
        may_wrap: bool,
    ) -> Result<Reply, CoreError> {
        let statements: Vec<&[Token<'_>]> = tokens
            .split(|t| t.kind == TokenKind::Semicolon)
            .filter(|s| !s.is_empty())
            .collect();
        if statements.iter().any(|s| is_copy_stream(s)) {
            return Err(CoreError::Argument(
                "COPY … FROM STDIN / TO STDOUT needs a streaming API, which query() is not; \
                 COPY to or from a server file, or INSERT … SELECT, work as usual"
                    .into(),
            ));
        }
        if statements.len() < 2 || !params.is_empty() {
            // One statement (or several with parameters, which the server itself rejects).
            let command = command::derive(tokens);
            if statements.is_empty() {
                return Ok(Reply::Single(QueryOutput::default()));
            }
            return self
                .statement(conn, sql, params, &command)
                .await
                .map(Reply::Single);
        }
        let wrap = may_wrap && !statements.iter().any(|s| is_transaction_control(s));
        if wrap {
            self.simple(conn, "BEGIN").await?;
        }
        let mut outputs = Vec::with_capacity(statements.len());
        for statement in &statements {
            let text = statement_text(sql, statement);
            match self
                .statement(conn, text, &[], &command::derive(statement))
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
    ) -> Result<QueryOutput, CoreError> {
        let driver = |e| CoreError::from_driver(e, &self.label);
        let mut retried = false;
        loop {
            if conn.statement_cache.size() >= STATEMENT_CACHE_LIMIT {
                conn.statement_cache.clear();
            }
            let statement = conn.prepare_cached(sql).await.map_err(driver)?;
            let expected = statement.params().len();
            if expected != params.len() {
                if params.is_empty() {
                    // pg sends text without values through the simple protocol, where the
                    // server itself reports the placeholder ("there is no parameter $1").
                    conn.simple_query(sql).await.map_err(driver)?;
                }
                return Err(CoreError::ParameterCount {
                    expected,
                    got: params.len(),
                });
            }
            match execute(conn, &statement, params, command).await {
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

/// The source text of one statement: from its first token to its last.
fn statement_text<'a>(sql: &'a str, statement: &[Token<'_>]) -> &'a str {
    let offset = |t: &Token<'_>| t.text.as_ptr() as usize - sql.as_ptr() as usize;
    match (statement.first(), statement.last()) {
        (Some(first), Some(last)) => &sql[offset(first)..offset(last) + last.text.len()],
        _ => "",
    }
}

fn is_transaction_control(statement: &[Token<'_>]) -> bool {
    statement.first().is_some_and(|t| {
        [
            "begin",
            "start",
            "commit",
            "end",
            "rollback",
            "abort",
            "savepoint",
            "release",
            "prepare",
        ]
        .iter()
        .any(|w| t.is(w))
    })
}

/// `COPY … FROM STDIN` / `COPY … TO STDOUT`: the protocol's copy mode, which query() cannot
/// drive.
fn is_copy_stream(statement: &[Token<'_>]) -> bool {
    statement.first().is_some_and(|t| t.is("copy"))
        && statement.iter().any(|t| t.is("stdin") || t.is("stdout"))
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
    statement: &tokio_postgres::Statement,
    params: &[Param],
    command: &Command,
) -> Result<QueryOutput, tokio_postgres::Error> {
    let args: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
    let columns = statement.columns();
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| Field {
            name: c.name().to_string(),
            table_id: c.table_oid().unwrap_or(0),
            column_id: c.column_id().unwrap_or(0),
            type_id: c.type_().oid(),
            type_size: type_size(c.type_()),
            type_modifier: c.type_modifier(),
        })
        .collect();

    let (affected, values) = if columns.is_empty() {
        (conn.execute_raw(statement, args).await?, Vec::new())
    } else {
        let rows = conn.query(statement, &args).await?;
        let mut values: Vec<Vec<Value>> = (0..columns.len())
            .map(|_| Vec::with_capacity(rows.len()))
            .collect();
        for row in &rows {
            for (c, column) in columns.iter().enumerate() {
                let raw: Raw<'_> = row.try_get(c)?;
                let value = decode(column.type_(), raw.0).unwrap_or_else(|_| {
                    // A value the decoder cannot read is returned as its bytes, not dropped.
                    Value::Bytes(raw.0.unwrap_or_default().to_vec())
                });
                values[c].push(value);
            }
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

/// A binary value sent back to the server as a parameter of its own type.
#[derive(Debug)]
struct Binary<'a>(&'a [u8]);

impl ToSql for Binary<'_> {
    fn to_sql(&self, _: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        out.extend_from_slice(self.0);
        Ok(IsNull::No)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    fn encode_format(&self, _: &Type) -> tokio_postgres::types::Format {
        tokio_postgres::types::Format::Binary
    }
    to_sql_checked!();
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// Parameters per text-conversion statement, well under the protocol's 65535.
const SERVER_TEXT_CHUNK: usize = 1000;

/// Turns every [`Value::ServerText`] into the server's own text for it: the values go back as
/// binary parameters of their types in `SELECT $1::text, …`, one round trip per 1000 values.
/// Only types without a local text form take this path. Should the server refuse, the value
/// falls back to its bytes read as UTF-8 rather than failing the query that produced it.
async fn resolve_server_text(conn: &Object, columns: &mut [Vec<Value>]) {
    let mut pending: Vec<(Type, Vec<u8>)> = Vec::new();
    for_each_value(columns, &mut |v| {
        if let Value::ServerText(ty, raw) = v {
            pending.push((ty.clone(), std::mem::take(raw)));
        }
    });
    if pending.is_empty() {
        return;
    }
    let mut texts: Vec<String> = Vec::with_capacity(pending.len());
    for chunk in pending.chunks(SERVER_TEXT_CHUNK) {
        let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}::text")).collect();
        let sql = format!("SELECT {}", list.join(", "));
        let values: Vec<Binary<'_>> = chunk.iter().map(|(_, raw)| Binary(raw)).collect();
        let params: Vec<(&(dyn ToSql + Sync), Type)> = values
            .iter()
            .zip(chunk)
            .map(|(v, (ty, _))| (v as &(dyn ToSql + Sync), ty.clone()))
            .collect();
        match conn.query_typed(&sql, &params).await {
            Ok(rows) if rows.len() == 1 => {
                texts.extend((0..chunk.len()).map(|i| rows[0].get::<_, String>(i)))
            }
            _ => texts.extend(
                chunk
                    .iter()
                    .map(|(_, raw)| String::from_utf8_lossy(raw).into_owned()),
            ),
        }
    }
    let mut texts = texts.into_iter();
    for_each_value(columns, &mut |v| {
        if matches!(v, Value::ServerText(..)) {
            *v = Value::Text(texts.next().unwrap_or_default());
        }
    });
}

/// Visits every value, inside arrays too, in a fixed order.
fn for_each_value(columns: &mut [Vec<Value>], f: &mut impl FnMut(&mut Value)) {
    fn visit(v: &mut Value, f: &mut impl FnMut(&mut Value)) {
        match v {
            Value::Array(items) => items.iter_mut().for_each(|i| visit(i, f)),
            other => f(other),
        }
    }
    columns.iter_mut().flatten().for_each(|v| visit(v, f));
}

/// The server's current WAL insert position: at or past the commit of anything it just ran.
pub async fn insert_lsn(conn: &Object) -> Result<Option<u64>, tokio_postgres::Error> {
    first_lsn(conn, "SELECT pg_current_wal_insert_lsn()::text").await
}

/// How far a standby has replayed.
async fn replay_lsn(conn: &Object) -> Result<Option<u64>, tokio_postgres::Error> {
    first_lsn(conn, "SELECT pg_last_wal_replay_lsn()::text").await
}

async fn first_lsn(conn: &Object, sql: &str) -> Result<Option<u64>, tokio_postgres::Error> {
    let messages = conn.simple_query(sql).await?;
    Ok(messages.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).and_then(parse_lsn),
        _ => None,
    }))
}

/// A WAL position as PostgreSQL prints it, `16/B374D848`.
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

/// A WAL position in PostgreSQL's form.
pub fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn as u32)
}
