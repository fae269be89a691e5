//! `NativeClient`: one checked-out connection for `getClient`, with pg-pool's release rules.

use std::sync::Arc;

use crate::core::deadpool_postgres::Object;
use napi::Env;
use napi_derive::napi;

use super::completions::Completions;
use super::convert::{params, JsParam, JsResult};
use super::cursor::NativeCursor;
use super::error::Settled;
use crate::core::cluster::{Checkout, Cluster};
use crate::core::cursor::{self as core_cursor, Requests};
use crate::core::error::CoreError;
use crate::core::node::{insert_lsn, ConnState, CursorPlan, CursorTransaction};
use crate::core::result::Outcome;
use crate::core::statement::Statements;
use crate::core::values::Param;

#[napi]
pub struct NativeClient {
    cluster: Arc<Cluster>,
    completions: Arc<Completions>,
    /// The member the connection came from.
    member: usize,
    /// It took the writes at checkout: what this client commits is tracked for read-your-writes.
    from_writer: bool,
    state: Arc<tokio::sync::Mutex<ClientState>>,
}

struct ClientState {
    conn: Option<Object>,
    /// Whether a transaction may be open, so release can end it before the connection is reused.
    in_transaction: bool,
    /// Whether a statement may have left session state (settings, temp tables, listeners, …),
    /// so release resets the session before the connection is reused.
    dirty_session: bool,
}

impl Drop for ClientState {
    /// A client dropped (garbage-collected) without release: never pool a connection that may
    /// hold an open transaction or session state.
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if self.in_transaction || self.dirty_session {
                drop(Object::take(conn));
            }
        }
    }
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
            member: checkout.member,
            from_writer: checkout.from_writer,
            state: Arc::new(tokio::sync::Mutex::new(ClientState {
                conn: Some(checkout.conn),
                in_transaction: false,
                dirty_session: false,
            })),
        }
    }
}

