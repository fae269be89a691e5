//! Every key node-postgres (pg's `Client` and pg-pool's `Pool`) takes in a config object, and
//! what a member config does with each: honoured (read in [`super::node`]), governed by the
//! manager's options, kept by the JS facade, or refused because it has no counterpart here. A
//! key pg does not know is refused as a likely typo.

use super::value::{ConfigValue, Fields};
use crate::error::CoreError;

/// Keys that shape this member's connections; [`super::node`] reads each one.
pub const HONOURED: &[&str] = &[
    "host",
    "port",
    "database",
    "user",
    "password",
    "connectionString",
    "ssl",
    "application_name",
    "fallback_application_name",
    "options",
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "keepAlive",
    "keepAliveInitialDelayMillis",
    "enableChannelBinding",
];

/// What a key that is checked but not used must hold.
#[derive(Clone, Copy)]
enum Expect {
    /// A number ≥ 0 (`Infinity` too: pg-pool's `maxUses` default).
    Count,
    /// A number ≥ 0, or `false` (pg's default for its timeouts).
    CountOrFalse,
    Flag,
}

/// Pool and client settings that the manager's options govern for every member alike (the pool
/// size, its timeouts) or that have no counterpart here and change nothing when left out:
/// accepted as pg takes them, their type checked, their value not used. README, "Configuration",
/// says which option governs each.
const GOVERNED: &[(&str, Expect)] = &[
    ("max", Expect::Count),
    ("min", Expect::Count),
    ("idleTimeoutMillis", Expect::Count),
    ("connectionTimeoutMillis", Expect::Count),
    ("allowExitOnIdle", Expect::Flag),
    ("maxUses", Expect::Count),
    ("maxLifetimeSeconds", Expect::Count),
    ("query_timeout", Expect::CountOrFalse),
    ("scramMaxIterations", Expect::Count),
    // In pg.defaults, where pg reads them; in a config pg ignores them too.
    ("rows", Expect::Count),
    ("parseInputDatesAsUTC", Expect::Flag),
    // pg-native's (libpq's) spellings, in pg.defaults: connectionTimeoutMillis and keepAlive.
    ("connect_timeout", Expect::Count),
    ("keepalives", Expect::Count),
    ("keepalives_idle", Expect::Count),
];

/// JavaScript-only keys: the facade checks them and takes them out before a config reaches the
/// core (lib/config.js), so here they are only known by name.
const FACADE: &[&str] = &["types", "Client", "Promise", "log"];

/// pg settings with no counterpart here whose use would change behaviour: each is accepted at
/// pg's default (as a config copied from `pg.defaults` holds it) and refused otherwise, saying
/// why. `(key, whether the value is the default, why)`.
type Unsupported = (&'static str, fn(&ConfigValue) -> bool, &'static str);

const UNSUPPORTED: &[Unsupported] = &[
    (
        "binary",
        |v| *v == ConfigValue::Bool(false),
        "results always come in node-postgres's default text forms",
    ),
    (
        "client_encoding",
        |v| matches!(v, ConfigValue::String(s) if s.is_empty() || is_utf8(s)),
        "connections always use UTF8",
    ),
    (
        "replication",
        |v| *v == ConfigValue::Bool(false),
        "replication connections cannot be pooled",
    ),
    (
        "pipeline",
        |v| *v == ConfigValue::Bool(false),
        "statements are sent one at a time",
    ),
    (
        "sslnegotiation",
        |v| matches!(v, ConfigValue::String(s) if s == "postgres"),
        "TLS is negotiated the traditional way (SSLRequest)",
    ),
    (
        "stream",
        |_| false,
        "connections are opened by the native core, not on a given socket",
    ),
    (
        "connection",
        |_| false,
        "connections are opened by the native core, not on a given socket",
    ),
    (
        "lookup",
        |_| false,
        "host names are resolved by the native core",
    ),
    (
        "verify",
        |_| false,
        "new connections are not handed to JavaScript before use",
    ),
    (
        "onConnect",
        |_| false,
        "new connections are not handed to JavaScript before use",
    ),
];

fn is_utf8(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "utf8" | "utf-8" | "unicode"
    )
}

/// Checks every key of a member config named `label`: an unknown key or an unsupported setting
/// is an error naming it, and so is a governed key of the wrong type. The honoured keys are left
/// to their readers.
pub fn check_keys(label: &str, fields: &Fields) -> Result<(), CoreError> {
    for (key, value) in fields {
        let key = key.as_str();
        if HONOURED.contains(&key) || FACADE.contains(&key) || *value == ConfigValue::Null {
            continue;
        }
        if let Some((_, expect)) = GOVERNED.iter().find(|(k, _)| *k == key) {
            check_governed(label, key, value, *expect)?;
        } else if let Some((_, is_default, why)) = UNSUPPORTED.iter().find(|(k, ..)| *k == key) {
            if !is_default(value) {
                return Err(CoreError::Config(format!(
                    "{label}.{key} is a node-postgres setting read-replica-manager does not \
                     support ({why}); got {}",
                    value.describe()
                )));
            }
        } else {
            let known: Vec<&str> = HONOURED
                .iter()
                .chain(GOVERNED.iter().map(|(k, _)| k))
                .chain(FACADE)
                .copied()
                .collect();
            return Err(CoreError::Config(format!(
                "{label}.{key} is not a known connection setting (known: {})",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

fn check_governed(
    label: &str,
    key: &str,
    value: &ConfigValue,
    expect: Expect,
) -> Result<(), CoreError> {
    let ok = match (expect, value) {
        (Expect::Count | Expect::CountOrFalse, ConfigValue::Number(n)) => *n >= 0.0,
        (Expect::CountOrFalse, ConfigValue::Bool(false)) => true,
        (Expect::Flag, ConfigValue::Bool(_)) => true,
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let wanted = match expect {
        Expect::Count => "a number ≥ 0",
        Expect::CountOrFalse => "a number ≥ 0 (or false)",
        Expect::Flag => "a boolean",
    };
    Err(CoreError::Config(format!(
        "{label}.{key} must be {wanted}, got {}",
        value.describe()
    )))
}
