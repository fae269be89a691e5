//! `NativeManager`: the JS handle on a cluster; the facade's `ReadReplicaManager` wraps it.
//!
//! The facade validates every argument; what arrives here is already well-formed, and typed
//! (string enums, a BigInt WAL position) so that conversion is all that is left.

use std::sync::Arc;

use napi::bindgen_prelude::{BigInt, Unknown};
use napi::{Env, JsValue, Result};
use napi_derive::napi;

use super::client::NativeClient;
use super::completions::{Completions, EVENT_ID};
use super::convert::{
    causal, params, JsEvent, JsFields, JsParam, JsRoute, MetricsReport, StatusReport,
};
use super::cursor::NativeCursor;
use super::error::Settled;
use super::inline;
use super::insights::{deliver, MembersReport, StatsReport};
use super::password::{self, PasswordFunction};
use super::session::NativeSession;
use crate::core::checker;
use crate::core::cluster::{ClientKind, Cluster};
use crate::core::config::{parse_node, parse_options};
use crate::core::cursor as core_cursor;
use crate::core::error::CoreError;
use crate::core::insights::Trail;
use crate::core::node::StatementOptions;
use crate::core::router::{Router, Target};

#[napi]
pub struct NativeManager {
    cluster: Arc<Cluster>,
    completions: Arc<Completions>,
}

/// Where a query is forced to run (`options.route`).
#[napi(string_enum = "lowercase")]
pub enum RouteOverride {
    Primary,
    Replica,
}

impl RouteOverride {
    fn target(self) -> Target {
        match self {
            RouteOverride::Primary => Target::Primary,
            RouteOverride::Replica => Target::Replica,
        }
    }
}

/// What `getClient(kind)` asks for.
#[napi(string_enum = "lowercase")]
pub enum ClientKindArg {
    Read,
    Write,
}

/// Validates the configs and builds the pools (no connection yet); `start()` connects.
/// `passwords` holds, primary first, each config's password function (wrapped by the facade)
/// or null. `on_complete` receives finished work as `[id, value, id, value, …]` (see
/// completions).
#[napi(
    catch_unwind,
    ts_args_type = "primary: object, replicas: object[], options: object, passwords: Array<((params: { host: string, port: number, database: string, user: string }) => Promise<{ password?: string, error?: string }>) | null>, onComplete: (batch: unknown[]) => void",
    ts_return_type = "NativeManager | Error"
)]
pub fn create_manager(
    env: Env,
    primary: JsFields,
    replicas: Vec<JsFields>,
    options: JsFields,
    passwords: Vec<Option<PasswordFunction>>,
    on_complete: Unknown<'_>,
) -> Result<Settled<NativeManager>> {
    let vars = |name: &str| std::env::var(name).ok();
    let passwords: Vec<_> = passwords
        .into_iter()
        .map(|f| f.map(password::provider))
        .collect();
    let password = |i: usize| passwords.get(i).cloned().flatten();
    let build = || -> std::result::Result<Arc<Cluster>, CoreError> {
        let primary = parse_node("primaryConfig", &primary.0, &vars, password(0))?;
        let replicas = replicas
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let label = format!("replicaConfigs[{i}]");
                parse_node(&label, &r.0, &vars, password(i + 1))
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let options = parse_options(&options.0, &vars)?;
        Ok(Cluster::new(primary, replicas, options))
    };
    let cluster = match build() {
        Ok(cluster) => cluster,
        Err(e) => return Ok(Settled(Err(e))),
    };
    let completions = Completions::new(env.raw(), on_complete.raw())?;
    // State changes reach JS on the same road as results, under EVENT_ID.
    let events = completions.clone();
    cluster.set_event_sink(Box::new(move |e| events.finish(EVENT_ID, JsEvent(e))));
    Ok(Settled(Ok(NativeManager {
        cluster,
        completions,
    })))
}

/// Classifies `sql` with the default write functions, plus `write_functions`, minus
/// `read_only_functions`, as the facade's `classifyQuery` exposes it.
#[napi(
    catch_unwind,
    ts_return_type = "{ route: 'replica' | 'primary' | 'reject', reason: string }"
)]
pub fn classify_query(
    sql: String,
    write_functions: Option<Vec<String>>,
    read_only_functions: Option<Vec<String>>,
) -> JsRoute {
    JsRoute(
        Router::new(
            &write_functions.unwrap_or_default(),
            &read_only_functions.unwrap_or_default(),
        )
        .classify(&sql),
    )
}

