//! A submitted statement's first step, run on the JS thread when nothing else is in flight.
//!
//! Spawned, a statement costs a wake-up of the tokio worker to start it, and then one to write
//! its request (the connection's task). Run here instead, its first poll checks out a connection,
//! encodes the request, and writes it (`core::node::inline`); the worker wakes only when the
//! answer arrives, and carries on with the statement from there. Only when nothing else is in
//! flight (`RRM_INLINE`: `idle`, the default; `always`; `off`): under load the JS thread is the
//! busier one, and the worker is awake anyway. Wherever the statement runs, a panic in it settles
//! its submission with an error instead of leaving its caller waiting.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use crate::core::node;

type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// When a statement's first step runs on the JS thread.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Off,
    Idle,
    Always,
}

static MODE: LazyLock<Mode> = LazyLock::new(|| match std::env::var("RRM_INLINE").as_deref() {
    Ok("off") => Mode::Off,
    Ok("always") => Mode::Always,
    _ => Mode::Idle,
});

/// Runs `task` (which settles its own submission), its first step here when `idle` allows;
/// `failed` settles the submission instead if the task panics, wherever it runs.
pub fn start(
    task: impl Future<Output = ()> + Send + 'static,
    idle: bool,
    failed: impl FnOnce() + Send + Unpin + 'static,
) {
    // One allocation for the task, whichever way it runs.
    let mut task = Guarded {
        task: Box::pin(task),
        failed: Some(failed),
    };
    let here = match *MODE {
        Mode::Off => false,
        Mode::Idle => idle,
        Mode::Always => true,
    };
    if !here {
        napi::bindgen_prelude::spawn(task);
        return;
    }
    let parked = Arc::new(Parked {
        state: AtomicU8::new(POLLING),
        task: Mutex::new(None),
    });
    let waker = Waker::from(parked.clone());
    let polled = napi::bindgen_prelude::within_runtime_if_available(|| {
        node::inline(|| Pin::new(&mut task).poll(&mut Context::from_waker(&waker)))
    });
    if polled.is_pending() {
        parked.park(task);
    }
}

/// A task that settles through `failed` if it panics, instead of leaving its caller waiting.
struct Guarded<P> {
    task: Task,
    failed: Option<P>,
}

impl<P: FnOnce() + Unpin> Future for Guarded<P> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| this.task.as_mut().poll(cx))) {
            Ok(polled) => polled,
            Err(_) => {
                if let Some(failed) = this.failed.take() {
                    failed();
                }
                Poll::Ready(())
            }
        }
    }
}

const POLLING: u8 = 0;
const WOKEN: u8 = 1;
const PARKED: u8 = 2;
const SPAWNED: u8 = 3;

/// A task polled once here, waiting for its first wake to move to tokio.
struct Parked<P> {
    state: AtomicU8,
    task: Mutex<Option<Guarded<P>>>,
}

impl<P: FnOnce() + Send + Unpin + 'static> Parked<P> {
    fn park(&self, task: Guarded<P>) {
        *self.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        if self
            .state
            .compare_exchange(POLLING, PARKED, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // Woken while it was polled: it goes on at once.
            self.state.store(SPAWNED, Ordering::Release);
            self.spawn();
        }
    }

    fn spawn(&self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            // From a tokio worker (where the answer woke it) this queues locally: no syscall.
            // Its first poll there hands tokio's own waker to whatever it waits on.
            napi::bindgen_prelude::spawn(task);
        }
    }
}

impl<P: FnOnce() + Send + Unpin + 'static> Wake for Parked<P> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let next = match state {
                POLLING => WOKEN,
                PARKED => SPAWNED,
                _ => return,
            };
            match self
                .state
                .compare_exchange(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if next == SPAWNED => return self.spawn(),
                Ok(_) => return,
                Err(now) => state = now,
            }
        }
    }
}
