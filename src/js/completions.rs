//! The road from tokio back to JS: one thread-safe function per manager, many results per trip.
//! Queries, client checkouts and events all travel it.
//!
//! A napi `async fn` makes a thread-safe function (a libuv handle) for every call and wakes the
//! JS thread once per result. Here a query is submitted with an id; finished results queue up,
//! and the first to arrive schedules one call into JS that settles every result then queued.
//! Under load that is one wake-up for many queries; the handle is kept referenced only while
//! queries are in flight, so it never keeps Node alive by itself. What travels is any value
//! that converts to JS: this module knows nothing of results, clients or events.

use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use napi::bindgen_prelude::ToNapiValue;
use napi::{check_status, sys, Result};

use super::raw::RawEnv;

/// The id events travel under; submissions never use it.
pub const EVENT_ID: u32 = 0;

/// A finished piece of work, converted to JS on the JS thread.
type Delivery = Box<dyn FnOnce(sys::napi_env) -> Result<sys::napi_value> + Send>;

/// The raw handle; Node-API allows calling a thread-safe function from any thread.
struct Handle(sys::napi_threadsafe_function);
unsafe impl Send for Handle {}
unsafe impl Sync for Handle {}

pub struct Completions {
    /// Set right after creation; null once Node has finalized the handle (the environment is
    /// gone), so that late results from tokio never call into a freed handle.
    tsfn: RwLock<Handle>,
    /// Finished work: its id, whether it settles a submission (else it is news), and its value.
    done: Mutex<Vec<(u32, bool, Delivery)>>,
    /// A call into JS is pending, so new results need not schedule another.
    scheduled: AtomicBool,
    /// Submitted and not yet settled; changed on the JS thread only.
    in_flight: AtomicUsize,
}

impl Completions {
    /// Wraps `handler`, a JS function called with a flat `[id, value, id, value, …]` array.
    pub fn new(env: sys::napi_env, handler: sys::napi_value) -> Result<Arc<Completions>> {
        let mut name = ptr::null_mut();
        let label = "read-replica-manager completions";
        check_status!(unsafe {
            sys::napi_create_string_utf8(
                env,
                label.as_ptr().cast(),
                label.len() as isize,
                &mut name,
            )
        })?;
        let mut tsfn = ptr::null_mut();
        // The context is a strong reference of its own, released by the finalizer.
        let shared = Arc::new(Completions {
            tsfn: RwLock::new(Handle(ptr::null_mut())),
            done: Mutex::new(Vec::new()),
            scheduled: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
        });
        let context = Arc::into_raw(shared.clone()) as *mut c_void;
        check_status!(unsafe {
            sys::napi_create_threadsafe_function(
                env,
                handler,
                ptr::null_mut(),
                name,
                0,
                1,
                context,
                Some(finalize),
                context,
                Some(deliver),
                &mut tsfn,
            )
        })?;
        check_status!(unsafe { sys::napi_unref_threadsafe_function(env, tsfn) })?;
        *shared.tsfn.write().unwrap_or_else(|e| e.into_inner()) = Handle(tsfn);
        Ok(shared)
    }

    /// The handle, null once finalized. Only for the JS thread, where finalization cannot
    /// race; other threads go through `finish`, which holds the lock across the call.
    fn handle(&self) -> sys::napi_threadsafe_function {
        self.tsfn.read().unwrap_or_else(|e| e.into_inner()).0
    }

    /// Called on the JS thread when a query is submitted: keeps Node alive while it runs.
    /// Whether nothing else was in flight.
    pub fn begin(&self, env: sys::napi_env) -> bool {
        let idle = self.in_flight.fetch_add(1, Ordering::Relaxed) == 0;
        if idle {
            unsafe { sys::napi_ref_threadsafe_function(env, self.handle()) };
        }
        idle
    }

    /// Called on any thread when the work submitted under `id` is done (or, under
    /// [`EVENT_ID`], when there is news): `value` reaches JS with the next batch.
    pub fn finish<T: ToNapiValue + Send + 'static>(&self, id: u32, value: T) {
        self.queue(id, id != EVENT_ID, value);
    }

    /// Called on any thread with news for the listener JS registered under `id` (a client's
    /// notices and notifications): it settles nothing, and keeps nothing alive.
    pub fn notify<T: ToNapiValue + Send + 'static>(&self, id: u32, value: T) {
        self.queue(id, false, value);
    }

    fn queue<T: ToNapiValue + Send + 'static>(&self, id: u32, settles: bool, value: T) {
        let delivery: Delivery = Box::new(move |env| unsafe { T::to_napi_value(env, value) });
        self.done
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((id, settles, delivery));
        if !self.scheduled.swap(true, Ordering::AcqRel) {
            // Held across the call, so the finalizer cannot free the handle under it.
            let tsfn = self.tsfn.read().unwrap_or_else(|e| e.into_inner());
            if !tsfn.0.is_null() {
                unsafe {
                    sys::napi_call_threadsafe_function(
                        tsfn.0,
                        ptr::null_mut(),
                        sys::ThreadsafeFunctionCallMode::nonblocking,
                    )
                };
            }
        }
    }
}

/// On the JS thread: settles everything queued, in one call of the handler.
unsafe extern "C" fn deliver(
    env: sys::napi_env,
    handler: sys::napi_value,
    context: *mut c_void,
    _data: *mut c_void,
) {
    if env.is_null() || context.is_null() {
        return; // the environment is going away
    }
    let completions = &*(context as *const Completions);
    // Clear first: a result that arrives while this drains schedules the next call.
    completions.scheduled.store(false, Ordering::Release);
    let batch = std::mem::take(&mut *completions.done.lock().unwrap_or_else(|e| e.into_inner()));
    if batch.is_empty() {
        return;
    }
    let count = batch.len();
    let settled = batch.iter().filter(|(_, settles, _)| *settles).count();
    // Counted down before anything can fail, so the handle is never left referenced.
    if settled > 0 && completions.in_flight.fetch_sub(settled, Ordering::Relaxed) == settled {
        sys::napi_unref_threadsafe_function(env, completions.handle());
    }
    let env_ = RawEnv(env);
    let Ok(array) = env_.array(count * 2) else {
        return;
    };
    for (i, (id, _, delivery)) in batch.into_iter().enumerate() {
        let value = delivery(env)
            .or_else(|e| env_.error(&format!("could not convert a result: {e}"), false));
        let (Ok(id), Ok(value)) = (env_.number(f64::from(id)), value) else {
            continue;
        };
        let _ = env_.set_element(array, (i * 2) as u32, id);
        let _ = env_.set_element(array, (i * 2 + 1) as u32, value);
    }
    let mut undefined = ptr::null_mut();
    sys::napi_get_undefined(env, &mut undefined);
    let mut ignored = ptr::null_mut();
    sys::napi_call_function(env, undefined, handler, 1, &array, &mut ignored);
}

/// Node is done with the handle (its environment is going away): forget it, then drop the
/// context's reference. Results that arrive later are dropped with their tasks.
unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    let completions = Arc::from_raw(data as *const Completions);
    *completions.tsfn.write().unwrap_or_else(|e| e.into_inner()) = Handle(ptr::null_mut());
    drop(completions);
}
