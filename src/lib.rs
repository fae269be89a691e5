//! read-replica-manager: PostgreSQL read/write routing over a primary and streaming replicas,
//! as a Node.js addon. The `read-replica-core` crate (core/) is plain Rust; `js` is the napi
//! binding over it.

#![deny(clippy::all)]

/// The core crate, under the name the binding uses for it.
pub(crate) use read_replica_core as core;

mod js;

/// The addon's own tokio runtime: one worker per core (at most 4), named for profiles.
#[napi_derive::module_init]
fn init() {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("rrm-worker")
        .enable_all()
        .build()
        .expect("the tokio runtime could not start");
    napi::bindgen_prelude::create_custom_tokio_runtime(runtime);
}