#[napi]
impl NativeManager {
    /// Classifies `sql` with this manager's write functions.
    #[napi(
        catch_unwind,
        ts_return_type = "{ route: 'replica' | 'primary' | 'reject', reason: string }"
    )]
    pub fn classify(&self, sql: String) -> JsRoute {
        JsRoute(self.cluster.classify(&sql))
    }

    /// The consistency reads get by default (`options.consistency`).
    #[napi(getter, ts_return_type = "'eventual' | 'read-your-writes' | 'strong'")]
    pub fn consistency(&self) -> &'static str {
        self.cluster.options().consistency.as_str()
    }

    /// First health check of every node, pool warm-up, then the background tasks.
    #[napi]
    pub async fn start(&self) -> Result<()> {
        checker::start(&self.cluster).await;
        Ok(())
    }

    /// Starts a query; its result reaches `onComplete` under `id`. `strong` reads on the
    /// primary; `min_lsn` reads only where that WAL position has been replayed; `track` asks a
    /// write for the WAL position that covers it; values of the `text_types` OIDs come back as
    /// text, for custom type parsers. `traced`: the result comes with its trail (see
    /// insights::deliver).
    #[napi(
        catch_unwind,
        ts_args_type = "id: number, text: string, values: Array<string | Buffer | null>, route: 'primary' | 'replica' | null, strong: boolean, minLsn: bigint | null, track: boolean, textTypes?: number[] | null, traced?: boolean"
    )]
    #[allow(clippy::too_many_arguments)]
    pub fn submit(
        &self,
        env: Env,
        id: u32,
        text: String,
        values: Vec<JsParam>,
        route: Option<RouteOverride>,
        strong: bool,
        min_lsn: Option<BigInt>,
        track: bool,
        text_types: Option<Vec<u32>>,
        traced: Option<bool>,
    ) {
        let idle = self.completions.begin(env.raw());
        let route = route.map(RouteOverride::target);
        let traced = traced.unwrap_or(false);
        let causal = causal(strong, min_lsn, track);
        let cluster = self.cluster.clone();
        let completions = self.completions.clone();
        let params = params(values);
        let text_types = text_types.unwrap_or_default();
        let settle = completions.clone();
        let task = async move {
            let options = StatementOptions {
                text_types: &text_types,
                ..StatementOptions::default()
            };
            let mut trail = Trail::new(traced);
            let outcome = cluster
                .query(&text, &params, route, causal, options, &mut trail)
                .await;
            deliver(&completions, id, outcome, traced.then_some(trail));
        };
        inline::start(task, idle, move || {
            deliver(&settle, id, Err(CoreError::panicked()), None)
        });
    }

    /// A cursor over `text`'s rows, placed as `submit` places a query; nothing is routed or
    /// opened before its first read.
    #[napi(
        catch_unwind,
        ts_args_type = "text: string, values: Array<string | Buffer | null>, route: 'primary' | 'replica' | null, strong: boolean, minLsn: bigint | null, track: boolean"
    )]
    pub fn cursor(
        &self,
        text: String,
        values: Vec<JsParam>,
        route: Option<RouteOverride>,
        strong: bool,
        min_lsn: Option<BigInt>,
        track: bool,
    ) -> NativeCursor {
        let (cursor, requests) = core_cursor::channel();
        let cluster = self.cluster.clone();
        let causal = causal(strong, min_lsn, track);
        let params = params(values);
        let route = route.map(RouteOverride::target);
        napi::bindgen_prelude::spawn(async move {
            cluster
                .serve_cursor(text, params, route, causal, requests)
                .await;
        });
        NativeCursor::new(cursor, self.completions.clone())
    }

    /// Checks out a dedicated connection; the client reaches `onComplete` under `id`.
    #[napi(catch_unwind, ts_args_type = "id: number, kind: 'read' | 'write'")]
    pub fn submit_get_client(&self, env: Env, id: u32, kind: ClientKindArg) {
        let idle = self.completions.begin(env.raw());
        let kind = match kind {
            ClientKindArg::Read => ClientKind::Read,
            ClientKindArg::Write => ClientKind::Write,
        };
        let cluster = self.cluster.clone();
        let completions = self.completions.clone();
        let settle = completions.clone();
        // With an idle pooled connection, the whole checkout completes in its first step.
        let task = async move {
            let checkout = cluster.checkout(kind, None).await;
            let client = checkout.map(|c| NativeClient::new(cluster, completions.clone(), c));
            completions.finish(id, Settled(client));
        };
        inline::start(task, idle, move || {
            settle.finish(id, Settled::<NativeClient>(Err(CoreError::panicked())))
        });
    }

    /// A routing client for `manager.pg` (no connection until a statement needs one); its
    /// notices and notifications reach `onComplete` under `listener`.
    #[napi(catch_unwind)]
    pub fn create_session(&self, listener: Option<u32>) -> NativeSession {
        NativeSession::new(self.cluster.clone(), self.completions.clone(), listener)
    }

    #[napi(
        catch_unwind,
        ts_return_type = "Record<string, import('./index').ReplicaStatus>"
    )]
    pub fn status(&self) -> StatusReport {
        StatusReport(self.cluster.replica_status())
    }

    #[napi(catch_unwind, ts_return_type = "import('./index').Metrics")]
    pub fn metrics(&self) -> MetricsReport {
        MetricsReport {
            counters: self.cluster.metrics(),
            replicas: self.cluster.replica_status(),
            primary: self.cluster.primary_status(),
            query_stats: self.cluster.insights().stats().map(|s| s.summary()),
        }
    }

    /// Every member's name and address, in the order a trace's member indexes count.
    #[napi(
        catch_unwind,
        ts_return_type = "Array<{ name: string, host: string, port: number, database: string }>"
    )]
    pub fn members(&self) -> MembersReport<'_> {
        MembersReport(&self.cluster)
    }

    /// The statement stats, by total time (most first), at most `limit`; empty when off.
    #[napi(
        catch_unwind,
        ts_return_type = "Array<import('./index').StatementStats>"
    )]
    pub fn query_stats(&self, limit: Option<u32>) -> StatsReport {
        let stats = self.cluster.insights().stats();
        StatsReport {
            statements: stats.map_or_else(Vec::new, |s| s.snapshot(limit.map(|l| l as usize))),
            member_names: self
                .cluster
                .members()
                .iter()
                .map(|m| m.node().name().to_string())
                .collect(),
        }
    }

    /// Forgets the statement stats.
    #[napi(catch_unwind)]
    pub fn reset_query_stats(&self) {
        if let Some(stats) = self.cluster.insights().stats() {
            stats.reset();
        }
    }

    /// The metrics in Prometheus's text exposition format.
    #[napi(catch_unwind)]
    pub fn prometheus(&self) -> String {
        crate::core::prometheus::render(&self.cluster)
    }

    #[napi]
    pub async fn close(&self) -> Result<()> {
        self.cluster.close().await;
        Ok(())
    }
}
