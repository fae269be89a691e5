//! The node's connection pool: how it is built, and checking out with a bound on the wait.

use std::sync::atomic::Ordering;
use std::time::Duration;

use deadpool::managed::{PoolError, TimeoutType, Timeouts};
use deadpool::Runtime;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::connect::{Connector, Object, Pool};
use super::Node;
use crate::config::{NodeConfig, Options};
use crate::error::CoreError;
use crate::settings::{self, Settings};

/// A pool of `options.max` connections whose waits and connects end at the connect timeout
/// (the connector bounds each connect itself, asking for a password included).
pub(super) fn build(
    config: &NodeConfig,
    tls: MakeRustlsConnect,
    label: &str,
    options: &Options,
) -> Pool {
    let connector = Connector::new(config, tls, label, options.connect_timeout);
    Pool::builder(connector)
        .max_size(options.pool_max)
        .timeouts(Timeouts {
            wait: Some(options.connect_timeout),
            create: None,
            recycle: Some(Duration::from_secs(5)),
        })
        .runtime(Runtime::Tokio1)
        .build()
        .expect("a runtime is set, so building the pool cannot fail")
}

impl Node {
    /// A pooled connection with the session defaults, waiting as long as the pool's own limits
    /// allow. Connections opened before the latest [`Node::drain`] are closed, never handed out.
    pub async fn connection(&self) -> Result<Object, CoreError> {
        self.connection_with(None).await
    }

    /// A pooled connection with a client's `settings` made (the session defaults for `None`).
    pub async fn connection_with(&self, settings: Option<&Settings>) -> Result<Object, CoreError> {
        loop {
            let conn = self.pool.get().await.map_err(|e| {
                let wait = self.pool.timeouts().wait.unwrap_or_default();
                CoreError::from_pool(e, &self.label, wait)
            })?;
            if let Some(conn) = self.ready(conn, settings).await? {
                return Ok(conn);
            }
        }
    }

    /// An idle pooled connection with the session defaults, or a new one while the pool has
    /// room; `None` when every connection is in use and the pool is full.
    pub(super) async fn try_connection(&self) -> Result<Option<Object>, CoreError> {
        let now = Timeouts {
            wait: Some(Duration::ZERO),
            ..self.pool.timeouts()
        };
        loop {
            let conn = match self.pool.timeout_get(&now).await {
                Ok(conn) => conn,
                Err(PoolError::Timeout(TimeoutType::Wait)) => return Ok(None),
                Err(e) => return Err(CoreError::from_pool(e, &self.label, Duration::ZERO)),
            };
            if let Some(conn) = self.ready(conn, None).await? {
                return Ok(Some(conn));
            }
        }
    }

    /// A checked-out connection with `settings` made, or `None` when it is closed instead:
    /// opened before the latest drain, or broken. A setting the server refuses is the caller's
    /// error.
    async fn ready(
        &self,
        conn: Object,
        settings: Option<&Settings>,
    ) -> Result<Option<Object>, CoreError> {
        if self.drained(&conn) {
            drop(Object::take(conn));
            return Ok(None);
        }
        match settings::prepare(&conn, settings).await {
            Ok(()) => Ok(Some(conn)),
            Err(e) if e.as_db_error().is_some() => Err(CoreError::from_driver(e, &self.label)),
            Err(_) => {
                drop(Object::take(conn));
                Ok(None)
            }
        }
    }

    /// Forgets every connection opened until now: the idle ones close at once, the ones in use
    /// when they are next checked out. For a role change, whose connections were opened for the
    /// old role (and, behind a name that moved, maybe to another server); the checker's own
    /// connection is opened afresh too.
    pub fn drain(&self) {
        let now = self.opened.elapsed().as_nanos() as u64;
        self.drained_until.fetch_max(now.max(1), Ordering::Relaxed);
        self.lanes.retire_all();
        self.pool.retain(|_, _| false);
        self.stale_checker.store(true, Ordering::Release);
    }

    fn drained(&self, conn: &Object) -> bool {
        let until = self.drained_until.load(Ordering::Relaxed);
        let created = Object::metrics(conn).created;
        until != 0 && created.saturating_duration_since(self.opened).as_nanos() as u64 <= until
    }

    /// A pooled connection (see [`Node::connection_with`]), waiting at most `limit`
    /// (connecting included).
    pub async fn connection_within(
        &self,
        limit: Option<Duration>,
        settings: Option<&Settings>,
    ) -> Result<Object, CoreError> {
        let conn = self.connection_with(settings);
        match limit {
            None => conn.await,
            Some(limit) => tokio::time::timeout(limit, conn)
                .await
                .unwrap_or_else(|_| Err(self.timed_out(limit))),
        }
    }

    /// The error for an exchange with this node that outlasted `limit`.
    pub fn timed_out(&self, limit: Duration) -> CoreError {
        CoreError::Connection {
            code: "ETIMEDOUT",
            node: self.label.clone(),
            message: format!("no answer within {} ms", limit.as_millis()),
            connecting: false,
        }
    }

    /// Closes connections idle for longer than `idle`, keeping `min` of them.
    pub fn close_idle(&self, min: usize, idle: Duration) {
        let mut kept = 0;
        self.pool.retain(|_, metrics| {
            let keep = kept < min || metrics.last_used() < idle;
            kept += usize::from(keep);
            keep
        });
    }
}
