//! The core's one error type, and the one place that tells a server's fault (retry elsewhere,
//! count against its health) from the statement's or the caller's (return as is).

use std::fmt;
use std::io;

use tokio_postgres::error::{DbError, SqlState};

#[derive(Debug, Clone)]
pub enum CoreError {
    /// A config field or option is invalid; the message names it.
    Config(String),
    /// An environment variable is invalid; the message names it, never a secret.
    Env(String),
    /// The statement needs a protocol feature a query call does not drive (COPY streams).
    Unsupported(String),
    /// Transaction control through `manager.query`, whose statements may each use another
    /// connection.
    TransactionControl,
    /// The manager was closed before the call.
    Closed,
    /// The client was released to its pool before the call.
    Released,
    /// The server answered with an error.
    Database(Box<DbError>),
    /// Every connection of the node's pool stayed busy for the whole wait limit. The node is
    /// not at fault, so this neither fails over nor counts against its health.
    PoolExhausted { node: String, waited_ms: u128 },
    /// The statement has parameter placeholders that the values do not match.
    ParameterCount { expected: usize, got: usize },
    /// The text or a value cannot be put into a protocol message (a NUL byte in the text, a
    /// value too large, a value its type cannot encode): nothing was sent, and the fault is the
    /// caller's, never the server's.
    InvalidInput(String),
    /// The driver failed without the connection failing (a value it could not decode, …): not
    /// the node's problem.
    Driver(String),
    /// The connection could not be made or was lost. `node` says where, without secrets.
    Connection {
        code: &'static str,
        node: String,
        message: String,
        /// Failed while connecting: nothing was sent, so nothing ran.
        connecting: bool,
    },
    /// The config's password function failed for a new connection: it threw or rejected,
    /// answered something other than a string, or gave no answer within the connect timeout.
    /// Nothing was sent; it counts like a failure to connect. `message` is the function's own.
    Password { node: String, message: String },
    /// No member was primary for the whole wait (`connectionTimeoutMillis`). `members` says
    /// what each one was at its latest check; `cause` is why the member expected to be primary
    /// failed its latest check, if it did.
    NoPrimary {
        waited_ms: u128,
        members: String,
        cause: Option<Box<CoreError>>,
    },
    /// A write's connection broke after the write was sent: whether it ran is unknown, so it is
    /// not run again.
    OutcomeUnknown { node: String, cause: Box<CoreError> },
}

/// What a server's error says about the server itself, as opposed to the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerFault {
    /// The connection is gone or going: connection exceptions (08…) and shutdowns (57P01–03).
    ConnectionLost,
    /// The server cannot take another connection (53300).
    Full,
    /// A standby cancelled the statement to keep replaying WAL (a recovery conflict).
    RecoveryConflict,
}

/// The one SQLSTATE classification: `None` when the error is about the statement.
fn server_fault(db: &DbError) -> Option<ServerFault> {
    let code = db.code();
    if code.code().starts_with("08")
        || *code == SqlState::ADMIN_SHUTDOWN
        || *code == SqlState::CRASH_SHUTDOWN
        || *code == SqlState::CANNOT_CONNECT_NOW
    {
        Some(ServerFault::ConnectionLost)
    } else if *code == SqlState::TOO_MANY_CONNECTIONS {
        Some(ServerFault::Full)
    } else if (*code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::QUERY_CANCELED)
        && db.message().contains("conflict with recovery")
    {
        Some(ServerFault::RecoveryConflict)
    } else {
        None
    }
}

impl CoreError {
    /// A statement's own code panicked: reported instead of leaving its caller waiting.
    pub fn panicked() -> CoreError {
        CoreError::Driver("internal error: the statement's processing panicked".into())
    }

    /// Whether a read that failed this way should be retried elsewhere and count against the
    /// node's health: the connection failed, the server is shutting down or full, or a replica
    /// cancelled the query on a recovery conflict. SQL errors are the caller's.
    pub fn is_connection_failure(&self) -> bool {
        match self {
            CoreError::Connection { .. } | CoreError::Password { .. } => true,
            CoreError::Database(db) => server_fault(db).is_some(),
            _ => false,
        }
    }

    /// Whether the connection is unusable after this error (as opposed to a recovery conflict,
    /// which cancels the statement but keeps the session).
    pub fn breaks_connection(&self) -> bool {
        match self {
            CoreError::Connection { .. } | CoreError::Password { .. } => true,
            CoreError::Database(db) => server_fault(db) == Some(ServerFault::ConnectionLost),
            _ => false,
        }
    }

