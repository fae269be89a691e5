//! JS values ⇄ core values, all of them: config objects and parameters in; results, status,
//! metrics and events out.

use std::time::{SystemTime, UNIX_EPOCH};

use napi::bindgen_prelude::{BigInt, FromNapiValue, ToNapiValue, TypeName, ValidateNapiValue};
use napi::{sys, Error, Result, Status, ValueType};

use super::insights::summary_to_js;
use super::pack::{self, Columns};
use super::raw::{RawEnv, RawValue};
use crate::core::client_link::ServerMessage;
use crate::core::cluster::{Causal, MemberStatus};
use crate::core::config::{ConfigValue, Fields};
use crate::core::cursor::Batch;
use crate::core::events::Event;
use crate::core::health::{HealthState, Role};
use crate::core::insights::StatsSummary;
use crate::core::lsn::Lsn;
use crate::core::metrics::MetricsSnapshot;
use crate::core::result::{Field, Outcome, QueryOutput, Reply};
use crate::core::router::{Reason, Route};
use crate::core::values::{Param, Value};

/// A plain JS object read as config fields.
pub struct JsFields(pub Fields);

impl TypeName for JsFields {
    fn type_name() -> &'static str {
        "object"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}
impl ValidateNapiValue for JsFields {}

impl FromNapiValue for JsFields {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        let env = RawEnv(env);
        let names = env.property_names(value)?;
        let mut fields = Vec::new();
        for i in 0..env.array_len(names)? {
            let key = env.element(names, i)?;
            let v = env.property(value, key)?;
            if let Some(v) = config_value(env, v, true)? {
                fields.push((env.get_string(key)?, v));
            }
        }
        Ok(JsFields(fields))
    }
}

/// One JS value as config sees it; `None` for undefined. Arrays and plain objects (such as
/// `ssl`) are read one level deep.
fn config_value(env: RawEnv, v: RawValue, read_arrays: bool) -> Result<Option<ConfigValue>> {
    Ok(Some(match env.type_of(v)? {
        sys::ValueType::napi_undefined => return Ok(None),
        sys::ValueType::napi_null => ConfigValue::Null,
        sys::ValueType::napi_boolean => ConfigValue::Bool(env.get_bool(v)?),
        sys::ValueType::napi_number => ConfigValue::Number(env.get_number(v)?),
        sys::ValueType::napi_string => ConfigValue::String(env.get_string(v)?),
        sys::ValueType::napi_function => ConfigValue::Other("function"),
        // A Buffer (a PEM certificate, say) is read as its text.
        _ if env.is_buffer(v)? => {
            ConfigValue::String(String::from_utf8_lossy(&env.buffer_bytes(v)?).into_owned())
        }
        _ if env.is_array(v)? && read_arrays => {
            let mut items = Vec::new();
            for i in 0..env.array_len(v)? {
                let item = env.element(v, i)?;
                items.push(
                    config_value(env, item, false)?.unwrap_or(ConfigValue::Other("undefined")),
                );
            }
            ConfigValue::List(items)
        }
        _ if env.is_array(v)? => ConfigValue::Other("array"),
        _ if read_arrays => {
            let names = env.property_names(v)?;
            let mut fields = Vec::new();
            for i in 0..env.array_len(names)? {
                let key = env.element(names, i)?;
                let value = env.property(v, key)?;
                if let Some(value) = config_value(env, value, false)? {
                    fields.push((env.get_string(key)?, value));
                }
            }
            ConfigValue::Map(fields)
        }
        _ => ConfigValue::Other("object"),
    }))
}

/// One query parameter from JS.
pub struct JsParam(pub Param);

impl TypeName for JsParam {
    fn type_name() -> &'static str {
        "string | Buffer | null"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}
impl ValidateNapiValue for JsParam {}

