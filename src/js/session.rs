//! `NativeSession`: a routing client of `manager.pg` (see the core's `session`): statements
//! routed one by one, a connection held through transactions and state that cannot move.

use std::sync::Arc;

use napi::bindgen_prelude::BigInt;
use napi::Env;
use napi_derive::napi;

use super::completions::Completions;
use super::convert::{causal, params, JsParam, JsServerMessage};
use super::cursor::NativeCursor;
use super::inline;
use super::insights::deliver;
use crate::core::client_link::ClientLink;
use crate::core::cluster::Cluster;
use crate::core::cursor as core_cursor;
use crate::core::error::CoreError;
use crate::core::insights::Trail;
use crate::core::session::RoutingSession;

#[napi]
pub struct NativeSession {
    cluster: Arc<Cluster>,
    completions: Arc<Completions>,
    session: Arc<tokio::sync::Mutex<RoutingSession>>,
    /// The session's link, reachable while a statement holds the session (to cancel it).
    link: ClientLink,
}

impl NativeSession {
    /// A session whose notices and notifications reach the JS listener `listener`.
    pub fn new(
        cluster: Arc<Cluster>,
        completions: Arc<Completions>,
        listener: Option<u32>,
    ) -> NativeSession {
        let on_message = listener.map(|id| {
            let to = completions.clone();
            Arc::new(move |m| to.notify(id, JsServerMessage(m))) as _
        });
        let session = RoutingSession::new(on_message);
        NativeSession {
            cluster,
            completions,
            link: session.link(),
            session: Arc::new(tokio::sync::Mutex::new(session)),
        }
    }
}

#[napi]
impl NativeSession {
    /// Starts `text` for this client; its result reaches the manager's `onComplete` under
    /// `id`. `strong`, `minLsn` and `track` as for the manager's `submit`; values of the
    /// `textTypes` OIDs come back as text, for custom type parsers.
    #[napi(
        catch_unwind,
        ts_args_type = "id: number, text: string, values: Array<string | Buffer | null>, strong: boolean, minLsn: bigint | null, track: boolean, textTypes: number[] | null, traced?: boolean"
    )]
    #[allow(clippy::too_many_arguments)]
    pub fn submit(
        &self,
        env: Env,
        id: u32,
        text: String,
        values: Vec<JsParam>,
        strong: bool,
        min_lsn: Option<BigInt>,
        track: bool,
        text_types: Option<Vec<u32>>,
        traced: Option<bool>,
    ) {
        let idle = self.completions.begin(env.raw());
        let traced = traced.unwrap_or(false);
        let causal = causal(strong, min_lsn, track);
        let cluster = self.cluster.clone();
        let completions = self.completions.clone();
        let session = self.session.clone();
        let params = params(values);
        let text_types = text_types.unwrap_or_default();
        let settle = completions.clone();
        let task = async move {
            let mut trail = Trail::new(traced);
            // The session is free again before JS hears of the outcome (see `release`).
            let outcome = session
                .lock()
                .await
                .run(&cluster, &text, &params, causal, &text_types, &mut trail)
                .await;
            deliver(&completions, id, outcome, traced.then_some(trail));
        };
        inline::start(task, idle, move || {
            deliver(&settle, id, Err(CoreError::panicked()), None)
        });
    }

    /// A cursor over `text`'s rows for this client (see the core's `RoutingSession::serve_cursor`);
    /// it takes the session at its first read and holds it until it ends.
    #[napi(
        catch_unwind,
        ts_args_type = "text: string, values: Array<string | Buffer | null>, strong: boolean, minLsn: bigint | null, track: boolean"
    )]
    pub fn cursor(
        &self,
        text: String,
        values: Vec<JsParam>,
        strong: bool,
        min_lsn: Option<BigInt>,
        track: bool,
    ) -> NativeCursor {
        let (cursor, mut requests) = core_cursor::channel();
        let causal = causal(strong, min_lsn, track);
        let cluster = self.cluster.clone();
        let session = self.session.clone();
        let params = params(values);
        napi::bindgen_prelude::spawn(async move {
            let Some(first) = requests.opened().await else {
                return;
            };
            let mut session = session.lock().await;
            session
                .serve_cursor(&cluster, &text, &params, causal, first, requests)
                .await;
        });
        NativeCursor::new(cursor, self.completions.clone())
    }

    /// Cancels the statement the client runs now, as `pg_cancel_backend` of its backend would;
    /// resolves to whether a cancel request was sent.
    #[napi]
    pub async fn cancel(&self) -> napi::Result<bool> {
        Ok(self.link.cancel().await)
    }

    /// Ends the client's use: a held connection goes back to its pool clean (closed with
    /// `destroy`), its settings are forgotten. The session is taken here, before anything the
    /// client's next user submits can take it, so that user starts after the release.
    #[napi(catch_unwind)]
    pub fn release(&self, destroy: bool) {
        let session = self.session.clone();
        // Free unless a statement still runs (the facade releases after the client's last one).
        let taken = session.clone().try_lock_owned();
        napi::bindgen_prelude::spawn(async move {
            let mut session = match taken {
                Ok(session) => session,
                Err(_) => session.lock_owned().await,
            };
            session.release(destroy).await;
        });
    }
}
