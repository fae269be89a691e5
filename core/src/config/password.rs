//! Where a node's password comes from: fixed in its config, or a function asked before each new
//! connection (node-postgres's `password: async () => token`, for rotating IAM tokens).
//!
//! The function is whatever the binding makes of the JS one; the core only awaits it, so this
//! crate stays free of Node-API.

use std::fmt;
use std::sync::Arc;

use futures_util::future::BoxFuture;

/// What a password function is told about the connection it is asked for (pg passes its
/// connection parameters; these are the ones a token signer needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordRequest {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
}

/// Answers a [`PasswordRequest`]: the password, `None` to connect without one (pg's `undefined`),
/// or why it could not (a message that names no secret, shown after the member's name).
pub type PasswordProvider = Arc<
    dyn Fn(PasswordRequest) -> BoxFuture<'static, Result<Option<String>, String>> + Send + Sync,
>;

/// A node's password.
#[derive(Clone, Default)]
pub enum PasswordSource {
    /// The one in the node's `tokio_postgres::Config`, if any: a string, the connection
    /// string's, or `PGPASSWORD`. Connecting costs nothing extra.
    #[default]
    Fixed,
    /// Asked of the function before each new connection, within the connect timeout.
    Function(PasswordProvider),
}

impl fmt::Debug for PasswordSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordSource::Fixed => f.write_str("Fixed"),
            PasswordSource::Function(_) => f.write_str("Function"),
        }
    }
}
