//! Parses and validates node configs and manager options; every default lives here.
//!
//! Input arrives as plain field values (the napi layer reads JS objects into [`Fields`]) and the
//! environment through a lookup function, so validation is pure and every error names the field
//! or variable at fault. No message ever contains a password.

use std::str::FromStr;
use std::time::Duration;

use crate::error::CoreError;
use crate::tls::{split_sslmode, TlsSettings, Verify};

/// One JavaScript value, as far as configuration cares.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigValue {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    /// An array, element by element.
    List(Vec<ConfigValue>),
    /// A plain object, field by field (read one level deep).
    Map(Fields),
    /// Anything else (object, function, …), by its JS type name.
    Other(&'static str),
}

impl ConfigValue {
    fn describe(&self) -> String {
        match self {
            ConfigValue::Null => "null".into(),
            ConfigValue::Bool(b) => b.to_string(),
            ConfigValue::Number(n) => format_number(*n),
            ConfigValue::String(s) => format!("the string {s:?}"),
            ConfigValue::List(_) => "an array".into(),
            ConfigValue::Map(_) => "an object".into(),
            ConfigValue::Other(kind) => format!("a value of type {kind}"),
        }
    }
}

fn format_number(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else {
        n.to_string()
    }
}

/// The own enumerable properties of one JS object; `undefined` values are left out.
pub type Fields = Vec<(String, ConfigValue)>;

/// A validated node: how to connect, and what status may show about it.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub pg: tokio_postgres::Config,
    pub tls: TlsSettings,
    pub host: String,
    pub port: u16,
    pub database: String,
}

/// What a read may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// Any eligible replica (the guide's behaviour).
    Eventual,
    /// Only a replica that has replayed the writes this reader made (else the primary).
    ReadYourWrites,
    /// The primary.
    Strong,
}

impl Consistency {
    pub fn parse(text: &str) -> Option<Consistency> {
        match text {
            "eventual" => Some(Consistency::Eventual),
            "read-your-writes" => Some(Consistency::ReadYourWrites),
            "strong" => Some(Consistency::Strong),
            _ => None,
        }
    }
}

/// Manager-wide options, after environment defaults and validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub pool_max: usize,
    pub pool_min: usize,
    pub connect_timeout: Duration,
    pub idle_timeout: Duration,
    pub health_check_interval: Duration,
    pub health_check_timeout: Duration,
    pub failure_threshold: u32,
    /// Consecutive passing checks that readmit an ejected replica.
    pub recovery_threshold: u32,
    /// How long a read may take on a replica (connecting included) before it is retried on the
    /// primary; `None` waits as long as the read takes.
    pub replica_read_timeout: Option<Duration>,
    /// Replicas further behind than this are not read from until they catch up.
    pub max_replication_lag: Option<Duration>,
    pub max_replication_lag_bytes: Option<u64>,
    /// How long a read may wait for a replica to replay a session's writes before it goes to
    /// the primary instead.
    pub causal_wait: Duration,
    /// The default consistency of reads.
    pub consistency: Consistency,
    /// Added to the router's default write functions.
    pub write_functions: Vec<String>,
    /// Removed from the router's write functions.
    pub read_only_functions: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            pool_max: 10,
            pool_min: 0,
            connect_timeout: Duration::from_millis(30_000),
            idle_timeout: Duration::from_millis(10_000),
            health_check_interval: Duration::from_millis(30_000),
            health_check_timeout: Duration::from_millis(5_000),
            failure_threshold: 3,
            recovery_threshold: 1,
            replica_read_timeout: Some(Duration::from_millis(15_000)),
            max_replication_lag: None,
            max_replication_lag_bytes: None,
            causal_wait: Duration::from_millis(50),
            consistency: Consistency::Eventual,
            write_functions: Vec::new(),
            read_only_functions: Vec::new(),
        }
    }
}

const NODE_KEYS: &[&str] = &[
    "host",
    "port",
    "database",
    "user",
    "password",
    "connectionString",
    "ssl",
    "application_name",
    "statement_timeout",
    "keepAlive",
];