/// Parameters arrive already prepared by the facade (pg's `prepareValue`): null, string or Buffer.
impl FromNapiValue for JsParam {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        let env = RawEnv(env);
        match env.type_of(value)? {
            sys::ValueType::napi_null | sys::ValueType::napi_undefined => Ok(JsParam(Param::Null)),
            sys::ValueType::napi_string => Ok(JsParam(Param::Text(env.get_string(value)?))),
            _ if env.is_buffer(value)? => Ok(JsParam(Param::Binary(env.buffer_bytes(value)?))),
            _ => Err(Error::new(
                Status::InvalidArg,
                "a prepared parameter must be a string, a Buffer or null",
            )),
        }
    }
}

/// Unwraps parameters read from JS.
pub fn params(values: Vec<JsParam>) -> Vec<Param> {
    values.into_iter().map(|p| p.0).collect()
}

fn value_to_js(env: RawEnv, value: &Value) -> Result<RawValue> {
    match value {
        Value::Null => env.null(),
        Value::Bool(b) => env.boolean(*b),
        Value::Number(n) => env.number(*n),
        Value::Text(s) | Value::Json(s) => env.string(s),
        // pg gives ±Infinity (numbers) for infinite timestamps.
        Value::Instant(ms) if ms.is_infinite() => env.number(*ms),
        Value::Instant(ms) => env.date(*ms),
        // Read as local time by the facade, which knows the process's time zone.
        Value::LocalTime(ms) => env.number(*ms),
        Value::Bytes(b) => env.buffer(b),
        Value::Point(x, y) => {
            let point = env.object()?;
            env.set_number(point, "x", *x)?;
            env.set_number(point, "y", *y)?;
            Ok(point)
        }
        Value::Circle(x, y, radius) => {
            let circle = env.object()?;
            env.set_number(circle, "x", *x)?;
            env.set_number(circle, "y", *y)?;
            env.set_number(circle, "radius", *radius)?;
            Ok(circle)
        }
        // Resolved by the core before results leave it; bytes as text if one ever slips by.
        Value::ServerText(_, raw) => env.string(&String::from_utf8_lossy(raw)),
        Value::Array(items) => {
            let array = env.array(items.len())?;
            for (i, item) in items.iter().enumerate() {
                env.set_element(array, i as u32, value_to_js(env, item)?)?;
            }
            Ok(array)
        }
    }
}

/// A reply for JS, compact so that the facade, not Node-API, names the properties:
/// `[isBatch, writeLsn, result…]`, `writeLsn` the WAL position covering a tracked write (or
/// null), each result `[command, rowCount, oid, fields, columns]` with `fields` flat (name,
/// tableID, columnID, dataTypeID, dataTypeSize, dataTypeModifier per column) and `columns`
/// either `columns[c][r]` the values or, from [`pack::min_rows`] rows, packed
/// (`[column…, rows]`, see src/js/pack.rs). lib/result.js turns it into pg's Result objects.
pub struct JsResult {
    outcome: Outcome,
    /// Each output's columns, taken out of `outcome`.
    columns: Vec<Columns>,
}

impl JsResult {
    /// Packs the wide results' columns; run on the worker, off the JS thread.
    pub fn pack(mut outcome: Outcome) -> JsResult {
        let min_rows = pack::min_rows();
        let outputs = match &mut outcome.reply {
            Reply::Single(output) => std::slice::from_mut(output),
            Reply::Batch(outputs) => outputs.as_mut_slice(),
        };
        let columns = outputs
            .iter_mut()
            .map(|o| Columns::pack(std::mem::take(&mut o.columns), min_rows))
            .collect();
        JsResult { outcome, columns }
    }
}

impl ToNapiValue for JsResult {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let env = RawEnv(env);
        let (batch, outputs) = match &val.outcome.reply {
            Reply::Single(output) => (false, std::slice::from_ref(output)),
            Reply::Batch(outputs) => (true, outputs.as_slice()),
        };
        let reply = env.array(outputs.len() + 2)?;
        env.set_element(reply, 0, env.boolean(batch)?)?;
        let lsn = match val.outcome.write_lsn {
            Some(lsn) => env.string(&lsn.to_string())?,
            None => env.null()?,
        };
        env.set_element(reply, 1, lsn)?;
        for (i, (output, columns)) in outputs.iter().zip(&val.columns).enumerate() {
            env.set_element(reply, i as u32 + 2, output_to_js(env, output, columns)?)?;
        }
        Ok(reply)
    }
}

