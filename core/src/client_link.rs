//! What ties a client to the connection that runs its statement now, wherever that is: the key to
//! cancel it there, and where the server's notices and notifications on it go. Lent to a pooled
//! connection for one statement (or held with it), and taken back before the connection returns
//! to its pool, so that nothing of one client reaches another.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio_postgres::error::DbError;
use tokio_postgres::{AsyncMessage, CancelToken};
use tokio_postgres_rustls::MakeRustlsConnect;

/// What the server says on a connection outside any statement's result.
#[derive(Debug)]
pub enum ServerMessage {
    /// `NOTICE`, `WARNING`, … (RAISE NOTICE, "there is no transaction in progress").
    Notice(Box<DbError>),
    /// A `NOTIFY` on a channel the connection listens to.
    Notification {
        process_id: i32,
        channel: String,
        payload: String,
    },
}

impl ServerMessage {
    pub fn from_driver(message: AsyncMessage) -> Option<ServerMessage> {
        match message {
            AsyncMessage::Notice(notice) => Some(ServerMessage::Notice(Box::new(notice))),
            AsyncMessage::Notification(n) => Some(ServerMessage::Notification {
                process_id: n.process_id(),
                channel: n.channel().to_string(),
                payload: n.payload().to_string(),
            }),
            _ => None,
        }
    }
}

/// Where a client takes the server's messages.
pub type OnMessage = Arc<dyn Fn(ServerMessage) + Send + Sync>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing is left half written by a panic elsewhere: each value is replaced whole.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A connection's end of the link: where its messages go now (nowhere while pooled).
#[derive(Clone, Default)]
pub struct MessageSink(Arc<Mutex<Option<OnMessage>>>);

impl MessageSink {
    pub fn deliver(&self, message: AsyncMessage) {
        let Some(to) = lock(&self.0).clone() else {
            return;
        };
        if let Some(message) = ServerMessage::from_driver(message) {
            to(message);
        }
    }

    fn set(&self, to: Option<OnMessage>) {
        *lock(&self.0) = to;
    }
}

/// A client's end of the link.
#[derive(Clone, Default)]
pub struct ClientLink {
    cancel: Arc<Mutex<Option<(CancelToken, MakeRustlsConnect)>>>,
    on_message: Option<OnMessage>,
    /// The sink of the connection lent now, to take back.
    lent: Arc<Mutex<Option<MessageSink>>>,
}

impl std::fmt::Debug for ClientLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientLink")
    }
}

impl ClientLink {
    pub fn new(on_message: Option<OnMessage>) -> ClientLink {
        ClientLink {
            on_message,
            ..ClientLink::default()
        }
    }

    /// Links the client to a connection: its cancel key and its messages.
    pub fn attach(&self, token: CancelToken, tls: MakeRustlsConnect, sink: &MessageSink) {
        *lock(&self.cancel) = Some((token, tls));
        if self.on_message.is_some() {
            sink.set(self.on_message.clone());
            *lock(&self.lent) = Some(sink.clone());
        }
    }

    /// Unlinks it, before the connection goes back to its pool.
    pub fn detach(&self) {
        *lock(&self.cancel) = None;
        if let Some(sink) = lock(&self.lent).take() {
            sink.set(None);
        }
    }

    /// Asks the server to cancel what the client runs now; false when it runs nothing, or the
    /// server could not be asked.
    pub async fn cancel(&self) -> bool {
        let Some((token, tls)) = lock(&self.cancel).clone() else {
            return false;
        };
        token.cancel_query(tls).await.is_ok()
    }
}
