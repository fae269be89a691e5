//! One node's connection settings, read the way node-postgres reads a client config.

use std::str::FromStr;
use std::time::Duration;

use super::password::{PasswordProvider, PasswordSource};
use super::pg_keys::check_keys;
use super::value::{format_number, lookup, port_number, ConfigValue, Fields};
use super::Env;
use crate::error::CoreError;
use crate::tls::{split_sslmode, TlsSettings, Verify};

/// A validated node: how to connect, and what status may show about it.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Everything a connection is opened with; the password too, unless `password` is a
    /// function.
    pub pg: tokio_postgres::Config,
    pub password: PasswordSource,
    pub tls: TlsSettings,
    pub host: String,
    pub port: u16,
    pub database: String,
}

/// One config object being read: its fields, and the label errors name it by.
struct Reader<'a> {
    label: &'a str,
    fields: &'a Fields,
}

impl Reader<'_> {
    fn field(&self, key: &str) -> Option<&ConfigValue> {
        lookup(self.fields, key)
    }

    fn bad(&self, key: &str, what: &str) -> CoreError {
        CoreError::Config(format!("{}.{key} {what}", self.label))
    }

    fn string(&self, key: &str) -> Result<Option<String>, CoreError> {
        match self.field(key) {
            None => Ok(None),
            Some(ConfigValue::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.bad(key, &format!("must be a string, got {}", v.describe()))),
        }
    }

    fn flag(&self, key: &str) -> Result<Option<bool>, CoreError> {
        match self.field(key) {
            None => Ok(None),
            Some(ConfigValue::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.bad(key, &format!("must be a boolean, got {}", v.describe()))),
        }
    }
}

/// What a connection string said besides what tokio-postgres keeps: the sslmode it does not
/// know, and an sslrootcert path.
struct FromUrl {
    pg: tokio_postgres::Config,
    sslmode: Option<String>,
    rootcert: Option<String>,
}

/// Reads one node config. `label` names it in errors (`primaryConfig`, `replicaConfigs[1]`).
/// `password_fn` is the binding's handle on the config's `password` when that is a function.
pub fn parse_node(
    label: &str,
    fields: &Fields,
    env: Env<'_>,
    password_fn: Option<PasswordProvider>,
) -> Result<NodeConfig, CoreError> {
    check_keys(label, fields)?;
    let reader = Reader { label, fields };
    let FromUrl {
        mut pg,
        sslmode,
        rootcert,
    } = connection_string(&reader)?;
    let (host, port) = address(&reader, &mut pg)?;
    let database = identity(&reader, &mut pg, env)?;
    let password = password(&reader, &mut pg, env, password_fn)?;
    session_settings(&reader, &mut pg, env)?;
    socket_settings(&reader, &mut pg)?;
    let tls = tls_settings(&reader, sslmode, rootcert)?;
    pg.ssl_mode(tls.mode);
    Ok(NodeConfig {
        pg,
        password,
        tls,
        host,
        port,
        database,
    })
}

/// `connectionString`, parsed; the TLS settings tokio-postgres does not know are taken out.
fn connection_string(reader: &Reader<'_>) -> Result<FromUrl, CoreError> {
    let Some(url) = reader.string("connectionString")? else {
        return Ok(FromUrl {
            pg: tokio_postgres::Config::new(),
            sslmode: None,
            rootcert: None,
        });
    };
    let (rest, sslmode, rootcert) = split_sslmode(&url);
    let pg = tokio_postgres::Config::from_str(&rest).map_err(|_| {
        reader.bad(
            "connectionString",
            "is not a valid PostgreSQL connection string (postgres://user:pass@host:port/db or key=value pairs)",
        )
    })?;
    Ok(FromUrl {
        pg,
        sslmode,
        rootcert,
    })
}

