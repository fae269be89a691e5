//! Password functions: a member config's `password` given as a function (node-postgres's way to
//! rotate IAM tokens), called through a thread-safe function before each new connection of that
//! member, wherever the connection is opened (a pool on a tokio thread, the health checker).
//!
//! The facade wraps the user's function first (lib/password.js), so what arrives here returns a
//! Promise that always resolves — to `{ password }` (a string, or undefined for none) or to
//! `{ error }` (a message) — and never throws or rejects: pg's rules for what the function may
//! return live there, in one place. Nothing here can leave an exception pending in Node, and no
//! message made here holds the password.

use std::sync::Arc;

use napi::bindgen_prelude::{FromNapiValue, Promise, ToNapiValue};
use napi::threadsafe_function::ThreadsafeFunction;
use napi::{sys, Result, Status};

use super::raw::RawEnv;
use crate::core::config::{PasswordProvider, PasswordRequest};

/// The facade's wrapper around one password function. Weak: it never keeps Node alive by
/// itself (a query waiting for the connection does).
pub type PasswordFunction =
    ThreadsafeFunction<Request, Promise<Answer>, Request, Status, false, true>;

/// What the function is called with: pg passes its connection parameters.
pub struct Request(PasswordRequest);

impl ToNapiValue for Request {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let env = RawEnv(env);
        let params = env.object()?;
        env.set_str(params, "host", &val.0.host)?;
        env.set_number(params, "port", f64::from(val.0.port))?;
        env.set_str(params, "database", &val.0.database)?;
        env.set_str(params, "user", &val.0.user)?;
        Ok(params)
    }
}

/// What the wrapper's Promise resolves to.
pub struct Answer {
    password: Option<String>,
    error: Option<String>,
}

impl FromNapiValue for Answer {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        let env = RawEnv(env);
        let text = |key: &str| -> Result<Option<String>> {
            let v = env.property(value, env.string(key)?)?;
            Ok(match env.type_of(v)? {
                sys::ValueType::napi_string => Some(env.get_string(v)?),
                _ => None,
            })
        };
        Ok(Answer {
            password: text("password")?,
            error: text("error")?,
        })
    }
}

/// The core's view of a password function: asked with the connection's parameters, it answers
/// the password (or none), or the function's own message for why not.
pub fn provider(function: PasswordFunction) -> PasswordProvider {
    let function = Arc::new(function);
    Arc::new(move |request| {
        let function = function.clone();
        Box::pin(async move {
            let pending = function
                .call_async_catch(Request(request))
                .await
                .map_err(not_called)?;
            match pending.await.map_err(not_called)? {
                Answer {
                    error: Some(message),
                    ..
                } => Err(message),
                Answer { password, .. } => Ok(password),
            }
        })
    })
}

/// Why the function gave no answer at all (the wrapper itself never fails): named by status
/// only, so that nothing the function holds can reach a message.
fn not_called(e: napi::Error) -> String {
    match e.status {
        Status::Closing => "it cannot be called: Node.js is shutting down".into(),
        status => format!("it could not be called ({status})"),
    }
}
