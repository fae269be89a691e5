//! Cursors: one statement's rows handed out a batch at a time, so that a large result is never
//! held whole.
//!
//! A task owns the connection, the transaction and the portal; a [`Cursor`] handle asks it for
//! batches through a channel, one request at a time, so nothing is read from the server before
//! someone asks and at most one batch is held on this side. The task ends — its transaction
//! ended, its connection back in the pool — when the rows run out, on `close`, on an error, when
//! the manager closes, or when every handle is dropped (the JS object was garbage-collected).
//!
//! Here: the handle, the requests and the batches. [`crate::cluster`] routes a cursor and may
//! open it elsewhere when its first member fails (`cluster/cursor.rs`); [`crate::node`] opens
//! it on one connection and serves it (`node/portal.rs`).

use tokio::sync::{mpsc, oneshot};

use crate::error::CoreError;
use crate::lsn::Lsn;
use crate::result::Field;
use crate::values::Value;

/// One answer to a request.
#[derive(Debug, Default)]
pub struct Batch {
    /// The statement's fields: with the first batch only.
    pub fields: Option<Vec<Field>>,
    /// `columns[c][r]` is row `r` of column `c`, as in [`crate::result::QueryOutput`].
    pub columns: Vec<Vec<Value>>,
    /// No rows are left (or the cursor was closed): its transaction has ended.
    pub done: bool,
    /// For a tracked write, the WAL position that covers it, once its transaction committed.
    pub write_lsn: Option<Lsn>,
}

impl Batch {
    /// The answer to `close`, or to a request after the last row.
    pub(crate) fn end(write_lsn: Option<Lsn>) -> Batch {
        Batch {
            done: true,
            write_lsn,
            ..Batch::default()
        }
    }
}

type Reply = oneshot::Sender<Result<Batch, CoreError>>;

/// What a handle asks of the task serving the cursor.
pub(crate) enum Request {
    /// Up to `rows` more rows.
    Next { rows: u32, reply: Reply },
    /// End the cursor: its transaction commits.
    Close { reply: Reply },
}

/// The handle on a cursor's task. Clones ask the same task; when the last one is dropped the
/// task ends the cursor as `close` would.
#[derive(Clone)]
pub struct Cursor {
    requests: mpsc::Sender<Request>,
}

/// The task's end of the channel.
pub struct Requests {
    rx: mpsc::Receiver<Request>,
}

/// A new cursor's handle and the requests its task is to serve.
pub fn channel() -> (Cursor, Requests) {
    // Requests come one at a time (the facade queues them); room for a close behind a read.
    let (requests, rx) = mpsc::channel(2);
    (Cursor { requests }, Requests { rx })
}

impl Cursor {
    /// Up to `rows` more rows (at least one is asked for: the protocol reads 0 as "all").
    pub async fn next(&self, rows: u32) -> Result<Batch, CoreError> {
        self.ask(|reply| Request::Next { rows, reply }).await
    }

    /// Ends the cursor; its transaction commits. Closing an ended cursor does nothing.
    pub async fn close(&self) -> Result<Batch, CoreError> {
        match self.ask(|reply| Request::Close { reply }).await {
            Err(CoreError::Closed) => Ok(Batch::end(None)),
            other => other,
        }
    }

    async fn ask(&self, request: impl FnOnce(Reply) -> Request) -> Result<Batch, CoreError> {
        let (reply, answer) = oneshot::channel();
        // The task is gone only once the cursor ended; the facade asks no more then, except
        // when the manager closed under an idle cursor.
        if self.requests.send(request(reply)).await.is_err() {
            return Err(CoreError::Closed);
        }
        answer.await.unwrap_or(Err(CoreError::Closed))
    }
}

/// The first request for rows, not yet answered: whoever opens the cursor answers it with the
/// first batch, or passes it on to another member when opening failed before a row went out.
pub struct Pending {
    pub(crate) rows: u32,
    reply: Reply,
}

impl Pending {
    pub(crate) fn answer(self, batch: Result<Batch, CoreError>) {
        let _ = self.reply.send(batch);
    }

    /// Answers with `error`: the cursor could not be opened.
    pub fn fail(self, error: CoreError) {
        self.answer(Err(error));
    }
}

impl Requests {
    /// Waits for the first request for rows: nothing is opened before. `None` when the cursor
    /// was closed (or every handle dropped) first: there is nothing to do.
    pub async fn opened(&mut self) -> Option<Pending> {
        match self.rx.recv().await? {
            Request::Next { rows, reply } => Some(Pending { rows, reply }),
            Request::Close { reply } => {
                let _ = reply.send(Ok(Batch::end(None)));
                None
            }
        }
    }

    /// The next request; `None` once every handle is gone.
    pub(crate) async fn recv(&mut self) -> Option<Request> {
        self.rx.recv().await
    }
}
