//! read-replica-manager: PostgreSQL read/write routing over a primary and streaming replicas,
//! as a Node.js addon. The `read-replica-core` crate (core/) is plain Rust; `js` is the napi
//! binding over it.

#![deny(clippy::all)]

/// The core crate, under the name the binding uses for it.
pub(crate) use read_replica_core as core;

mod js;

/// The addon's own tokio runtime, its threads named for profiles. `RRM_WORKER_THREADS` sizes it;
/// by default it takes half the cores (at least 1, at most 4), leaving the rest to the JS
/// thread: on 2 cores one worker cut client CPU per point read by a quarter against two
/// (fewer cross-thread wake-ups; see bench/RESULTS.md).
#[napi_derive::module_init]
fn init() {
    let workers = std::env::var("RRM_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).clamp(1, 4))
        });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("rrm-worker")
        .enable_all()
        .build()
        .expect("the tokio runtime could not start");
    napi::bindgen_prelude::create_custom_tokio_runtime(runtime);
}