#[napi]
impl NativeClient {
    /// Starts `text` as is on this client's connection (no routing, transaction control
    /// allowed); its result reaches the manager's `onComplete` under `id`.
    #[napi(
        catch_unwind,
        ts_args_type = "id: number, text: string, values: Array<string | Buffer | null>, track?: boolean"
    )]
    pub fn submit(
        &self,
        env: Env,
        id: u32,
        text: String,
        values: Vec<JsParam>,
        track: Option<bool>,
    ) {
        self.completions.begin(env.raw());
        let completions = self.completions.clone();
        let cluster = self.cluster.clone();
        let state = self.state.clone();
        let source = Source {
            member: self.member,
            from_writer: self.from_writer,
        };
        let params = params(values);
        let track = track.unwrap_or(false);
        napi::bindgen_prelude::spawn(async move {
            let outcome = run(&cluster, source, &state, &text, &params, track).await;
            completions.finish(id, Settled(outcome.map(JsResult)));
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
        let (cursor, requests) = core_cursor::channel();
        let cluster = self.cluster.clone();
        let state = self.state.clone();
        let source = Source {
            member: self.member,
            from_writer: self.from_writer,
        };
        let params = params(values);
        napi::bindgen_prelude::spawn(async move {
            serve_cursor(&cluster, source, &state, &text, &params, track, requests).await;
        });
        NativeCursor::new(cursor, self.completions.clone())
    }

    /// Returns the connection to its pool (rolling back a transaction left open), or closes it
    /// when `destroy` is set, as pg-pool's `release(err)` does.
    #[napi(catch_unwind)]
    pub fn release(&self, destroy: bool) {
        let state = self.state.clone();
        napi::bindgen_prelude::spawn(async move {
            let mut state = state.lock().await;
            let Some(conn) = state.conn.take() else {
                return;
            };
            // End a transaction left open, then reset session state, so the next user gets a
            // clean connection; a connection that cannot be cleaned is closed instead.
            let discard = destroy
                || conn.is_closed()
                || (state.in_transaction && conn.batch_execute("ROLLBACK").await.is_err())
                || (state.dirty_session && !reset_session(&conn).await);
            if discard {
                drop(Object::take(conn));
            }
            state.in_transaction = false;
            state.dirty_session = false;
        });
    }
}

/// `DISCARD ALL` drops the session's settings, temp tables, listeners, prepared statements,
/// held cursors and advisory locks; the statement cache goes with the prepared statements.
async fn reset_session(conn: &Object) -> bool {
    conn.statement_cache.clear();
    conn.batch_execute("DISCARD ALL").await.is_ok()
}

/// Where a client's connection came from.
#[derive(Clone, Copy)]
struct Source {
    member: usize,
    /// The member took the writes at checkout.
    from_writer: bool,
}

/// Serves a cursor on the client's connection, from its first read to its end, and tracks what
/// it did to the session.
async fn serve_cursor(
    cluster: &Cluster,
    source: Source,
    state: &tokio::sync::Mutex<ClientState>,
    text: &str,
    params: &[Param],
    track: bool,
    mut requests: Requests,
) {
    let Some(first) = requests.opened().await else {
        return;
    };
    let mut state = state.lock().await;
    let ClientState {
        conn,
        in_transaction,
        dirty_session,
    } = &mut *state;
    let Some(conn) = conn.as_mut() else {
        return first.fail(CoreError::Released);
    };
    let node = cluster.node(source.member);
    // The record may only guess (after a transaction statement failed): the server knows.
    if *in_transaction {
        match node.in_transaction_block(conn).await {
            Ok(open) => *in_transaction = open,
            Err(e) => return first.fail(e),
        }
    }
    let statements = Statements::parse(text);
    if statements.iter().any(|s| s.is_transaction_control()) {
        return first.fail(CoreError::Unsupported(
            "a cursor reads the rows of one statement: run BEGIN, COMMIT and the like with \
             client.query()"
                .into(),
        ));
    }
    *dirty_session |= statements.leaves_session_state();
    let (transaction, track_lsn) = match *in_transaction {
        true => (CursorTransaction::Callers, false),
        false => (
            CursorTransaction::Own { read_only: false },
            track && source.from_writer,
        ),
    };
    let plan = CursorPlan {
        statements: &statements,
        params,
        transaction,
        track_lsn,
    };
    let served = node
        .serve_cursor(
            conn,
            &plan,
            first,
            &mut requests,
            None,
            std::future::pending(),
        )
        .await;
    if served.conn != ConnState::Fit {
        // Its transaction state is unknown: release rolls back, or closes the connection.
        *in_transaction = true;
    }
    if let Some(e) = served.settle() {
        if e.is_connection_failure() {
            cluster.member_connection_failed(source.member);
        }
        if source.from_writer && e.refused_before_running() {
            cluster.refresh_roles();
        }
    }
}

/// Runs `text` on the client's connection and tracks what it did to the session.
async fn run(
    cluster: &Cluster,
    source: Source,
    state: &tokio::sync::Mutex<ClientState>,
    text: &str,
    params: &[Param],
    track: bool,
) -> std::result::Result<Outcome, CoreError> {
    let mut state = state.lock().await;
    let Some(conn) = state.conn.as_ref() else {
        return Err(CoreError::Released);
    };
    let statements = Statements::parse(text);
    let node = cluster.node(source.member);
    let may_wrap = !state.in_transaction;
    let outcome = node.run_on(conn, &statements, params, may_wrap).await;
    let effect = statements.transaction_effect();
    // Even a failed statement may have changed the session before it failed.
    state.dirty_session |= statements.leaves_session_state();
    match &outcome {
        Ok(_) => state.in_transaction = effect.unwrap_or(state.in_transaction),
        Err(e) => {
            // After a failed transaction statement the state is unknown: assume open.
            state.in_transaction |= effect.is_some();
            if e.is_connection_failure() {
                cluster.member_connection_failed(source.member);
            }
            // A write client's primary that refuses (a standby now, shutting down): find out
            // now, so that the next client goes to the new primary.
            if source.from_writer && e.refused_before_running() {
                cluster.refresh_roles();
            }
        }
    }
    let reply = outcome?;
    // Work that is now committed on the primary (autocommit, or the COMMIT of a transaction):
    // the WAL position that covers it, for read-your-writes. Any statement counts, since a
    // read-looking one may call a function that writes.
    let write_lsn = match state.conn.as_ref() {
        Some(conn) if track && !state.in_transaction && source.from_writer => {
            insert_lsn(conn).await.ok().flatten()
        }
        _ => None,
    };
    Ok(Outcome { reply, write_lsn })
}