/// Reads one node config. `label` names it in errors (`primaryConfig`, `replicaConfigs[1]`).
pub fn parse_node(
    label: &str,
    fields: &Fields,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<NodeConfig, CoreError> {
    if let Some((key, _)) = fields
        .iter()
        .find(|(k, _)| !NODE_KEYS.contains(&k.as_str()))
    {
        return Err(CoreError::Config(format!(
            "{label}.{key} is not a known connection setting (known: {})",
            NODE_KEYS.join(", ")
        )));
    }
    let field = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .filter(|v| **v != ConfigValue::Null)
    };
    let bad = |key: &str, what: &str| CoreError::Config(format!("{label}.{key} {what}"));
    let string = |key: &str| -> Result<Option<String>, CoreError> {
        match field(key) {
            None => Ok(None),
            Some(ConfigValue::String(s)) => Ok(Some(s.clone())),
            // Never describe a password value.
            Some(_) if key == "password" => Err(bad(key, "must be a string")),
            Some(v) => Err(bad(key, &format!("must be a string, got {}", v.describe()))),
        }
    };

    // tokio-postgres knows only some sslmodes: the TLS settings are taken out and kept here.
    let (url, url_sslmode, url_rootcert) = match string("connectionString")? {
        Some(url) => {
            let (rest, mode, root) = split_sslmode(&url);
            (Some(rest), mode, root)
        }
        None => (None, None, None),
    };
    let mut pg = match url {
        Some(url) => tokio_postgres::Config::from_str(&url).map_err(|_| {
            bad(
                "connectionString",
                "is not a valid PostgreSQL connection string (postgres://user:pass@host:port/db or key=value pairs)",
            )
        })?,
        None => tokio_postgres::Config::new(),
    };
    let from_url = |pg: &tokio_postgres::Config| {
        let host = pg.get_hosts().first().map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        });
        (host, pg.get_ports().first().copied())
    };
    let (url_host, url_port) = from_url(&pg);

    let host = match url_host {
        Some(h) => h,
        None => match string("host")? {
            Some(h) if !h.trim().is_empty() => h,
            Some(_) => return Err(bad("host", "must not be empty")),
            None => return Err(bad("host", "is required")),
        },
    };
    let port = match url_port {
        Some(p) => p,
        None => match field("port") {
            None => 5432,
            Some(ConfigValue::Number(n)) => port_number(*n).ok_or_else(|| {
                bad(
                    "port",
                    &format!(
                        "must be an integer from 1 to 65535, got {}",
                        format_number(*n)
                    ),
                )
            })?,
            Some(ConfigValue::String(s)) => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(port_number)
                .ok_or_else(|| {
                    bad(
                        "port",
                        &format!("must be an integer from 1 to 65535, got {s:?}"),
                    )
                })?,
            Some(v) => {
                return Err(bad(
                    "port",
                    &format!("must be a number, got {}", v.describe()),
                ))
            }
        },
    };
    if pg.get_hosts().is_empty() {
        pg.host(&host);
    }
    if pg.get_ports().is_empty() {
        pg.port(port);
    }

    let user = match pg.get_user() {
        Some(u) => u.to_string(),
        None => string("user")?
            .or_else(|| env("PGUSER"))
            .or_else(|| env("USER"))
            .ok_or_else(|| bad("user", "is required (no PGUSER or USER in the environment)"))?,
    };
    pg.user(&user);
    let database = match pg.get_dbname() {
        Some(d) => d.to_string(),
        None => string("database")?
            .or_else(|| env("PGDATABASE"))
            .unwrap_or_else(|| user.clone()),
    };
    pg.dbname(&database);
    if pg.get_password().is_none() {
        if let Some(p) = string("password")?.or_else(|| env("PGPASSWORD")) {
            pg.password(p);
        }
    }
    if pg.get_application_name().is_none() {
        // Named by default, so its connections can be told apart in pg_stat_activity.
        let name = string("application_name")?.unwrap_or_else(|| "read-replica-manager".into());
        pg.application_name(&name);
    }
    match field("statement_timeout") {
        None => {}
        Some(ConfigValue::Number(n)) if n.is_finite() && *n >= 0.0 => {
            pg.options(format!("-c statement_timeout={}", *n as u64));
        }
        Some(v) => {
            return Err(bad(
                "statement_timeout",
                &format!("must be a number of milliseconds, got {}", v.describe()),
            ))
        }
    }
    let mut tls = match field("ssl") {
        None | Some(ConfigValue::Bool(false)) => TlsSettings::disabled(),
        // pg's `ssl: true`: TLS with the server's certificate checked, host name included.
        Some(ConfigValue::Bool(true)) => TlsSettings::from_sslmode("verify-full").expect("known"),
        Some(ConfigValue::Map(ssl)) => ssl_object(label, ssl)?,
        Some(v) => {
            return Err(bad(
                "ssl",
                &format!(
                    "must be true, false or {{ rejectUnauthorized, ca, cert, key }}, got {}",
                    v.describe()
                ),
            ))
        }
    };
    if let Some(mode) = url_sslmode {
        let from_url = TlsSettings::from_sslmode(&mode).ok_or_else(|| {
            bad(
                "connectionString",
                &format!(
                    "has an unknown sslmode {mode:?} (disable, prefer, require, verify-ca, verify-full)"
                ),
            )
        })?;
        tls = TlsSettings {
            mode: from_url.mode,
            verify: from_url.verify,
            ..tls
        };
    }
    if let Some(path) = url_rootcert {
        tls.ca = Some(std::fs::read_to_string(&path).map_err(|e| {
            bad(
                "connectionString",
                &format!("names sslrootcert {path:?}, which cannot be read: {e}"),
            )
        })?);
    }
    // Bad PEM is a config error now rather than a connection failure later.
    tls.connector()
        .map_err(|e| CoreError::Config(format!("{label}.{e}")))?;
    pg.ssl_mode(tls.mode);
    Ok(NodeConfig {
        pg,
        tls,
        host,
        port,
        database,
    })
}

