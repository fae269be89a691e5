//! One PostgreSQL server: its connection pool, and running a statement on a connection from it.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime, Timeouts};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::NoTls;

use crate::command::{Command, Counts};
use crate::config::{NodeConfig, Options};
use crate::error::CoreError;
use crate::values::{decode, type_size, Param, Raw, Value};

/// Statements cached per connection before the cache is emptied, so that applications that
/// build SQL text with literals cannot grow it without bound.
const STATEMENT_CACHE_LIMIT: usize = 512;

/// A result in the shape node-postgres reports, with values column by column.
#[derive(Debug, Default)]
pub struct QueryOutput {
    pub command: String,
    pub row_count: Option<u64>,
    pub oid: Option<u32>,
    pub fields: Vec<Field>,
    /// `columns[c][r]` is row `r` of column `c`.
    pub columns: Vec<Vec<Value>>,
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
}

impl Node {
    pub fn new(name: String, mut config: NodeConfig, options: &Options) -> Node {
        config.pg.connect_timeout(options.connect_timeout);
        let manager = Manager::from_config(
            config.pg.clone(),
            NoTls,
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
        }
    }

    pub async fn connection(&self) -> Result<Object, CoreError> {
        self.pool.get().await.map_err(|e| {
            let wait = self.pool.timeouts().wait.unwrap_or_default();
            CoreError::from_pool(e, &self.label, wait)
        })
    }

    /// Checks out a connection and runs one statement on it.
    pub async fn run(
        &self,
        sql: &str,
        params: &[Param],
        command: &Command,
    ) -> Result<QueryOutput, CoreError> {
        let conn = self.connection().await?;
        self.run_on(&conn, sql, params, command).await
    }

    /// Runs one statement on `conn`, through its statement cache.
    pub async fn run_on(
        &self,
        conn: &Object,
        sql: &str,
        params: &[Param],
        command: &Command,
    ) -> Result<QueryOutput, CoreError> {
        match execute(conn, sql, params, command).await {
            // The cached statement went stale (the schema changed, or the session ran DISCARD /
            // DEALLOCATE): forget it and prepare again, once.
            Err(e) if is_stale_statement(&e) => {
                conn.statement_cache.clear();
                execute(conn, sql, params, command).await
            }
            other => other,
        }
        .map_err(|e| CoreError::from_driver(e, &self.label))
    }
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
    sql: &str,
    params: &[Param],
    command: &Command,
) -> Result<QueryOutput, tokio_postgres::Error> {
    if conn.statement_cache.size() >= STATEMENT_CACHE_LIMIT {
        conn.statement_cache.clear();
    }
    let statement = conn.prepare_cached(sql).await?;
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
        (conn.execute_raw(&statement, args).await?, Vec::new())
    } else {
        let rows = conn.query(&statement, &args).await?;
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
        (rows.len() as u64, values)
    };

    Ok(QueryOutput {
        command: command.name.clone(),
        row_count: match command.counts {
            Counts::None => None,
            _ => Some(affected),
        },
        oid: (command.counts == Counts::RowsAndOid).then_some(0),
        fields,
        columns: values,
    })
}