fn output_to_js(env: RawEnv, val: &QueryOutput, columns: &Columns) -> Result<RawValue> {
    let out = env.array(5)?;
    let command = match val.command.as_deref() {
        Some(c) => env.string(c)?,
        None => env.null()?,
    };
    let number = |n: Option<f64>| match n {
        Some(n) => env.number(n),
        None => env.null(),
    };
    env.set_element(out, 0, command)?;
    env.set_element(out, 1, number(val.row_count.map(|n| n as f64))?)?;
    env.set_element(out, 2, number(val.oid.map(f64::from))?)?;
    env.set_element(out, 3, fields_to_js(env, &val.fields)?)?;
    env.set_element(out, 4, columns_to_js(env, columns)?)?;
    Ok(out)
}

/// Fields flat: name, tableID, columnID, dataTypeID, dataTypeSize, dataTypeModifier per column.
fn fields_to_js(env: RawEnv, fields: &[Field]) -> Result<RawValue> {
    let out = env.array(fields.len() * 6)?;
    for (i, f) in fields.iter().enumerate() {
        let at = (i * 6) as u32;
        env.set_element(out, at, env.string(&f.name)?)?;
        env.set_element(out, at + 1, env.number(f.table_id.into())?)?;
        env.set_element(out, at + 2, env.number(f.column_id.into())?)?;
        env.set_element(out, at + 3, env.number(f.type_id.into())?)?;
        env.set_element(out, at + 4, env.number(f.type_size.into())?)?;
        env.set_element(out, at + 5, env.number(f.type_modifier.into())?)?;
    }
    Ok(out)
}

/// `columns[c][r]`, each value as pg gives it (or in the form the facade finishes); packed
/// columns as src/js/pack.rs describes them.
fn columns_to_js(env: RawEnv, columns: &Columns) -> Result<RawValue> {
    let columns = match columns {
        Columns::Values(columns) => columns,
        Columns::Packed { rows, columns } => {
            return pack::packed_to_js(env, *rows, columns, value_to_js)
        }
    };
    let out = env.array(columns.len())?;
    for (c, column) in columns.iter().enumerate() {
        let array = env.array(column.len())?;
        for (r, value) in column.iter().enumerate() {
            env.set_element(array, r as u32, value_to_js(env, value)?)?;
        }
        env.set_element(out, c as u32, array)?;
    }
    Ok(out)
}

/// A cursor's batch for JS, compact as [`JsResult`]: `[done, writeLsn, fields, columns]`,
/// `fields` flat as in a result (null after the first batch), `columns` as in a result.
/// lib/cursor.js turns it into rows with lib/result.js.
pub struct JsBatch {
    batch: Batch,
    columns: Columns,
}

impl JsBatch {
    /// Packs a wide batch's columns; run on the worker, off the JS thread.
    pub fn pack(mut batch: Batch) -> JsBatch {
        let columns = Columns::pack(std::mem::take(&mut batch.columns), pack::min_rows());
        JsBatch { batch, columns }
    }
}

impl ToNapiValue for JsBatch {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let env = RawEnv(env);
        let batch = val.batch;
        let out = env.array(4)?;
        env.set_element(out, 0, env.boolean(batch.done)?)?;
        let lsn = match batch.write_lsn {
            Some(lsn) => env.string(&lsn.to_string())?,
            None => env.null()?,
        };
        env.set_element(out, 1, lsn)?;
        let fields = match &batch.fields {
            Some(fields) => fields_to_js(env, fields)?,
            None => env.null()?,
        };
        env.set_element(out, 2, fields)?;
        env.set_element(out, 3, columns_to_js(env, &val.columns)?)?;
        Ok(out)
    }
}

/// `classifyQuery()`'s answer: `{ route: 'replica' | 'primary' | 'reject', reason }`.
pub struct JsRoute(pub Route);

