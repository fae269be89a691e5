//! `NativeManager`: the JS handle on a cluster; the facade's `ReadReplicaManager` wraps it.

use std::sync::Arc;

use napi::bindgen_prelude::Unknown;
use napi::{Env, JsValue, Result};
use napi_derive::napi;

use super::client::NativeClient;
use super::completions::{Completions, Done, EVENT_ID};
use super::convert::{params, JsFields, JsParam, JsResult, JsRoute, MetricsReport, StatusReport};
use super::error::Settled;
use crate::core::checker;
use crate::core::cluster::{Causal, ClientKind, Cluster};
use crate::core::config::{parse_node, parse_options, Consistency};
use crate::core::error::CoreError;
use crate::core::node::parse_lsn;
use crate::core::router::{Router, Target};

#[napi]
pub struct NativeManager {
    cluster: Arc<Cluster>,
    completions: Arc<Completions>,
}

/// Validates the configs and builds the pools (no connection yet); `start()` connects.
/// `on_complete` receives finished queries as `[id, value, id, value, …]` (see completions).
#[napi(
    catch_unwind,
    ts_args_type = "primary: object, replicas: object[], options: object, onComplete: (batch: unknown[]) => void",
    ts_return_type = "NativeManager | Error"
)]
pub fn create_manager(
    env: Env,
    primary: JsFields,
    replicas: Vec<JsFields>,
    options: JsFields,
    on_complete: Unknown<'_>,
) -> Result<Settled<NativeManager>> {
    let vars = |name: &str| std::env::var(name).ok();
    let build = || -> std::result::Result<Arc<Cluster>, CoreError> {
        let primary = parse_node("primaryConfig", &primary.0, &vars)?;
        let replicas = replicas
            .iter()
            .enumerate()
            .map(|(i, r)| parse_node(&format!("replicaConfigs[{i}]"), &r.0, &vars))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let options = parse_options(&options.0, &vars)?;
        Ok(Cluster::new(primary, replicas, options))
    };
    Ok(Settled(match build() {
        Ok(cluster) => {
            let completions = Completions::new(env.raw(), on_complete.raw())?;
            // State changes reach JS on the same road as results, under EVENT_ID.
            let events = completions.clone();
            let _ = cluster
                .events
                .set(Box::new(move |e| events.finish(EVENT_ID, Done::Event(e))));
            Ok(NativeManager {
                cluster,
                completions,
            })
        }
        Err(e) => Err(e),
    }))
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

impl NativeManager {
    /// Reads the per-query routing and consistency arguments.
    fn causal(
        &self,
        route: Option<&str>,
        consistency: Option<&str>,
        min_lsn: Option<&str>,
        track: Option<bool>,
    ) -> std::result::Result<(Option<Target>, Causal), CoreError> {
        let route = match route {
            None => None,
            Some("primary") => Some(Target::Primary),
            Some("replica") => Some(Target::Replica),
            Some(other) => {
                return Err(CoreError::Argument(format!(
                    "options.route must be 'primary' or 'replica', got {other:?}"
                )))
            }
        };
        let mode = match consistency {
            None => self.cluster.options.consistency,
            Some(text) => Consistency::parse(text).ok_or_else(|| {
                CoreError::Argument(format!(
                    "options.consistency must be 'eventual', 'read-your-writes' or 'strong', got {text:?}"
                ))
            })?,
        };
        let min_lsn = match min_lsn {
            None => None,
            Some(text) => Some(parse_lsn(text).ok_or_else(|| {
                CoreError::Argument(format!(
                    "options.minLsn must be a WAL position such as '16/B374D848', got {text:?}"
                ))
            })?),
        };
        let causal = Causal {
            strong: mode == Consistency::Strong,
            min_lsn: min_lsn.filter(|_| mode != Consistency::Eventual),
            track_write: track.unwrap_or(false),
        };
        Ok((route, causal))
    }
}

#[napi]
impl NativeManager {
    /// Classifies `sql` with this manager's write functions.
    #[napi(
        catch_unwind,
        ts_return_type = "{ route: 'replica' | 'primary' | 'reject', reason: string }"
    )]
    pub fn classify(&self, sql: String) -> JsRoute {
        JsRoute(self.cluster.router.classify(&sql))
    }

    /// First health check of every replica, pool warm-up, then the background tasks.
    #[napi]
    pub async fn start(&self) -> Result<()> {
        checker::start(&self.cluster).await;
        Ok(())
    }

    /// Starts a query; its result reaches `onComplete` under `id`. `consistency` ('eventual',
    /// 'read-your-writes', 'strong'; the manager's option when null) and `min_lsn` give
    /// read-your-writes; `track` asks a write for the WAL position that covers it.
    #[napi(
        catch_unwind,
        ts_args_type = "id: number, text: string, values: Array<string | Buffer | null>, route?: string | null, consistency?: string | null, minLsn?: string | null, track?: boolean"
    )]
    #[allow(clippy::too_many_arguments)]
    pub fn submit(
        &self,
        env: Env,
        id: u32,
        text: String,
        values: Vec<JsParam>,
        route: Option<String>,
        consistency: Option<String>,
        min_lsn: Option<String>,
        track: Option<bool>,
    ) {
        let completions = self.completions.clone();
        completions.begin(env.raw());
        let causal = match self.causal(
            route.as_deref(),
            consistency.as_deref(),
            min_lsn.as_deref(),
            track,
        ) {
            Ok(causal) => causal,
            Err(error) => {
                completions.finish(id, Done::Reply(Settled(Err(error))));
                return;
            }
        };
        let cluster = self.cluster.clone();
        let params = params(values);
        napi::bindgen_prelude::spawn(async move {
            let (route, causal) = causal;
            let outcome = cluster.query(&text, &params, route, causal).await;
            completions.finish(id, Done::Reply(Settled(outcome.map(JsResult::new))));
        });
    }

    /// Checks out a dedicated connection; the client reaches `onComplete` under `id`.
    #[napi(catch_unwind, ts_args_type = "id: number, kind: 'read' | 'write'")]
    pub fn submit_get_client(&self, env: Env, id: u32, kind: String) {
        let completions = self.completions.clone();
        completions.begin(env.raw());
        let kind = match kind.as_str() {
            "read" => ClientKind::Read,
            "write" => ClientKind::Write,
            other => {
                let error = CoreError::Argument(format!(
                    "getClient(kind): kind must be 'read' or 'write', got {other:?}"
                ));
                completions.finish(id, Done::Client(Settled(Err(error))));
                return;
            }
        };
        let cluster = self.cluster.clone();
        napi::bindgen_prelude::spawn(async move {
            let checkout = cluster.checkout(kind).await;
            let client = checkout.map(|c| NativeClient::new(cluster, completions.clone(), c));
            completions.finish(id, Done::Client(Settled(client)));
        });
    }

    #[napi(catch_unwind, ts_return_type = "Record<string, ReplicaStatus>")]
    pub fn status(&self) -> StatusReport {
        StatusReport(self.cluster.replica_status())
    }

    #[napi(catch_unwind, ts_return_type = "Metrics")]
    pub fn metrics(&self) -> MetricsReport {
        let primary = &self.cluster.primary.config;
        MetricsReport {
            counters: self.cluster.metrics(),
            replicas: self.cluster.replica_status(),
            primary: self.cluster.primary_status(),
            primary_address: (primary.host.clone(), primary.port, primary.database.clone()),
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