    /// The statement certainly did not run: the connection was never made, or the server
    /// refused it as a standby (25006) or because it is shutting down or starting up (57P01–03,
    /// which also abort whatever the statement had begun). Such a write may run elsewhere.
    pub fn refused_before_running(&self) -> bool {
        match self {
            CoreError::Connection { connecting, .. } => *connecting,
            CoreError::Password { .. } => true,
            CoreError::Database(db) => {
                let code = db.code();
                *code == SqlState::READ_ONLY_SQL_TRANSACTION
                    || *code == SqlState::ADMIN_SHUTDOWN
                    || *code == SqlState::CRASH_SHUTDOWN
                    || *code == SqlState::CANNOT_CONNECT_NOW
            }
            _ => false,
        }
    }

    /// A failure to connect that waiting will not mend: a certificate, a password or a role
    /// (SQLSTATE class 28), a database that does not exist, a password function that fails (it
    /// fails at once, as in pg, rather than after the wait). Everything else may pass.
    pub fn is_permanent(&self) -> bool {
        match self {
            CoreError::Connection { code, .. } => TLS_CODES.contains(code),
            CoreError::Password { .. } => true,
            CoreError::Database(db) => {
                db.code().code().starts_with("28") || *db.code() == SqlState::INVALID_CATALOG_NAME
            }
            _ => false,
        }
    }

    /// The same error, known to have happened while connecting.
    pub(crate) fn while_connecting(self) -> CoreError {
        match self {
            CoreError::Connection {
                code,
                node,
                message,
                ..
            } => CoreError::Connection {
                code,
                node,
                message,
                connecting: true,
            },
            other => other,
        }
    }

    /// The server refused the statement as a write in a read-only session (SQLSTATE 25006):
    /// a standby, or a read-only transaction.
    pub fn is_read_only_refusal(&self) -> bool {
        matches!(self, CoreError::Database(db) if *db.code() == SqlState::READ_ONLY_SQL_TRANSACTION)
    }

    /// Wraps a driver error that happened on `node` (a display name such as `replica_0
    /// (127.0.0.1:5433)`).
    pub fn from_driver(err: tokio_postgres::Error, node: &str) -> CoreError {
        if let Some(db) = err.as_db_error() {
            return CoreError::Database(Box::new(db.clone()));
        }
        if is_unsendable(&err) {
            return CoreError::InvalidInput(with_causes(&err));
        }
        if !is_connection_level(&err) {
            return CoreError::Driver(err.to_string());
        }
        CoreError::Connection {
            code: connection_code(&err),
            node: node.to_string(),
            message: with_causes(&err),
            connecting: false,
        }
    }

    /// Wraps a pool error; `wait` is the pool's wait limit, for the message.
    pub fn from_pool(
        err: deadpool::managed::PoolError<CoreError>,
        node: &str,
        wait: std::time::Duration,
    ) -> CoreError {
        use deadpool::managed::{PoolError, TimeoutType};
        match err {
            // Opening a connection failed (named, and marked as connecting, where it failed).
            PoolError::Backend(e) => e,
            PoolError::Timeout(TimeoutType::Wait) => CoreError::PoolExhausted {
                node: node.to_string(),
                waited_ms: wait.as_millis(),
            },
            PoolError::Timeout(_) => CoreError::Connection {
                code: "ETIMEDOUT",
                node: node.to_string(),
                message: "timed out connecting".into(),
                connecting: true,
            },
            PoolError::Closed => CoreError::Closed,
            other => CoreError::Connection {
                code: "ECONNREFUSED",
                node: node.to_string(),
                message: other.to_string(),
                connecting: true,
            },
        }
    }
}

/// Whether the driver refused to build a message from the caller's text or values (tokio-postgres
/// reports no kind, only its text): encoding the message, serializing a parameter, or a
/// parameter count that does not match. These fail before anything is written to the socket.
fn is_unsendable(err: &tokio_postgres::Error) -> bool {
    let text = err.to_string();
    text.starts_with("error encoding message")
        || text.starts_with("error serializing parameter")
        || (text.starts_with("expected ") && text.contains(" parameters but got "))
}

/// Whether a driver error (not from the server) is about the connection: I/O, a closed
/// connection, a timeout, or a broken exchange. Encoding and decoding errors are not.
fn is_connection_level(err: &tokio_postgres::Error) -> bool {
    if err.is_closed() {
        return true;
    }
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        if e.downcast_ref::<io::Error>().is_some() {
            return true;
        }
        source = e.source();
    }
    let text = err.to_string();
    !(text.starts_with("error deserializing") || text.starts_with("invalid message length"))
}