impl ToNapiValue for JsRoute {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let env = RawEnv(env);
        let val = val.0;
        let out = env.object()?;
        env.set_str(out, "route", val.target.as_str())?;
        env.set_str(out, "reason", val.reason.as_str())?;
        Ok(out)
    }
}

/// The guide's `getReplicaStatus()` object: `{ replica_0: { host, port, … }, … }`.
pub struct StatusReport(pub Vec<MemberStatus>);

impl ToNapiValue for StatusReport {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        status_to_js(RawEnv(env), &val.0)
    }
}

fn status_to_js(env: RawEnv, members: &[MemberStatus]) -> Result<RawValue> {
    let out = env.object()?;
    for r in members {
        let entry = env.object()?;
        env.set_str(entry, "host", &r.host)?;
        env.set_number(entry, "port", r.port.into())?;
        env.set_str(entry, "database", &r.database)?;
        env.set(entry, "healthy", env.boolean(r.health.healthy)?)?;
        env.set(entry, "lastHealthCheck", last_check(env, &r.health)?)?;
        env.set_number(entry, "failureCount", r.health.failure_count.into())?;
        env.set_opt_number(
            entry,
            "responseTime",
            r.health.response_time.map(|d| d.as_millis() as f64),
        )?;
        // Beyond the guide's keys: what the last check saw, and whether reads go there.
        env.set_opt_str_or_null(entry, "role", r.health.role.map(Role::as_str))?;
        env.set(entry, "fenced", env.boolean(r.fenced)?)?;
        env.set_opt_number(
            entry,
            "replicationLagBytes",
            r.health.lag_bytes.map(|b| b as f64),
        )?;
        env.set_opt_number(
            entry,
            "replicationLagMs",
            r.health.lag.map(|d| d.as_millis() as f64),
        )?;
        env.set(entry, "lagging", env.boolean(r.health.lagging)?)?;
        env.set(entry, "eligible", env.boolean(r.health.eligible())?)?;
        env.set_number(entry, "queries", r.queries as f64)?;
        env.set_number(entry, "pipelined", r.pipelined as f64)?;
        env.set(out, &r.name, entry)?;
    }
    Ok(out)
}

fn last_check(env: RawEnv, health: &HealthState) -> Result<RawValue> {
    match health.last_check {
        Some(t) => env.string(&iso8601(t)),
        None => env.null(),
    }
}

/// The guide's `getMetrics()` object.
pub struct MetricsReport {
    pub counters: MetricsSnapshot,
    pub replicas: Vec<MemberStatus>,
    /// The member that takes the writes now.
    pub primary: Option<MemberStatus>,
    /// `None` when the stats are off.
    pub query_stats: Option<StatsSummary>,
}

impl ToNapiValue for MetricsReport {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let env = RawEnv(env);
        let out = env.object()?;
        let c = val.counters;
        env.set_number(out, "readQueries", c.read_queries as f64)?;
        env.set_number(out, "writeQueries", c.write_queries as f64)?;
        env.set_number(out, "replicaFailovers", c.replica_failovers as f64)?;
        env.set_number(out, "healthCheckFailures", c.health_check_failures as f64)?;
        env.set_number(out, "replicaCount", val.replicas.len() as f64)?;
        env.set(out, "replicaStatus", status_to_js(env, &val.replicas)?)?;
        env.set_number(out, "misroutedReads", c.misrouted_reads as f64)?;
        env.set_number(
            out,
            "consistencyPrimaryReads",
            c.consistency_primary_reads as f64,
        )?;
        env.set_number(out, "causalWaits", c.causal_waits as f64)?;
        let routes = env.object()?;
        for (reason, count) in Reason::ALL.iter().zip(c.routes) {
            env.set_number(routes, reason.as_str(), count as f64)?;
        }
        env.set(out, "routes", routes)?;
        env.set_number(out, "primaryChanges", c.primary_changes as f64)?;
        env.set(out, "primary", primary_to_js(env, val.primary.as_ref())?)?;
        env.set(out, "queryStats", summary_to_js(env, val.query_stats)?)?;
        Ok(out)
    }
}

