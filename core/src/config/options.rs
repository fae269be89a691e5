//! The manager's options: each option's key, environment variable, bounds and default.

use std::time::Duration;

use super::value::{format_number, lookup, whole_number, ConfigValue, Fields};
use super::Env;
use crate::error::CoreError;

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

    pub fn as_str(self) -> &'static str {
        match self {
            Consistency::Eventual => "eventual",
            Consistency::ReadYourWrites => "read-your-writes",
            Consistency::Strong => "strong",
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
    /// Fingerprints the statement stats keep (0: no stats).
    pub query_stats_size: usize,
    /// Statements at least this long raise a `slow-query` event.
    pub slow_query: Option<Duration>,
    /// Fingerprints (the top by total time) in the Prometheus text.
    pub prometheus_top_queries: usize,
    /// Plain statements one pooled connection carries at once while the pool is busy (below 2:
    /// each statement has a connection of its own).
    pub pipeline_depth: usize,
    /// Brisk statements one connection gathers before another is used, at most
    /// `pipeline_depth` (below 2: they take an idle connection first, like every statement).
    pub brisk_depth: usize,
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
            query_stats_size: 500,
            slow_query: None,
            prometheus_top_queries: 0,
            pipeline_depth: 16,
            brisk_depth: 8,
        }
    }
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
    OptionSpec {
        key: "queryStatsSize",
        env: None,
        min: 0.0,
        // 0 turns the stats off.
        apply: |o, v| o.query_stats_size = v as usize,
    },
    OptionSpec {
        key: "slowQueryMs",
        env: None,
        min: 0.0,
        apply: |o, v| o.slow_query = Some(Duration::from_millis(v as u64)),
    },
    OptionSpec {
        key: "prometheusTopQueries",
        env: None,
        min: 0.0,
        apply: |o, v| o.prometheus_top_queries = v as usize,
    },
    OptionSpec {
        key: "pipelineDepth",
        env: None,
        min: 0.0,
        // 0 and 1: no connection is shared.
        apply: |o, v| o.pipeline_depth = v as usize,
    },
    OptionSpec {
        key: "briskDepth",
        env: None,
        min: 0.0,
        // 0 and 1: brisk statements take idle connections first.
        apply: |o, v| o.brisk_depth = v as usize,
    },
];

/// Reads the options: an option given in `fields` wins over its environment variable, which wins
/// over the default.
pub fn parse_options(fields: &Fields, env: Env<'_>) -> Result<Options, CoreError> {
    if let Some((key, _)) = fields.iter().find(|(k, _)| !is_known(k)) {
        let known: Vec<_> = OPTIONS
            .iter()
            .map(|s| s.key)
            .chain(LIST_OPTIONS.iter().copied())
            .chain([CONSISTENCY])
            .collect();
        return Err(CoreError::Config(format!(
            "options.{key} is not a known option (known: {})",
            known.join(", ")
        )));
    }
    let mut options = Options::default();
    for spec in OPTIONS {
        if let Some(v) = numeric_option(spec, lookup(fields, spec.key), env)? {
            (spec.apply)(&mut options, v);
        }
    }
    for (key, list) in [
        ("writeFunctions", &mut options.write_functions),
        ("readOnlyFunctions", &mut options.read_only_functions),
    ] {
        if let Some(value) = lookup(fields, key) {
            *list = function_names(key, value)?;
        }
    }
    if let Some(value) = lookup(fields, CONSISTENCY) {
        options.consistency = consistency(value)?;
    }
    if options.pool_min > options.pool_max {
        return Err(CoreError::Config(format!(
            "options.min ({}) must not exceed options.max ({})",
            options.pool_min, options.pool_max
        )));
    }
    Ok(options)
}

const CONSISTENCY: &str = "consistency";

fn is_known(key: &str) -> bool {
    OPTIONS.iter().any(|s| s.key == key) || LIST_OPTIONS.contains(&key) || key == CONSISTENCY
}

/// A numeric option's value: given, else from its environment variable, else `None`.
fn numeric_option(
    spec: &OptionSpec,
    given: Option<&ConfigValue>,
    env: Env<'_>,
) -> Result<Option<f64>, CoreError> {
    match given {
        Some(ConfigValue::Number(n)) => whole_number(*n, spec.min).map(Some).ok_or_else(|| {
            CoreError::Config(format!(
                "options.{} must be a whole number ≥ {}, got {}",
                spec.key,
                spec.min,
                format_number(*n)
            ))
        }),
        Some(v) => Err(CoreError::Config(format!(
            "options.{} must be a number, got {}",
            spec.key,
            v.describe()
        ))),
        None => {
            let Some((name, raw)) = spec.env.and_then(|name| Some((name, env(name)?))) else {
                return Ok(None);
            };
            let n = raw.trim().parse().unwrap_or(f64::NAN);
            whole_number(n, spec.min).map(Some).ok_or_else(|| {
                CoreError::Env(format!(
                    "environment variable {name} must be a whole number ≥ {}, got {raw:?}",
                    spec.min
                ))
            })
        }
    }
}

fn consistency(value: &ConfigValue) -> Result<Consistency, CoreError> {
    let expected = "options.consistency must be 'eventual', 'read-your-writes' or 'strong'";
    match value {
        ConfigValue::String(mode) => Consistency::parse(mode)
            .ok_or_else(|| CoreError::Config(format!("{expected}, got {mode:?}"))),
        v => Err(CoreError::Config(format!(
            "{expected}, got {}",
            v.describe()
        ))),
    }
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

#[cfg(test)]
mod tests {
    use super::super::value::test_support::*;
    use super::*;

    /// Unknown options are typos until proven otherwise.
    #[test]
    fn unknown_options_are_rejected() {
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
