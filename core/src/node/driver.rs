//! Driving a connection: its own task reads and writes the socket, and the thread that queued a
//! request may write it at once instead of waking that task.
//!
//! A tokio-postgres `Connection` only moves when polled. Polled by its task alone, every
//! statement submitted from the JS thread costs a wake-up of a tokio worker just to write the
//! request. Inside [`inline`] (the JS thread polling a statement's first step), a connection
//! woken because a request was queued is noted instead, and polled right after on the calling
//! thread: the request is written there, the read interest registered with the runtime's
//! reactor, and the worker wakes only when the answer arrives. Either side polls under a lock;
//! the side that finds it taken leaves the work to its holder's next round (the task is woken).

use std::cell::{Cell, RefCell};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Error};

use crate::client_link::MessageSink;

/// What the driver needs of a connection, whatever its socket and TLS stream types.
trait Messages: Send {
    fn poll_message(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<AsyncMessage, Error>>>;
}

impl<S, T> Messages for tokio_postgres::Connection<S, T>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    T: AsyncRead + AsyncWrite + Unpin + Send,
{
    fn poll_message(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<AsyncMessage, Error>>> {
        tokio_postgres::Connection::poll_message(self, cx)
    }
}

/// One connection and who moves it.
struct Driver {
    /// `None` once the connection ended (closed, failed, or its client dropped).
    connection: Mutex<Option<Box<dyn Messages>>>,
    /// The task's own waker: the connection's wakes end up here outside [`inline`].
    task: AtomicWaker,
    /// Where the server's notices and notifications go.
    messages: MessageSink,
}

thread_local! {
    /// Set while [`inline`] polls: wakes of connections are noted, not sent to their tasks.
    static INLINE: Cell<bool> = const { Cell::new(false) };
    /// The connections woken during [`inline`], to poll on this thread right after.
    static WOKEN: RefCell<Vec<Arc<Driver>>> = const { RefCell::new(Vec::new()) };
}

impl Wake for Driver {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if INLINE.with(Cell::get) {
            WOKEN.with(|w| w.borrow_mut().push(self.clone()));
        } else {
            self.task.wake();
        }
    }
}

impl Driver {
    /// Moves the connection as far as it goes now: requests written, answers handed to their
    /// statements, notices delivered. `Ready` once the connection has ended.
    fn poll(self: &Arc<Self>, connection: &mut Option<Box<dyn Messages>>) -> Poll<()> {
        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        loop {
            let Some(conn) = connection.as_mut() else {
                return Poll::Ready(());
            };
            match conn.poll_message(&mut cx) {
                Poll::Ready(Some(Ok(message))) => self.messages.deliver(message),
                // Ended: dropping it closes the socket, and the client sees it closed.
                Poll::Ready(Some(Err(_)) | None) => *connection = None,
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// On the thread that queued a request: moves the connection unless the task is at it
    /// (then the task, woken, goes round once more and sees the request).
    fn help(self: &Arc<Self>) {
        let Ok(mut connection) = self.connection.try_lock() else {
            self.task.wake();
            return;
        };
        if self.poll(&mut connection).is_ready() {
            drop(connection);
            // The task learns it is done.
            self.task.wake();
        }
    }
}

/// Starts driving `connection` on a task of its own (which ends when the connection does).
pub(super) fn drive<S, T>(
    connection: tokio_postgres::Connection<S, T>,
    messages: MessageSink,
) -> JoinHandle<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let driver = Arc::new(Driver {
        connection: Mutex::new(Some(Box::new(connection))),
        task: AtomicWaker::new(),
        messages,
    });
    tokio::spawn(Task(driver))
}

/// The task that drives a connection when no one else does.
struct Task(Arc<Driver>);

impl std::future::Future for Task {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.task.register(cx.waker());
        let mut connection = self.0.connection.lock().unwrap_or_else(|e| e.into_inner());
        self.0.poll(&mut connection)
    }
}

impl Drop for Task {
    /// Aborted (its client dropped by the pool): the connection closes now. Left to the driver,
    /// it would live on, held by the wakers its own socket keeps.
    fn drop(&mut self) {
        self.0
            .connection
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }
}

/// Runs `f` (a first poll of a statement, on a thread that is not a tokio worker) so that the
/// requests it queues are written by this thread, right after, instead of waking a worker.
pub fn inline<R>(f: impl FnOnce() -> R) -> R {
    /// Also when `f` panics: a noted connection must still be moved, or its request waits.
    struct Help;
    impl Drop for Help {
        fn drop(&mut self) {
            INLINE.with(|i| i.set(false));
            let woken = WOKEN.with(|w| std::mem::take(&mut *w.borrow_mut()));
            for driver in woken {
                driver.help();
            }
        }
    }
    INLINE.with(|i| i.set(true));
    let _help = Help;
    f()
}
