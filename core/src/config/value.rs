//! The JS values configuration is read from, and how they are described in error messages.

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

/// The own enumerable properties of one JS object; `undefined` values are left out.
pub type Fields = Vec<(String, ConfigValue)>;

impl ConfigValue {
    /// How an error message names the value (never used for passwords).
    pub fn describe(&self) -> String {
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

/// The value of `key` in `fields`, with `null` read as absent.
pub fn lookup<'f>(fields: &'f Fields, key: &str) -> Option<&'f ConfigValue> {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .filter(|v| **v != ConfigValue::Null)
}

pub fn format_number(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else {
        n.to_string()
    }
}

/// `n` when it is a finite whole number of at least `min`.
pub fn whole_number(n: f64, min: f64) -> Option<f64> {
    (n.is_finite() && n.fract() == 0.0 && n >= min).then_some(n)
}

/// A TCP port: a whole number from 1 to 65535.
pub fn port_number(n: f64) -> Option<u16> {
    (n.fract() == 0.0 && (1.0..=65535.0).contains(&n)).then_some(n as u16)
}

/// Builders shared by the config tests.
#[cfg(test)]
pub(super) mod test_support {
    use super::*;
    use crate::error::CoreError;

    pub fn fields(pairs: &[(&str, ConfigValue)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    pub fn s(v: &str) -> ConfigValue {
        ConfigValue::String(v.into())
    }

    pub fn no_env(_: &str) -> Option<String> {
        None
    }

    /// The message of a config or environment error; panics on anything else.
    pub fn err(r: Result<impl std::fmt::Debug, CoreError>) -> String {
        match r {
            Err(CoreError::Config(m) | CoreError::Env(m)) => m,
            other => panic!("expected a config error, got {other:?}"),
        }
    }
}