/// Host and port: the connection string's, else the fields' (port 5432 by default).
fn address(
    reader: &Reader<'_>,
    pg: &mut tokio_postgres::Config,
) -> Result<(String, u16), CoreError> {
    let url_host = pg.get_hosts().first().map(|h| match h {
        tokio_postgres::config::Host::Tcp(h) => h.clone(),
        #[cfg(unix)]
        tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
    });
    let host = match url_host {
        Some(h) => h,
        None => match reader.string("host")? {
            Some(h) if !h.trim().is_empty() => h,
            Some(_) => return Err(reader.bad("host", "must not be empty")),
            None => return Err(reader.bad("host", "is required")),
        },
    };
    let port = match pg.get_ports().first().copied() {
        Some(p) => p,
        None => port(reader)?,
    };
    if pg.get_hosts().is_empty() {
        pg.host(&host);
    }
    if pg.get_ports().is_empty() {
        pg.port(port);
    }
    Ok((host, port))
}

/// `port`: a number, or a numeric string as pg reads it.
fn port(reader: &Reader<'_>) -> Result<u16, CoreError> {
    let out_of_range = |got: String| {
        reader.bad(
            "port",
            &format!("must be an integer from 1 to 65535, got {got}"),
        )
    };
    match reader.field("port") {
        None => Ok(5432),
        Some(ConfigValue::Number(n)) => {
            port_number(*n).ok_or_else(|| out_of_range(format_number(*n)))
        }
        Some(ConfigValue::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(port_number)
            .ok_or_else(|| out_of_range(format!("{s:?}"))),
        Some(v) => Err(reader.bad("port", &format!("must be a number, got {}", v.describe()))),
    }
}

/// User and database, falling back to libpq's environment variables; returns the database.
fn identity(
    reader: &Reader<'_>,
    pg: &mut tokio_postgres::Config,
    env: Env<'_>,
) -> Result<String, CoreError> {
    let user = match pg.get_user() {
        Some(u) => u.to_string(),
        None => reader
            .string("user")?
            .or_else(|| env("PGUSER"))
            .or_else(|| env("USER"))
            .ok_or_else(|| {
                reader.bad("user", "is required (no PGUSER or USER in the environment)")
            })?,
    };
    pg.user(&user);
    let database = match pg.get_dbname() {
        Some(d) => d.to_string(),
        None => reader
            .string("database")?
            .or_else(|| env("PGDATABASE"))
            .unwrap_or_else(|| user.clone()),
    };
    pg.dbname(&database);
    Ok(database)
}

/// The password: the connection string's (which wins, as in pg), else the field's — a string,
/// or a function asked before each new connection — else `PGPASSWORD`. Never described in an
/// error.
fn password(
    reader: &Reader<'_>,
    pg: &mut tokio_postgres::Config,
    env: Env<'_>,
    function: Option<PasswordProvider>,
) -> Result<PasswordSource, CoreError> {
    let field = reader.field("password");
    let expected = "must be a string, or a function (sync or async) that returns one";
    match field {
        None | Some(ConfigValue::String(_) | ConfigValue::Other("function")) => {}
        Some(_) => return Err(reader.bad("password", expected)),
    }
    if pg.get_password().is_some() {
        return Ok(PasswordSource::Fixed);
    }
    match field {
        Some(ConfigValue::String(p)) => {
            pg.password(p.as_str());
        }
        Some(_) => {
            return function.map(PasswordSource::Function).ok_or_else(|| {
                reader.bad("password", "is a function, but none was passed on to call")
            })
        }
        None => {
            if let Some(p) = env("PGPASSWORD") {
                pg.password(p);
            }
        }
    }
    Ok(PasswordSource::Fixed)
}

/// The session's startup settings, as pg sends them: `application_name` (the connection
/// string's, the field, `PGAPPNAME`, `fallback_application_name`, else `read-replica-manager`, so
/// that the manager's connections can be told apart in pg_stat_activity), and `options` with
/// `statement_timeout`, `lock_timeout` and `idle_in_transaction_session_timeout` after it (pg
/// sends those as startup parameters of their own, which also win over `options`).
fn session_settings(
    reader: &Reader<'_>,
    pg: &mut tokio_postgres::Config,
    env: Env<'_>,
) -> Result<(), CoreError> {
    let name = reader.string("application_name")?;
    let fallback = reader.string("fallback_application_name")?;
    if pg.get_application_name().is_none() {
        let given = |n: &String| !n.is_empty();
        let name = name
            .filter(given)
            .or_else(|| env("PGAPPNAME"))
            .filter(given)
            .or(fallback.filter(given))
            .unwrap_or_else(|| "read-replica-manager".into());
        pg.application_name(&name);
    }
    let field_options = reader.string("options")?;
    let mut options: Vec<String> = pg
        .get_options()
        .map(str::to_string)
        .or(field_options)
        .filter(|o| !o.trim().is_empty())
        .into_iter()
        .collect();
    for key in TIMEOUTS {
        if let Some(ms) = timeout_ms(reader, key)? {
            options.push(format!("-c {key}={ms}"));
        }
    }
    if !options.is_empty() {
        pg.options(options.join(" "));
    }
    Ok(())
}

/// The server-side timeouts pg sends at startup, in milliseconds.
const TIMEOUTS: [&str; 3] = [
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
];

/// The largest value these settings take (INT_MAX ms); above it every connection would fail.
const MAX_TIMEOUT_MS: u64 = i32::MAX as u64;

/// A timeout as pg sends it: a number (whole milliseconds, as its `parseInt` reads it) or a
/// numeric string. `0` and `false` send nothing, leaving the server's setting, as in pg.
fn timeout_ms(reader: &Reader<'_>, key: &str) -> Result<Option<u64>, CoreError> {
    let bad = |got: String| {
        reader.bad(
            key,
            &format!("must be a number of milliseconds from 0 to {MAX_TIMEOUT_MS}, got {got}"),
        )
    };
    let ms = match reader.field(key) {
        None | Some(ConfigValue::Bool(false)) => return Ok(None),
        Some(ConfigValue::Number(n)) if *n == 0.0 => return Ok(None),
        Some(ConfigValue::Number(n)) if n.is_finite() && *n > 0.0 => n.trunc() as u64,
        Some(ConfigValue::String(s)) => {
            s.trim().parse::<u64>().map_err(|_| bad(format!("{s:?}")))?
        }
        Some(v) => return Err(bad(v.describe())),
    };
    if ms > MAX_TIMEOUT_MS {
        return Err(bad(ms.to_string()));
    }
    Ok(Some(ms))
}

/// TCP keepalives (`keepAlive`, `keepAliveInitialDelayMillis`; on by default, with the idle time
/// tokio-postgres uses) and SCRAM channel binding (`enableChannelBinding`: `false` never uses it;
/// by default it is used when the server offers it over TLS).
fn socket_settings(reader: &Reader<'_>, pg: &mut tokio_postgres::Config) -> Result<(), CoreError> {
    if let Some(on) = reader.flag("keepAlive")? {
        pg.keepalives(on);
    }
    match reader.field("keepAliveInitialDelayMillis") {
        // Node's setKeepAlive: 0 keeps the system's delay.
        None | Some(ConfigValue::Number(0.0)) => {}
        // The socket takes whole seconds.
        Some(ConfigValue::Number(n)) if n.is_finite() && *n > 0.0 => {
            pg.keepalives_idle(Duration::from_secs(((*n / 1000.0) as u64).max(1)));
        }
        Some(v) => {
            return Err(reader.bad(
                "keepAliveInitialDelayMillis",
                &format!("must be a number of milliseconds ≥ 0, got {}", v.describe()),
            ))
        }
    }
    if let Some(on) = reader.flag("enableChannelBinding")? {
        use tokio_postgres::config::ChannelBinding;
        pg.channel_binding(if on {
            ChannelBinding::Prefer
        } else {
            ChannelBinding::Disable
        });
    }
    Ok(())
}

/// `ssl` as pg takes it, overridden by the connection string's sslmode and sslrootcert.
fn tls_settings(
    reader: &Reader<'_>,
    url_sslmode: Option<String>,
    url_rootcert: Option<String>,
) -> Result<TlsSettings, CoreError> {
    let mut tls = match reader.field("ssl") {
        None | Some(ConfigValue::Bool(false)) => TlsSettings::disabled(),
        // pg's `ssl: true`: TLS with the server's certificate checked, host name included.
        Some(ConfigValue::Bool(true)) => TlsSettings::from_sslmode("verify-full").expect("known"),
        Some(ConfigValue::Map(ssl)) => ssl_object(reader.label, ssl)?,
        Some(v) => {
            return Err(reader.bad(
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
            reader.bad(
                "connectionString",
                &format!("has an unknown sslmode {mode:?} (disable, prefer, require, verify-ca, verify-full)"),
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
            reader.bad(
                "connectionString",
                &format!("names sslrootcert {path:?}, which cannot be read: {e}"),
            )
        })?);
    }
    // Bad PEM is a config error now rather than a connection failure later.
    tls.connector()
        .map_err(|e| CoreError::Config(format!("{}.{e}", reader.label)))?;
    Ok(tls)
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

#[cfg(test)]
mod tests {
    use super::super::value::test_support::*;
    use super::*;

    /// A config without a password function.
    fn parse(label: &str, fields: &Fields, env: Env<'_>) -> Result<NodeConfig, CoreError> {
        parse_node(label, fields, env, None)
    }

    /// The guide's primary config is accepted as written.
    #[test]
    fn guide_config_parses() {
        let node = parse(
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
        let e = err(parse("primaryConfig", &fields(&[]), &no_env));
        assert!(e.contains("primaryConfig.host is required"), "{e}");
        let e = err(parse(
            "replicaConfigs[1]",
            &fields(&[("host", s("h")), ("port", ConfigValue::Number(f64::NAN))]),
            &no_env,
        ));
        assert!(
            e.contains("replicaConfigs[1].port") && e.contains("NaN"),
            "{e}"
        );
        let e = err(parse(
            "p",
            &fields(&[("host", s("h")), ("port", s("abc"))]),
            &no_env,
        ));
        assert!(e.contains("p.port"), "{e}");
        let e = err(parse(
            "p",
            &fields(&[("host", s("h")), ("port", ConfigValue::Number(70000.0))]),
            &no_env,
        ));
        assert!(e.contains("p.port"), "{e}");
    }

    /// Errors about a password, or from a connection string, never echo it.
    #[test]
    fn passwords_never_echoed() {
        let e = err(parse(
            "p",
            &fields(&[("host", s("h")), ("password", ConfigValue::Number(12345.0))]),
            &no_env,
        ));
        assert!(!e.contains("12345"), "{e}");
        let e = err(parse(
            "p",
            &fields(&[("connectionString", s("postgres://u:hunter2@h:bad/db"))]),
            &no_env,
        ));
        assert!(!e.contains("hunter2"), "{e}");
    }

    /// A connection string supplies every field and wins over the object's own, as in pg.
    #[test]
    fn connection_string() {
        let node = parse(
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
        let node = parse("p", &fields(&[("host", s("h")), ("port", s("5433"))]), &env).unwrap();
        assert_eq!(node.port, 5433);
        assert_eq!(node.pg.get_user(), Some("osuser"));
        assert_eq!(node.database, "osuser");
    }

    /// Unknown keys are typos until proven otherwise.
    #[test]
    fn unknown_keys_are_rejected() {
        let e = err(parse(
            "p",
            &fields(&[("host", s("h")), ("hots", s("x"))]),
            &no_env,
        ));
        assert!(e.contains("p.hots"), "{e}");
    }

    fn n(v: f64) -> ConfigValue {
        ConfigValue::Number(v)
    }

    fn with_host(pairs: &[(&str, ConfigValue)]) -> Fields {
        let mut all = vec![("host", s("h")), ("user", s("u"))];
        all.extend(pairs.iter().cloned());
        fields(&all)
    }

    fn provider() -> PasswordProvider {
        std::sync::Arc::new(|_| Box::pin(async { Ok(Some("token".to_string())) }))
    }

    /// A password function is kept to be asked per connection; nothing else is taken for it.
    #[test]
    fn password_function() {
        let function = ConfigValue::Other("function");
        let env = |k: &str| (k == "PGPASSWORD").then(|| "from-env".to_string());
        let node = parse_node(
            "replicaConfigs[0]",
            &with_host(&[("password", function.clone())]),
            &env,
            Some(provider()),
        )
        .unwrap();
        assert!(matches!(node.password, PasswordSource::Function(_)));
        assert_eq!(node.pg.get_password(), None, "no PGPASSWORD fallback");
        // The connection string's password wins, as in pg.
        let node = parse_node(
            "p",
            &fields(&[
                ("connectionString", s("postgres://u:pw@h/db")),
                ("password", function.clone()),
            ]),
            &no_env,
            Some(provider()),
        )
        .unwrap();
        assert!(matches!(node.password, PasswordSource::Fixed));
        assert_eq!(node.pg.get_password(), Some(&b"pw"[..]));
        // A string stays the fast path.
        let node = parse("p", &with_host(&[("password", s("pw"))]), &env).unwrap();
        assert!(matches!(node.password, PasswordSource::Fixed));
        assert_eq!(node.pg.get_password(), Some(&b"pw"[..]));
        let e = err(parse(
            "p",
            &with_host(&[("password", ConfigValue::Bool(true))]),
            &env,
        ));
        assert!(
            e.contains("p.password must be a string, or a function"),
            "{e}"
        );
        let e = err(parse("p", &with_host(&[("password", function)]), &env));
        assert!(e.contains("p.password is a function"), "{e}");
    }

    /// pg's pool keys and the client keys the manager's options govern are accepted, their
    /// types checked; a key pg does not know is still a typo.
    #[test]
    fn pool_and_client_keys() {
        let governed = [
            ("max", n(20.0)),
            ("min", n(2.0)),
            ("idleTimeoutMillis", n(30_000.0)),
            ("connectionTimeoutMillis", n(0.0)),
            ("allowExitOnIdle", ConfigValue::Bool(true)),
            ("maxUses", n(f64::INFINITY)),
            ("maxLifetimeSeconds", n(60.0)),
            ("query_timeout", ConfigValue::Bool(false)),
            ("scramMaxIterations", n(10_000.0)),
            ("binary", ConfigValue::Bool(false)),
            ("client_encoding", s("UTF8")),
            ("types", ConfigValue::Map(vec![])),
            ("Client", ConfigValue::Other("function")),
        ];
        parse("replicaConfigs[0]", &with_host(&governed), &no_env).unwrap();
        for (key, value, says) in [
            (
                "max",
                s("20"),
                "replicaConfigs[0].max must be a number ≥ 0, got the string",
            ),
            (
                "maxUses",
                n(-1.0),
                "replicaConfigs[0].maxUses must be a number ≥ 0, got -1",
            ),
            (
                "allowExitOnIdle",
                n(1.0),
                "replicaConfigs[0].allowExitOnIdle must be a boolean",
            ),
            (
                "query_timeout",
                ConfigValue::Bool(true),
                "query_timeout must be a number ≥ 0 (or false)",
            ),
            (
                "binary",
                ConfigValue::Bool(true),
                "binary is a node-postgres setting read-replica-manager does not support",
            ),
            (
                "client_encoding",
                s("LATIN1"),
                "connections always use UTF8",
            ),
            (
                "onConnect",
                ConfigValue::Other("function"),
                "onConnect is a node-postgres setting",
            ),
            (
                "maxx",
                n(1.0),
                "replicaConfigs[0].maxx is not a known connection setting",
            ),
        ] {
            let e = err(parse(
                "replicaConfigs[0]",
                &with_host(&[(key, value)]),
                &no_env,
            ));
            assert!(e.contains(says), "{key}: {e}");
        }
    }

    /// pg's server-side timeouts and `options` become startup options, the connection string's
    /// `options` first; 0 and false send nothing, as in pg.
    #[test]
    fn startup_settings() {
        let node = parse(
            "p",
            &with_host(&[
                ("statement_timeout", n(1500.9)),
                ("lock_timeout", s("250")),
                ("idle_in_transaction_session_timeout", n(0.0)),
                ("options", s("-c search_path=app")),
            ]),
            &no_env,
        )
        .unwrap();
        assert_eq!(
            node.pg.get_options(),
            Some("-c search_path=app -c statement_timeout=1500 -c lock_timeout=250")
        );
        let node = parse(
            "p",
            &fields(&[
                (
                    "connectionString",
                    s("postgres://u@h/db?options=-c%20work_mem%3D8MB"),
                ),
                ("options", s("-c search_path=ignored")),
                ("idle_in_transaction_session_timeout", n(60_000.0)),
                ("statement_timeout", ConfigValue::Bool(false)),
            ]),
            &no_env,
        )
        .unwrap();
        assert_eq!(
            node.pg.get_options(),
            Some("-c work_mem=8MB -c idle_in_transaction_session_timeout=60000")
        );
        let node = parse("p", &with_host(&[]), &no_env).unwrap();
        assert_eq!(node.pg.get_options(), None);
        for (key, value) in [
            ("statement_timeout", n(-1.0)),
            ("lock_timeout", s("5s")),
            ("statement_timeout", n(3e9)),
            (
                "idle_in_transaction_session_timeout",
                ConfigValue::Bool(true),
            ),
        ] {
            let e = err(parse(
                "replicaConfigs[1]",
                &with_host(&[(key, value)]),
                &no_env,
            ));
            assert!(
                e.contains(&format!(
                    "replicaConfigs[1].{key} must be a number of milliseconds"
                )),
                "{e}"
            );
        }
    }

    /// `application_name`: the field, else PGAPPNAME, else `fallback_application_name`, else
    /// the manager's name.
    #[test]
    fn application_name() {
        let app = |pairs: &[(&str, ConfigValue)], env: Env<'_>| {
            let node = parse("p", &with_host(pairs), env).unwrap();
            node.pg.get_application_name().map(str::to_string)
        };
        let pgappname = |k: &str| (k == "PGAPPNAME").then(|| "from-env".to_string());
        let fallback = ("fallback_application_name", s("fallback"));
        assert_eq!(
            app(&[("application_name", s("api"))], &pgappname).as_deref(),
            Some("api")
        );
        assert_eq!(
            app(std::slice::from_ref(&fallback), &pgappname).as_deref(),
            Some("from-env")
        );
        assert_eq!(
            app(std::slice::from_ref(&fallback), &no_env).as_deref(),
            Some("fallback")
        );
        let empty = ("application_name", s(""));
        assert_eq!(
            app(&[empty, fallback], &pgappname).as_deref(),
            Some("from-env")
        );
        assert_eq!(app(&[], &no_env).as_deref(), Some("read-replica-manager"));
    }

    /// TCP keepalives and channel binding as pg's keys set them.
    #[test]
    fn socket_keys() {
        let node = parse("p", &with_host(&[]), &no_env).unwrap();
        assert!(node.pg.get_keepalives(), "on by default");
        let node = parse(
            "p",
            &with_host(&[
                ("keepAlive", ConfigValue::Bool(false)),
                ("enableChannelBinding", ConfigValue::Bool(false)),
            ]),
            &no_env,
        )
        .unwrap();
        assert!(!node.pg.get_keepalives());
        assert_eq!(
            node.pg.get_channel_binding(),
            tokio_postgres::config::ChannelBinding::Disable
        );
        let node = parse(
            "p",
            &with_host(&[("keepAliveInitialDelayMillis", n(10_000.0))]),
            &no_env,
        )
        .unwrap();
        assert_eq!(node.pg.get_keepalives_idle(), Duration::from_secs(10));
        let e = err(parse("p", &with_host(&[("keepAlive", s("yes"))]), &no_env));
        assert!(e.contains("p.keepAlive must be a boolean"), "{e}");
    }
}