/// node-postgres's `ssl` object: `{ rejectUnauthorized = true, ca, cert, key }` (PEM strings).
fn ssl_object(label: &str, fields: &Fields) -> Result<TlsSettings, CoreError> {
    let mut tls = TlsSettings::from_sslmode("verify-full").expect("known");
    for (key, value) in fields {
        match (key.as_str(), value) {
            ("rejectUnauthorized", ConfigValue::Bool(check)) => {
                tls.verify = if *check { Verify::Full } else { Verify::Nothing };
            }
            ("ca" | "cert" | "key", ConfigValue::String(pem)) => {
                let slot = match key.as_str() {
                    "ca" => &mut tls.ca,
                    "cert" => &mut tls.cert,
                    _ => &mut tls.key,
                };
                *slot = Some(pem.clone());
            }
            ("ca" | "cert" | "key" | "rejectUnauthorized", ConfigValue::Null) => {}
            ("servername" | "checkServerIdentity", _) => {}
            ("ca" | "cert" | "key", _) => {
                return Err(CoreError::Config(format!(
                    "{label}.ssl.{key} must be a PEM string or Buffer"
                )))
            }
            ("rejectUnauthorized", v) => {
                return Err(CoreError::Config(format!(
                    "{label}.ssl.rejectUnauthorized must be a boolean, got {}",
                    v.describe()
                )))
            }
            (other, _) => {
                return Err(CoreError::Config(format!(
                    "{label}.ssl.{other} is not a known TLS setting (rejectUnauthorized, ca, cert, key)"
                )))
            }
        }
    }
    Ok(tls)
}

fn port_number(n: f64) -> Option<u16> {
    (n.fract() == 0.0 && (1.0..=65535.0).contains(&n)).then_some(n as u16)
}

/// Option key, environment variable, and how to read and store it.
struct OptionSpec {
    key: &'static str,
    env: Option<&'static str>,
    min: f64,
    apply: fn(&mut Options, f64),
}

