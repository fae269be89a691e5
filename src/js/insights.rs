//! Statement insights for JS: a traced statement's outcome with its trail, the stats table, the
//! members a trail's indexes name.

use napi::bindgen_prelude::ToNapiValue;
use napi::{sys, Result};

use super::completions::Completions;
use super::convert::{iso8601, JsResult};
use super::error::Settled;
use super::raw::{RawEnv, RawValue};
use crate::core::cluster::Cluster;
use crate::core::error::CoreError;
use crate::core::insights::{StatementStats, StatsSummary, Trail};
use crate::core::result::Outcome;

/// Settles submission `id` with a statement's outcome; with a `trail` (the facade traces the
/// statement) as `[trail, outcome]` so that a failure carries its trail too.
pub fn deliver(
    completions: &Completions,
    id: u32,
    outcome: std::result::Result<Outcome, CoreError>,
    trail: Option<Trail>,
) {
    let settled = Settled(outcome.map(JsResult::pack));
    match trail {
        None => completions.finish(id, settled),
        Some(trail) => completions.finish(id, Traced { trail, settled }),
    }
}

/// `[[fingerprint, route, reason, member, onWriter, failedOverFrom, rows], outcome]`; route and
/// reason null when the statement was never routed, member indexes -1 for none (lib/insights names them from `members()`).
struct Traced {
    trail: Trail,
    settled: Settled<JsResult>,
}

impl ToNapiValue for Traced {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let raw = RawEnv(env);
        let t = &val.trail;
        let index = |i: Option<usize>| raw.number(i.map_or(-1.0, |i| i as f64));
        let trail = raw.array(7)?;
        let fingerprint = match &t.fingerprint_text {
            Some(text) => raw.string(text)?,
            None => raw.null()?,
        };
        raw.set_element(trail, 0, fingerprint)?;
        let name = |n: Option<&str>| n.map_or_else(|| raw.null(), |n| raw.string(n));
        raw.set_element(trail, 1, name(t.route_name())?)?;
        raw.set_element(trail, 2, name(t.reason_name())?)?;
        raw.set_element(trail, 3, index(t.member)?)?;
        raw.set_element(trail, 4, raw.boolean(t.on_writer)?)?;
        raw.set_element(trail, 5, index(t.failed_over_from)?)?;
        raw.set_element(trail, 6, raw.number(t.rows as f64)?)?;
        let out = raw.array(2)?;
        raw.set_element(out, 0, trail)?;
        raw.set_element(out, 1, Settled::to_napi_value(env, val.settled)?)?;
        Ok(out)
    }
}

/// `[{ name, host, port, database }, …]` in member order: what a trail's member indexes name.
pub struct MembersReport<'a>(pub &'a Cluster);

impl ToNapiValue for MembersReport<'_> {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let env = RawEnv(env);
        let members = val.0.members();
        let out = env.array(members.len())?;
        for (i, m) in members.iter().enumerate() {
            let entry = env.object()?;
            let config = m.node().config();
            env.set_str(entry, "name", m.node().name())?;
            env.set_str(entry, "host", &config.host)?;
            env.set_number(entry, "port", f64::from(config.port))?;
            env.set_str(entry, "database", &config.database)?;
            env.set_element(out, i as u32, entry)?;
        }
        Ok(out)
    }
}

/// `getQueryStats()`: one object per fingerprint (see index.d.ts `StatementStats`).
pub struct StatsReport {
    pub statements: Vec<StatementStats>,
    pub member_names: Vec<String>,
}

impl ToNapiValue for StatsReport {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let env = RawEnv(env);
        let out = env.array(val.statements.len())?;
        for (i, s) in val.statements.iter().enumerate() {
            let entry = statement_to_js(env, s, &val.member_names)?;
            env.set_element(out, i as u32, entry)?;
        }
        Ok(out)
    }
}

fn statement_to_js(env: RawEnv, s: &StatementStats, names: &[String]) -> Result<RawValue> {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let out = env.object()?;
    env.set_str(out, "id", &s.id.hex())?;
    env.set_str(out, "fingerprint", &s.text)?;
    env.set_number(out, "calls", s.calls as f64)?;
    env.set_number(out, "errors", s.errors as f64)?;
    env.set_number(out, "rows", s.rows as f64)?;
    env.set_number(out, "totalTimeMs", ms(s.total))?;
    let mean = match s.calls {
        0 => 0.0,
        n => ms(s.total) / n as f64,
    };
    env.set_number(out, "meanTimeMs", mean)?;
    env.set_number(out, "maxTimeMs", ms(s.max))?;
    env.set_number(out, "p50TimeMs", s.p50_ms)?;
    env.set_number(out, "p99TimeMs", s.p99_ms)?;
    // The table keeps no route for a held connection's statements.
    let trail = Trail {
        route: s.route,
        held: s.route.is_none(),
        ..Trail::default()
    };
    env.set_str(out, "route", trail.route_name().unwrap_or_default())?;
    env.set_str(out, "reason", trail.reason_name().unwrap_or_default())?;
    let members = env.object()?;
    for (name, &calls) in names.iter().zip(&s.members) {
        if calls > 0 {
            env.set_number(members, name, calls as f64)?;
        }
    }
    env.set(out, "members", members)?;
    env.set_number(out, "failovers", s.failovers as f64)?;
    Ok(out)
}

/// `getMetrics().queryStats`: `{ fingerprints, capacity, evicted, since }`, or null when off.
pub fn summary_to_js(env: RawEnv, summary: Option<StatsSummary>) -> Result<RawValue> {
    let Some(s) = summary else {
        return env.null();
    };
    let out = env.object()?;
    env.set_number(out, "fingerprints", s.fingerprints as f64)?;
    env.set_number(out, "capacity", s.capacity as f64)?;
    env.set_number(out, "evicted", s.evicted as f64)?;
    env.set_str(out, "since", &iso8601(s.since))?;
    Ok(out)
}
