//! `NativeClient`: one checked-out connection for `getClient`, with pg-pool's release rules.

use std::sync::Arc;

use napi::Env;
use napi_derive::napi;

use super::completions::Completions;
use super::convert::{params, JsParam};
use super::cursor::NativeCursor;
use super::inline;
use super::insights::deliver;
use crate::core::cluster::{Checkout, Cluster};
use crate::core::cursor as core_cursor;
use crate::core::error::CoreError;
use crate::core::insights::Trail;
use crate::core::session::Dedicated;
use crate::core::statement::Statements;

#[napi]
pub struct NativeClient {
    cluster: Arc<Cluster>,
    completions: Arc<Completions>,
    held: Arc<tokio::sync::Mutex<Dedicated>>,
}

impl NativeClient {
    pub fn new(
        cluster: Arc<Cluster>,
        completions: Arc<Completions>,
        checkout: Checkout,
    ) -> NativeClient {
        NativeClient {
            cluster,
            completions,
            held: Arc::new(tokio::sync::Mutex::new(Dedicated::new(checkout))),
        }
    }
}

#[napi]
impl NativeClient {
    /// Starts `text` as is on this client's connection (no routing, transaction control
    /// allowed); its result reaches the manager's `onComplete` under `id`.
    #[napi(
        catch_unwind,
        ts_args_type = "id: number, text: string, values: Array<string | Buffer | null>, track?: boolean, textTypes?: number[] | null, traced?: boolean"
    )]
    #[allow(clippy::too_many_arguments)]
    pub fn submit(
        &self,
        env: Env,
        id: u32,
        text: String,
        values: Vec<JsParam>,
        track: Option<bool>,
        text_types: Option<Vec<u32>>,
        traced: Option<bool>,
    ) {
        let traced = traced.unwrap_or(false);
        let idle = self.completions.begin(env.raw());
        let completions = self.completions.clone();
        let cluster = self.cluster.clone();
        let held = self.held.clone();
        let params = params(values);
        let track = track.unwrap_or(false);
        let text_types = text_types.unwrap_or_default();
        let settle = completions.clone();
        let task = async move {
            let statements = Statements::parse(&text);
            let mut held = held.lock().await;
            let mut trail = Trail::new(traced);
            let outcome = held
                .run(
                    &cluster,
                    &statements,
                    &params,
                    track,
                    &text_types,
                    &mut trail,
                )
                .await;
            deliver(&completions, id, outcome, traced.then_some(trail));
        };
        inline::start(task, idle, move || {
            deliver(&settle, id, Err(CoreError::panicked()), None)
        });
    }

    /// A cursor over `text`'s rows on this client's connection: in the transaction the client
    /// has open, or else in one of its own for the cursor's life. It takes the connection at
    /// its first read, and holds it until it ends (the facade queues the client's other
    /// queries behind it).
    #[napi(
        catch_unwind,
        ts_args_type = "text: string, values: Array<string | Buffer | null>, track: boolean"
    )]
    pub fn cursor(&self, text: String, values: Vec<JsParam>, track: bool) -> NativeCursor {
        let (cursor, mut requests) = core_cursor::channel();
        let cluster = self.cluster.clone();
        let held = self.held.clone();
        let params = params(values);
        napi::bindgen_prelude::spawn(async move {
            let Some(first) = requests.opened().await else {
                return;
            };
            let mut held = held.lock().await;
            held.serve_cursor(&cluster, &text, &params, track, first, requests)
                .await;
        });
        NativeCursor::new(cursor, self.completions.clone())
    }

    /// Returns the connection to its pool (rolling back a transaction left open), or closes it
    /// when `destroy` is set, as pg-pool's `release(err)` does.
    #[napi(catch_unwind)]
    pub fn release(&self, destroy: bool) {
        let held = self.held.clone();
        napi::bindgen_prelude::spawn(async move {
            held.lock().await.release(destroy).await;
        });
    }
}
