//! `NativeClient`: one checked-out connection for `getClient`, with pg-pool's release rules.

use std::sync::Arc;

use napi::Env;
use napi_derive::napi;

use super::completions::Completions;
use super::convert::{params, JsParam, JsResult};
use super::error::Settled;
use crate::core::cluster::{Checkout, Cluster};
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
        ts_args_type = "id: number, text: string, values: Array<string | Buffer | null>, track?: boolean, textTypes?: number[]"
    )]
    pub fn submit(
        &self,
        env: Env,
        id: u32,
        text: String,
        values: Vec<JsParam>,
        track: Option<bool>,
        text_types: Option<Vec<u32>>,
    ) {
        self.completions.begin(env.raw());
        let completions = self.completions.clone();
        let cluster = self.cluster.clone();
        let held = self.held.clone();
        let params = params(values);
        let track = track.unwrap_or(false);
        let text_types = text_types.unwrap_or_default();
        napi::bindgen_prelude::spawn(async move {
            let statements = Statements::parse(&text);
            let mut held = held.lock().await;
            let outcome = held
                .run(&cluster, &statements, &params, track, &text_types)
                .await;
            completions.finish(id, Settled(outcome.map(JsResult)));
        });
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
