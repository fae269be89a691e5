//! Opening a connection to a node. The pool and the health checker open theirs through the same
//! [`Connector`], which asks the node's password function, when it has one, before each new
//! connection, and bounds the whole of it by the connect timeout.

use std::borrow::Cow;
use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use deadpool_postgres::ClientWrapper;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::driver;
use crate::client_link::MessageSink;
use crate::config::{NodeConfig, PasswordProvider, PasswordRequest, PasswordSource};
use crate::error::CoreError;
use crate::settings::SessionMark;

/// A node's connection pool.
pub type Pool = managed::Pool<Connector>;
/// A connection checked out of a node's pool.
pub type Object = managed::Object<Connector>;

/// How to open a connection to one node; the pool's manager.
pub struct Connector {
    pg: tokio_postgres::Config,
    password: PasswordSource,
    /// What the password function is told; made once.
    request: PasswordRequest,
    tls: MakeRustlsConnect,
    /// The node, for errors: `replica_0 (10.0.0.2:5432)`.
    label: String,
    /// Bounds asking for the password and connecting, together, for the pool.
    timeout: Duration,
}

impl Connector {
    pub fn new(
        config: &NodeConfig,
        tls: MakeRustlsConnect,
        label: &str,
        timeout: Duration,
    ) -> Connector {
        Connector {
            pg: config.pg.clone(),
            password: config.password.clone(),
            request: PasswordRequest {
                host: config.host.clone(),
                port: config.port,
                database: config.database.clone(),
                user: config.pg.get_user().unwrap_or_default().to_string(),
            },
            tls,
            label: label.to_string(),
            timeout,
        }
    }

    /// Opens a connection by `deadline` and drives it on a task of its own (which ends when the
    /// client is dropped). A fixed password costs nothing here; a function is asked first, by
    /// the same deadline. `limit` is what the deadline was set from, for messages.
    pub async fn open(
        &self,
        deadline: Instant,
        limit: Duration,
    ) -> Result<(tokio_postgres::Client, JoinHandle<()>, MessageSink), CoreError> {
        let config = match &self.password {
            PasswordSource::Fixed => Cow::Borrowed(&self.pg),
            PasswordSource::Function(ask) => {
                Cow::Owned(self.with_password(ask, deadline, limit).await?)
            }
        };
        let (client, connection) =
            match tokio::time::timeout_at(deadline, config.connect(self.tls.clone())).await {
                Ok(connected) => connected
                    .map_err(|e| CoreError::from_driver(e, &self.label).while_connecting())?,
                Err(_) => {
                    return Err(CoreError::Connection {
                        code: "ETIMEDOUT",
                        node: self.label.clone(),
                        message: "timed out connecting".into(),
                        connecting: true,
                    })
                }
            };
        let sink = MessageSink::default();
        // Driven message by message, so notices and notifications reach the client linked to
        // the connection (if any) instead of being dropped.
        let task = driver::drive(connection, sink.clone());
        Ok((client, task, sink))
    }

    /// The config with the password the function gives now (none when it gives `undefined`).
    async fn with_password(
        &self,
        ask: &PasswordProvider,
        deadline: Instant,
        limit: Duration,
    ) -> Result<tokio_postgres::Config, CoreError> {
        let failed = |message: String| CoreError::Password {
            node: self.label.clone(),
            message,
        };
        let answer = tokio::time::timeout_at(deadline, ask(self.request.clone()))
            .await
            .map_err(|_| failed(format!("no answer within {} ms", limit.as_millis())))?
            .map_err(failed)?;
        let mut config = self.pg.clone();
        if let Some(password) = answer {
            config.password(password);
        }
        Ok(config)
    }
}

/// A pooled connection: the driver's client (with its statement cache), where the server's
/// notices and notifications on it go, and which session settings it has.
pub struct Connection {
    client: ClientWrapper,
    pub messages: MessageSink,
    pub session: SessionMark,
}

impl std::ops::Deref for Connection {
    type Target = ClientWrapper;
    fn deref(&self) -> &ClientWrapper {
        &self.client
    }
}

impl std::ops::DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut ClientWrapper {
        &mut self.client
    }
}

impl managed::Manager for Connector {
    type Type = Connection;
    type Error = CoreError;

    async fn create(&self) -> Result<Connection, CoreError> {
        let deadline = Instant::now() + self.timeout;
        // Boxed: connecting (TLS, the password function) is a large future, and every checkout's
        // future would carry it inline though few checkouts connect.
        let (client, task, messages) = Box::pin(self.open(deadline, self.timeout)).await?;
        Ok(Connection {
            client: ClientWrapper::new(client, task),
            messages,
            session: SessionMark::default(),
        })
    }

    /// A pooled connection is handed out again unless it is closed (deadpool-postgres's `Fast`
    /// recycling); a broken one shows itself at its next statement and is replaced then.
    async fn recycle(&self, client: &mut Connection, _: &Metrics) -> RecycleResult<CoreError> {
        if client.is_closed() {
            Err(RecycleError::message("Connection closed"))
        } else {
            Ok(())
        }
    }
}