/// The error and its causes, `a: b: c`, so that "error performing TLS handshake" says why.
fn with_causes(err: &tokio_postgres::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        let cause = e.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = e.source();
    }
    text
}

/// Node's codes for the TLS failures rustls reports: settings to fix, not outages.
const TLS_CODES: [&str; 4] = [
    "ERR_TLS_CERT_ALTNAME_INVALID",
    "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    "CERT_HAS_EXPIRED",
    "ERR_SSL_HANDSHAKE_FAILURE",
];

/// Node's code for a certificate problem its TLS reports (one of [`TLS_CODES`]).
fn tls_code(err: &rustls::Error) -> &'static str {
    use rustls::CertificateError;
    let [altname, unknown_issuer, expired, handshake] = TLS_CODES;
    match err {
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => altname,
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => unknown_issuer,
        rustls::Error::InvalidCertificate(CertificateError::Expired) => expired,
        _ => handshake,
    }
}

/// A node-style error code (as `net` reports them) for a driver error without a server error.
fn connection_code(err: &tokio_postgres::Error) -> &'static str {
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return tls_code(tls);
        }
        if let Some(tls) = e
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return tls_code(tls);
        }
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return match io.kind() {
                io::ErrorKind::ConnectionRefused => "ECONNREFUSED",
                io::ErrorKind::TimedOut => "ETIMEDOUT",
                io::ErrorKind::HostUnreachable => "EHOSTUNREACH",
                io::ErrorKind::NetworkUnreachable => "ENETUNREACH",
                io::ErrorKind::AddrNotAvailable => "EADDRNOTAVAIL",
                io::ErrorKind::BrokenPipe => "EPIPE",
                io::ErrorKind::ConnectionAborted => "ECONNABORTED",
                io::ErrorKind::NotFound => "ENOTFOUND",
                _ if io.to_string().contains("lookup address") => "ENOTFOUND",
                _ => "ECONNRESET",
            };
        }
        source = e.source();
    }
    if err.to_string().contains("timeout") {
        "ETIMEDOUT"
    } else {
        // Closed connections and protocol failures: the socket is gone either way.
        "ECONNRESET"
    }
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreError::Config(m) | CoreError::Env(m) | CoreError::Unsupported(m) => f.write_str(m),
            CoreError::TransactionControl => f.write_str(
                "Transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, …) cannot run through \
                 manager.query(): consecutive queries may use different connections. Run the \
                 transaction on a dedicated client: const client = await \
                 manager.getClient('write'); await client.query('BEGIN'); … await \
                 client.query('COMMIT'); client.release()",
            ),
            CoreError::Closed => f.write_str("Read replica manager is closed"),
            CoreError::Released => f.write_str("Client has already been released to the pool"),
            CoreError::Database(db) => f.write_str(db.message()),
            CoreError::ParameterCount { expected, got } => write!(
                f,
                "bind message supplies {got} parameters, but prepared statement \"\" requires {expected}"
            ),
            CoreError::InvalidInput(m) => write!(
                f,
                "the statement cannot be sent ({m}): its text or values hold what the PostgreSQL \
                 protocol cannot carry (a NUL byte, a value too large for its type), so nothing \
                 was sent"
            ),
            CoreError::Driver(m) => f.write_str(m),
            CoreError::PoolExhausted { node, waited_ms } => write!(
                f,
                "timeout exceeded when trying to connect: every connection to {node} stayed busy \
                 for {waited_ms} ms (raise options.max or connectionTimeoutMillis)"
            ),
            CoreError::Connection {
                code,
                node,
                message,
                ..
            } => write!(f, "{code}: connection to {node} failed: {message}"),
            CoreError::Password { node, message } => {
                write!(f, "password function for {node} failed: {message}")
            }
            CoreError::NoPrimary {
                waited_ms,
                members,
                cause,
            } => {
                write!(
                    f,
                    "no member was primary for {waited_ms} ms (connectionTimeoutMillis), so the \
                     statement did not run: {members}"
                )?;
                match cause {
                    Some(cause) => write!(f, " ({cause})"),
                    None => Ok(()),
                }
            }
            CoreError::OutcomeUnknown { node, cause } => write!(
                f,
                "the connection to {node} broke after the write was sent, so whether it ran is \
                 unknown; it was not run again ({cause})"
            ),
        }
    }
}

impl std::error::Error for CoreError {}
