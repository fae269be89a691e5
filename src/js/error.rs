//! The one place a core error becomes a JS error object.
//!
//! Native calls settle with either their value or an `Error` instance built here ([`Settled`]);
//! the JS facade throws the latter, so every rejection carries node-postgres's fields.

use crate::core::tokio_postgres::error::{DbError, ErrorPosition};
use napi::bindgen_prelude::ToNapiValue;
use napi::{sys, Result};

use super::raw::{RawEnv, RawValue};
use crate::core::error::CoreError;

/// A native call's outcome: its value, or the JS error for it.
pub struct Settled<T>(pub std::result::Result<T, CoreError>);

impl<T: ToNapiValue> ToNapiValue for Settled<T> {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        match val.0 {
            Ok(value) => T::to_napi_value(env, value),
            Err(e) => to_js_error(RawEnv(env), &e),
        }
    }
}

/// The codes of the errors the manager raises itself; server errors carry their SQLSTATE and
/// connection failures Node's socket codes. lib/errors.js uses the same codes for the same
/// conditions found on the JS side.
mod code {
    /// Node's code for an argument of the right type and a wrong value.
    pub const INVALID_ARG_VALUE: &str = "ERR_INVALID_ARG_VALUE";
    pub const CONFIG: &str = "ERR_RRM_CONFIG";
    pub const ENV: &str = "ERR_RRM_ENV";
    pub const UNSUPPORTED: &str = "ERR_RRM_UNSUPPORTED";
    pub const TRANSACTION_CONTROL: &str = "ERR_RRM_TRANSACTION_CONTROL";
    pub const CLOSED: &str = "ERR_RRM_CLOSED";
    pub const CLIENT_RELEASED: &str = "ERR_RRM_CLIENT_RELEASED";
    pub const NO_PRIMARY: &str = "ERR_RRM_NO_PRIMARY";
    pub const OUTCOME_UNKNOWN: &str = "ERR_RRM_OUTCOME_UNKNOWN";
    /// A member's password function failed for a new connection.
    pub const PASSWORD: &str = "ERR_RRM_PASSWORD";
    /// pg's code for a pool whose connections all stayed busy ("timeout exceeded when trying
    /// to connect").
    pub const POOL_TIMEOUT: &str = "ETIMEDOUT";
}

/// Builds the JS error for `err`: pg's `DatabaseError` fields for server errors, a `code` such
/// as `ECONNREFUSED` for connection failures, a `TypeError` for bad config.
pub fn to_js_error(env: RawEnv, err: &CoreError) -> Result<RawValue> {
    let message = err.to_string();
    let coded = |code: &str, type_error: bool| -> Result<RawValue> {
        let e = env.error(&message, type_error)?;
        env.set_str(e, "code", code)?;
        Ok(e)
    };
    match err {
        CoreError::Config(_) => coded(code::CONFIG, true),
        CoreError::Env(_) => coded(code::ENV, true),
        CoreError::Unsupported(_) => coded(code::UNSUPPORTED, true),
        CoreError::TransactionControl => coded(code::TRANSACTION_CONTROL, false),
        CoreError::Closed => coded(code::CLOSED, false),
        CoreError::Released => coded(code::CLIENT_RELEASED, false),
        CoreError::PoolExhausted { .. } => coded(code::POOL_TIMEOUT, false),
        CoreError::Connection { code, .. } => coded(code, false),
        CoreError::Password { .. } => coded(code::PASSWORD, false),
        CoreError::ParameterCount { .. } => {
            // What the server answers pg when the counts differ (a protocol violation).
            let e = env.error(&message, false)?;
            env.set_str(e, "name", "error")?;
            env.set_str(e, "severity", "ERROR")?;
            env.set_str(e, "code", "08P01")?;
            env.set_str(e, "file", "postgres.c")?;
            env.set_str(e, "routine", "exec_bind_message")?;
            Ok(e)
        }
        CoreError::InvalidInput(_) => coded(code::INVALID_ARG_VALUE, true),
        CoreError::Driver(_) => env.error(&message, false),
        // The primary that cannot be reached fails with its connection's code, as with pg.
        CoreError::NoPrimary { cause, .. } => match cause.as_deref() {
            Some(CoreError::Connection { code, .. }) => coded(code, false),
            _ => coded(code::NO_PRIMARY, false),
        },
        CoreError::OutcomeUnknown { .. } => coded(code::OUTCOME_UNKNOWN, false),
        CoreError::Database(db) => database_error(env, db.message(), db),
    }
}

/// pg-protocol's DatabaseError: name 'error', every field present, absent ones undefined.
fn database_error(env: RawEnv, message: &str, db: &DbError) -> Result<RawValue> {
    let e = env.error(message, false)?;
    env.set_str(e, "name", "error")?;
    set_fields(env, e, db)?;
    Ok(e)
}

/// pg-protocol's NoticeMessage (what pg's `notice` event carries): a plain object, name 'notice',
/// with a DatabaseError's fields.
pub fn notice(env: RawEnv, db: &DbError) -> Result<RawValue> {
    let n = env.object()?;
    env.set_str(n, "name", "notice")?;
    env.set_str(n, "message", db.message())?;
    set_fields(env, n, db)?;
    Ok(n)
}

/// The server's error or notice fields, absent ones undefined.
fn set_fields(env: RawEnv, e: RawValue, db: &DbError) -> Result<()> {
    env.set_str(e, "severity", db.severity())?;
    env.set_str(e, "code", db.code().code())?;
    env.set_opt_str(e, "detail", db.detail())?;
    env.set_opt_str(e, "hint", db.hint())?;
    let (position, internal_position, internal_query) = match db.position() {
        Some(ErrorPosition::Original(p)) => (Some(p.to_string()), None, None),
        Some(ErrorPosition::Internal { position, query }) => {
            (None, Some(position.to_string()), Some(query.as_str()))
        }
        None => (None, None, None),
    };
    env.set_opt_str(e, "position", position.as_deref())?;
    env.set_opt_str(e, "internalPosition", internal_position.as_deref())?;
    env.set_opt_str(e, "internalQuery", internal_query)?;
    env.set_opt_str(e, "where", db.where_())?;
    env.set_opt_str(e, "schema", db.schema())?;
    env.set_opt_str(e, "table", db.table())?;
    env.set_opt_str(e, "column", db.column())?;
    env.set_opt_str(e, "dataType", db.datatype())?;
    env.set_opt_str(e, "constraint", db.constraint())?;
    env.set_opt_str(e, "file", db.file())?;
    env.set_opt_str(e, "line", db.line().map(|l| l.to_string()).as_deref())?;
    env.set_opt_str(e, "routine", db.routine())?;
    Ok(())
}