const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        key: "max",
        env: Some("DB_POOL_MAX"),
        min: 1.0,
        apply: |o, v| o.pool_max = v as usize,
    },
    OptionSpec {
        key: "min",
        env: Some("DB_POOL_MIN"),
        min: 0.0,
        apply: |o, v| o.pool_min = v as usize,
    },
    OptionSpec {
        key: "connectionTimeoutMillis",
        env: Some("DB_POOL_CONNECT_TIMEOUT"),
        min: 1.0,
        apply: |o, v| o.connect_timeout = Duration::from_millis(v as u64),
    },
    OptionSpec {
        key: "idleTimeoutMillis",
        env: Some("DB_POOL_IDLE"),
        min: 1.0,
        apply: |o, v| o.idle_timeout = Duration::from_millis(v as u64),
    },
    OptionSpec {
        key: "healthCheckInterval",
        env: Some("REPLICA_HEALTH_CHECK_INTERVAL"),
        min: 10.0,
        apply: |o, v| o.health_check_interval = Duration::from_millis(v as u64),
    },
    OptionSpec {
        key: "healthCheckTimeout",
        env: None,
        min: 1.0,
        apply: |o, v| o.health_check_timeout = Duration::from_millis(v as u64),
    },
    OptionSpec {
        key: "failureThreshold",
        env: None,
        min: 1.0,
        apply: |o, v| o.failure_threshold = v as u32,
    },
    OptionSpec {
        key: "recoveryThreshold",
        env: None,
        min: 1.0,
        apply: |o, v| o.recovery_threshold = v as u32,
    },
    OptionSpec {
        key: "replicaReadTimeout",
        env: None,
        min: 0.0,
        // 0 turns the limit off.
        apply: |o, v| o.replica_read_timeout = (v > 0.0).then(|| Duration::from_millis(v as u64)),
    },
    OptionSpec {
        key: "causalWaitMs",
        env: None,
        min: 0.0,
        apply: |o, v| o.causal_wait = Duration::from_millis(v as u64),
    },
    OptionSpec {
        key: "maxReplicationLagMs",
        env: None,
        min: 0.0,
        apply: |o, v| o.max_replication_lag = Some(Duration::from_millis(v as u64)),
    },
    OptionSpec {
        key: "maxReplicationLagBytes",
        env: None,
        min: 0.0,
        apply: |o, v| o.max_replication_lag_bytes = Some(v as u64),
    },
];

/// Reads the options: an option given in `fields` wins over its environment variable, which wins
/// over the default.
pub fn parse_options(
    fields: &Fields,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Options, CoreError> {
    let mut options = Options::default();
    for spec in OPTIONS {
        let given = fields.iter().find(|(k, _)| k == spec.key).map(|(_, v)| v);
        let value = match given {
            Some(ConfigValue::Null) | None => {
                match spec.env.and_then(|name| Some((name, env(name)?))) {
                    Some((name, raw)) => Some(
                        whole_number(raw.trim().parse().unwrap_or(f64::NAN), spec.min).ok_or_else(
                            || {
                                CoreError::Config(format!(
                            "environment variable {name} must be a whole number ≥ {}, got {raw:?}",
                            spec.min
                        ))
                            },
                        )?,
                    ),
                    None => None,
                }
            }
            Some(ConfigValue::Number(n)) => Some(whole_number(*n, spec.min).ok_or_else(|| {
                CoreError::Config(format!(
                    "options.{} must be a whole number ≥ {}, got {}",
                    spec.key,
                    spec.min,
                    format_number(*n)
                ))
            })?),
            Some(v) => {
                return Err(CoreError::Config(format!(
                    "options.{} must be a number, got {}",
                    spec.key,
                    v.describe()
                )))
            }
        };
        if let Some(v) = value {
            (spec.apply)(&mut options, v);
        }
    }
    for (key, list) in [
        ("writeFunctions", &mut options.write_functions),
        ("readOnlyFunctions", &mut options.read_only_functions),
    ] {
        if let Some((_, value)) = fields.iter().find(|(k, _)| k == key) {
            *list = function_names(key, value)?;
        }
    }
    match fields
        .iter()
        .find(|(k, _)| k == "consistency")
        .map(|(_, v)| v)
    {
        None | Some(ConfigValue::Null) => {}
        Some(ConfigValue::String(mode)) => {
            options.consistency = Consistency::parse(mode).ok_or_else(|| {
                CoreError::Config(format!(
                    "options.consistency must be 'eventual', 'read-your-writes' or 'strong', got {mode:?}"
                ))
            })?;
        }
        Some(v) => {
            return Err(CoreError::Config(format!(
                "options.consistency must be 'eventual', 'read-your-writes' or 'strong', got {}",
                v.describe()
            )))
        }
    }
    if let Some((key, _)) = fields.iter().find(|(k, _)| {
        !OPTIONS.iter().any(|s| s.key == k)
            && !LIST_OPTIONS.contains(&k.as_str())
            && k != "consistency"
    }) {
        let known: Vec<_> = OPTIONS
            .iter()
            .map(|s| s.key)
            .chain(LIST_OPTIONS.iter().copied())
            .chain(["consistency"])
            .collect();
        return Err(CoreError::Config(format!(
            "options.{key} is not a known option (known: {})",
            known.join(", ")
        )));
    }
    if options.pool_min > options.pool_max {
        return Err(CoreError::Config(format!(
            "options.min ({}) must not exceed options.max ({})",
            options.pool_min, options.pool_max
        )));
    }
    Ok(options)
}

const LIST_OPTIONS: &[&str] = &["writeFunctions", "readOnlyFunctions"];

/// A list of function names, each `name` or `schema.name`, made of identifier characters.
fn function_names(key: &str, value: &ConfigValue) -> Result<Vec<String>, CoreError> {
    let ConfigValue::List(items) = value else {
        return Err(CoreError::Config(format!(
            "options.{key} must be an array of function names, got {}",
            value.describe()
        )));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            ConfigValue::String(name) if is_function_name(name) => Ok(name.clone()),
            other => Err(CoreError::Config(format!(
                "options.{key}[{i}] must be a function name such as \"my_fn\" or \"app.my_fn\", got {}",
                other.describe()
            ))),
        })
        .collect()
}