/// `getMetrics().primary`: the member that takes the writes now; all null (and not reachable)
/// while none does.
fn primary_to_js(env: RawEnv, primary: Option<&MemberStatus>) -> Result<RawValue> {
    let out = env.object()?;
    let Some(p) = primary else {
        for key in [
            "name",
            "host",
            "port",
            "database",
            "role",
            "lastHealthCheck",
            "timeline",
            "queries",
            "pipelined",
        ] {
            env.set(out, key, env.null()?)?;
        }
        env.set(out, "reachable", env.boolean(false)?)?;
        return Ok(out);
    };
    env.set_str(out, "name", &p.name)?;
    env.set_str(out, "host", &p.host)?;
    env.set_number(out, "port", f64::from(p.port))?;
    env.set_str(out, "database", &p.database)?;
    env.set(out, "reachable", env.boolean(p.health.reachable)?)?;
    env.set_opt_str_or_null(out, "role", p.health.role.map(Role::as_str))?;
    env.set(out, "lastHealthCheck", last_check(env, &p.health)?)?;
    env.set_opt_number(out, "timeline", p.health.timeline.map(f64::from))?;
    env.set_number(out, "queries", p.queries as f64)?;
    env.set_number(out, "pipelined", p.pipelined as f64)?;
    Ok(out)
}

/// A state change, for `options.onEvent` / `options.logger`:
/// `{ type, level, node, address, message, time }`.
/// A notice or notification for a routing client: pg's `notice` message, or its `notification`
/// `{ name, processId, channel, payload }`.
pub struct JsServerMessage(pub ServerMessage);

impl ToNapiValue for JsServerMessage {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let env = RawEnv(env);
        match val.0 {
            ServerMessage::Notice(db) => super::error::notice(env, &db),
            ServerMessage::Notification {
                process_id,
                channel,
                payload,
            } => {
                let out = env.object()?;
                env.set_str(out, "name", "notification")?;
                env.set(out, "processId", env.number(f64::from(process_id))?)?;
                env.set_str(out, "channel", &channel)?;
                env.set_str(out, "payload", &payload)?;
                Ok(out)
            }
        }
    }
}

pub struct JsEvent(pub Event);

impl ToNapiValue for JsEvent {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let env = RawEnv(env);
        let event = val.0;
        let out = env.object()?;
        env.set_str(out, "type", event.kind.as_str())?;
        env.set_str(out, "level", event.kind.level().as_str())?;
        env.set_str(out, "node", &event.node)?;
        env.set_str(out, "address", &event.address)?;
        env.set_str(out, "message", &event.message)?;
        env.set_str(out, "time", &iso8601(event.at))?;
        if let Some(s) = &event.statement {
            env.set_str(out, "fingerprint", &s.fingerprint)?;
            env.set_number(out, "durationMs", s.duration.as_secs_f64() * 1000.0)?;
            env.set_str(out, "route", s.route)?;
            env.set_str(out, "reason", s.reason)?;
            env.set_number(out, "rowCount", s.rows as f64)?;
        }
        Ok(out)
    }
}

/// `2024-01-01T00:00:00.000Z`, as JavaScript's `Date#toISOString` writes it.
pub fn iso8601(t: SystemTime) -> String {
    let ms = t
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000
    )
}

/// Read-your-writes for one query or cursor, as the facade's sessions decided it.
pub fn causal(strong: bool, min_lsn: Option<BigInt>, track: bool) -> Causal {
    Causal {
        strong,
        min_lsn: min_lsn.map(|lsn| Lsn(lsn.get_u64().1)),
        track_write: track,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// ISO strings match `new Date(ms).toISOString()` across leap years and month ends.
    #[test]
    fn iso8601_matches_js() {
        let at = |ms: u64| iso8601(UNIX_EPOCH + Duration::from_millis(ms));
        assert_eq!(at(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(1_704_067_200_000), "2024-01-01T00:00:00.000Z");
        assert_eq!(at(1_709_208_000_123), "2024-02-29T12:00:00.123Z");
        assert_eq!(at(951_782_399_999), "2000-02-28T23:59:59.999Z");
    }
}