fn is_function_name(name: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty()
            && !p.starts_with(|c: char| c.is_ascii_digit())
            && p.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
    };
    let mut parts = name.split('.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(f), None, _) => part(f),
        (Some(schema), Some(f), None) => part(schema) && part(f),
        _ => false,
    }
}

fn whole_number(n: f64, min: f64) -> Option<f64> {
    (n.is_finite() && n.fract() == 0.0 && n >= min).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, ConfigValue)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }
    fn s(v: &str) -> ConfigValue {
        ConfigValue::String(v.into())
    }
    fn no_env(_: &str) -> Option<String> {
        None
    }
    fn err(r: Result<impl std::fmt::Debug, CoreError>) -> String {
        match r {
            Err(CoreError::Config(m)) => m,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    /// The guide's primary config is accepted as written.
    #[test]
    fn guide_config_parses() {
        let node = parse_node(
            "primaryConfig",
            &fields(&[
                ("host", s("db.example.com")),
                ("port", ConfigValue::Number(5432.0)),
                ("database", s("app")),
                ("user", s("u")),
                ("password", s("secret")),
            ]),
            &no_env,
        )
        .unwrap();
        assert_eq!((node.host.as_str(), node.port), ("db.example.com", 5432));
        assert_eq!(node.database, "app");
        assert_eq!(node.pg.get_password(), Some(&b"secret"[..]));
    }

    /// Missing host, a non-numeric port and a port out of range each name the field.
    #[test]
    fn bad_fields_are_named() {
        let e = err(parse_node("primaryConfig", &fields(&[]), &no_env));
        assert!(e.contains("primaryConfig.host is required"), "{e}");
        let e = err(parse_node(
            "replicaConfigs[1]",
            &fields(&[("host", s("h")), ("port", ConfigValue::Number(f64::NAN))]),
            &no_env,
        ));
        assert!(
            e.contains("replicaConfigs[1].port") && e.contains("NaN"),
            "{e}"
        );
        let e = err(parse_node(
            "p",
            &fields(&[("host", s("h")), ("port", s("abc"))]),
            &no_env,
        ));
        assert!(e.contains("p.port"), "{e}");
        let e = err(parse_node(
            "p",
            &fields(&[("host", s("h")), ("port", ConfigValue::Number(70000.0))]),
            &no_env,
        ));
        assert!(e.contains("p.port"), "{e}");
    }

    /// Errors about a password, or from a connection string, never echo it.
    #[test]
    fn passwords_never_echoed() {
        let e = err(parse_node(
            "p",
            &fields(&[("host", s("h")), ("password", ConfigValue::Number(12345.0))]),
            &no_env,
        ));
        assert!(!e.contains("12345"), "{e}");
        let e = err(parse_node(
            "p",
            &fields(&[("connectionString", s("postgres://u:hunter2@h:bad/db"))]),
            &no_env,
        ));
        assert!(!e.contains("hunter2"), "{e}");
    }

    /// A connection string supplies every field and wins over the object's own, as in pg.
    #[test]
    fn connection_string() {
        let node = parse_node(
            "p",
            &fields(&[
                ("connectionString", s("postgres://u:pw@dbhost:6000/mydb")),
                ("host", s("ignored")),
            ]),
            &no_env,
        )
        .unwrap();
        assert_eq!((node.host.as_str(), node.port), ("dbhost", 6000));
        assert_eq!(node.database, "mydb");
    }

    /// A port given as a numeric string is read as pg reads it; the user falls back to the env.
    #[test]
    fn defaults_and_coercions() {
        let env = |k: &str| (k == "USER").then(|| "osuser".to_string());
        let node =
            parse_node("p", &fields(&[("host", s("h")), ("port", s("5433"))]), &env).unwrap();
        assert_eq!(node.port, 5433);
        assert_eq!(node.pg.get_user(), Some("osuser"));
        assert_eq!(node.database, "osuser");
    }

    /// Unknown keys are typos until proven otherwise.
    #[test]
    fn unknown_keys_are_rejected() {
        let e = err(parse_node(
            "p",
            &fields(&[("host", s("h")), ("hots", s("x"))]),
            &no_env,
        ));
        assert!(e.contains("p.hots"), "{e}");
        let e = err(parse_options(
            &fields(&[("healthcheckInterval", ConfigValue::Number(5.0))]),
            &no_env,
        ));
        assert!(e.contains("options.healthcheckInterval"), "{e}");
    }

    /// Function lists are validated name by name.
    #[test]
    fn function_lists() {
        let list = |names: &[&str]| ConfigValue::List(names.iter().map(|n| s(n)).collect());
        let o = parse_options(
            &fields(&[
                ("writeFunctions", list(&["audit.log_event", "bump"])),
                ("readOnlyFunctions", list(&["set_config"])),
            ]),
            &no_env,
        )
        .unwrap();
        assert_eq!(o.write_functions, vec!["audit.log_event", "bump"]);
        assert_eq!(o.read_only_functions, vec!["set_config"]);
        let e = err(parse_options(
            &fields(&[("writeFunctions", list(&["ok", "drop table x"]))]),
            &no_env,
        ));
        assert!(e.contains("options.writeFunctions[1]"), "{e}");
        let e = err(parse_options(
            &fields(&[("writeFunctions", s("nextval"))]),
            &no_env,
        ));
        assert!(e.contains("must be an array"), "{e}");
    }

    /// Options override environment variables, which override defaults; bad env values are named.
    #[test]
    fn options_env_and_defaults() {
        let env = |k: &str| match k {
            "DB_POOL_MAX" => Some("50".to_string()),
            "REPLICA_HEALTH_CHECK_INTERVAL" => Some("1000".to_string()),
            _ => None,
        };
        let o = parse_options(&fields(&[("max", ConfigValue::Number(7.0))]), &env).unwrap();
        assert_eq!(o.pool_max, 7);
        assert_eq!(o.health_check_interval, Duration::from_millis(1000));
        assert_eq!(o.failure_threshold, 3);
        let bad_env = |k: &str| (k == "DB_POOL_MIN").then(|| "five".to_string());
        let e = err(parse_options(&fields(&[]), &bad_env));
        assert!(e.contains("DB_POOL_MIN") && e.contains("five"), "{e}");
        let e = err(parse_options(
            &fields(&[("min", ConfigValue::Number(20.0))]),
            &no_env,
        ));
        assert!(e.contains("options.min"), "{e}");
    }
}
