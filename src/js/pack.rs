//! Wide results packed for JS on the worker thread: a column of numbers becomes one
//! `Float64Array`, a column of text one string and its offsets, so that the JS thread makes a
//! handful of Node-API calls per column instead of two per value. lib/result.js (`packedRows`)
//! fills the rows straight from each packed column, with the values the per-value path gives.
//!
//! Only results of at least [`min_rows`] rows are packed: for a point read a typed array costs
//! more than the few values it replaces.

use std::collections::HashMap;
use std::sync::OnceLock;

use napi::Result;

use super::raw::{RawEnv, RawValue};
use crate::core::values::Value;

/// Row count from which results are packed: `RRM_PACK_MIN_ROWS` (0 turns packing off), else 8.
pub fn min_rows() -> usize {
    static MIN: OnceLock<usize> = OnceLock::new();
    *MIN.get_or_init(|| {
        match std::env::var("RRM_PACK_MIN_ROWS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
        {
            Some(0) => usize::MAX,
            Some(n) => n,
            None => 8,
        }
    })
}

/// Text columns larger than this stay per value: a value sliced from the column's string keeps
/// the whole string alive (V8 sliced strings), so the column string is kept small.
const MAX_TEXT_BYTES: usize = 1 << 20;

/// The kinds, as lib/result.js reads them (`[kind, …]` per column).
pub const KIND_VALUES: u32 = 0;
pub const KIND_NUMBERS: u32 = 1;
pub const KIND_INSTANTS: u32 = 2;
pub const KIND_BOOLS: u32 = 3;
pub const KIND_TEXT: u32 = 4;
pub const KIND_DICT: u32 = 5;
pub const KIND_NULLS: u32 = 6;

/// One column as it crosses to JS.
#[derive(Debug, PartialEq)]
pub enum Column {
    /// Values one by one, as the per-value path sends them (`[0, values]`).
    Values(Vec<Value>),
    /// `Number` or `LocalTime` values (`[1, Float64Array, nullRows | null]`).
    Numbers { values: Vec<f64>, nulls: Vec<u32> },
    /// `Instant` values: JS makes a Date of each finite one (`[2, Float64Array, nullRows | null]`).
    Instants { values: Vec<f64>, nulls: Vec<u32> },
    /// 0 false, 1 true, 2 null (`[3, Uint8Array]`).
    Bools(Vec<u8>),
    /// `Text` or `Json` values concatenated; `ends[r]` is the UTF-16 offset where row `r` ends
    /// (`[4, string, Uint32Array, nullRows | null]`).
    Text {
        text: String,
        ends: Vec<u32>,
        nulls: Vec<u32>,
    },
    /// Few distinct strings: each once, and the index of each row's (`[5, strings, Uint32Array]`,
    /// a null value a null entry).
    Dict {
        strings: Vec<Option<String>>,
        index: Vec<u32>,
    },
    /// Nothing but nulls (`[6]`).
    Nulls,
}

/// A result's columns for JS: per value below `min_rows` rows (or with no columns), else packed.
#[derive(Debug, PartialEq)]
pub enum Columns {
    Values(Vec<Vec<Value>>),
    Packed { rows: usize, columns: Vec<Column> },
}

impl Columns {
    pub fn pack(columns: Vec<Vec<Value>>, min_rows: usize) -> Columns {
        let rows = columns.first().map_or(0, Vec::len);
        if columns.is_empty() || rows < min_rows {
            return Columns::Values(columns);
        }
        Columns::Packed {
            rows,
            columns: columns.into_iter().map(pack_column).collect(),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Numbers,
    Instants,
    Bools,
    Text,
}

fn kind_of(value: &Value) -> Option<Kind> {
    Some(match value {
        Value::Number(_) | Value::LocalTime(_) => Kind::Numbers,
        Value::Instant(_) => Kind::Instants,
        Value::Bool(_) => Kind::Bools,
        Value::Text(_) | Value::Json(_) => Kind::Text,
        _ => return None,
    })
}

/// One column packed by the kind of its values; mixed or other values stay per value.
pub fn pack_column(column: Vec<Value>) -> Column {
    let mut kind = None;
    for value in &column {
        if matches!(value, Value::Null) {
            continue;
        }
        match (kind, kind_of(value)) {
            (_, None) => return Column::Values(column),
            (None, k) => kind = k,
            (Some(k), Some(v)) if k == v => {}
            _ => return Column::Values(column),
        }
    }
    match kind {
        None => Column::Nulls,
        Some(Kind::Numbers) => {
            let (values, nulls) = floats(&column);
            Column::Numbers { values, nulls }
        }
        Some(Kind::Instants) => {
            let (values, nulls) = floats(&column);
            Column::Instants { values, nulls }
        }
        Some(Kind::Bools) => Column::Bools(
            column
                .iter()
                .map(|v| match v {
                    Value::Bool(b) => u8::from(*b),
                    _ => 2,
                })
                .collect(),
        ),
        Some(Kind::Text) => text(column),
    }
}

fn floats(column: &[Value]) -> (Vec<f64>, Vec<u32>) {
    let mut nulls = Vec::new();
    let values = column
        .iter()
        .enumerate()
        .map(|(r, v)| match v {
            Value::Number(n) | Value::LocalTime(n) | Value::Instant(n) => *n,
            _ => {
                nulls.push(r as u32);
                0.0
            }
        })
        .collect();
    (values, nulls)
}

fn as_str(value: &Value) -> Option<&str> {
    match value {
        Value::Text(s) | Value::Json(s) => Some(s),
        _ => None,
    }
}

/// A text column: a dictionary when at most a quarter of the rows are distinct, else one
/// string with offsets (or per value when that string would be large).
fn text(column: Vec<Value>) -> Column {
    if let Some(dict) = dict(&column) {
        return dict;
    }
    let bytes: usize = column.iter().filter_map(as_str).map(str::len).sum();
    if bytes > MAX_TEXT_BYTES {
        return Column::Values(column);
    }
    let mut text = String::with_capacity(bytes);
    let mut ends = Vec::with_capacity(column.len());
    let mut nulls = Vec::new();
    let mut end = 0u32;
    for (r, value) in column.iter().enumerate() {
        match as_str(value) {
            Some(s) => {
                text.push_str(s);
                end += if s.is_ascii() {
                    s.len() as u32
                } else {
                    s.chars().map(|c| c.len_utf16() as u32).sum()
                };
            }
            None => nulls.push(r as u32),
        }
        ends.push(end);
    }
    Column::Text { text, ends, nulls }
}

fn dict(column: &[Value]) -> Option<Column> {
    let limit = column.len() / 4;
    let mut seen: HashMap<Option<&str>, u32> = HashMap::new();
    let mut index = Vec::with_capacity(column.len());
    for value in column {
        let key = as_str(value);
        let next = seen.len() as u32;
        let at = *seen.entry(key).or_insert(next);
        if seen.len() > limit {
            return None;
        }
        index.push(at);
    }
    let mut strings = vec![None; seen.len()];
    for (key, at) in seen {
        strings[at as usize] = key.map(str::to_owned);
    }
    Some(Column::Dict { strings, index })
}

/// `[kind, …]` per column and the row count last: `[column…, rows]`.
pub fn packed_to_js(
    env: RawEnv,
    rows: usize,
    columns: &[Column],
    value_to_js: fn(RawEnv, &Value) -> Result<RawValue>,
) -> Result<RawValue> {
    let out = env.array(columns.len() + 1)?;
    for (c, column) in columns.iter().enumerate() {
        env.set_element(out, c as u32, column_to_js(env, column, value_to_js)?)?;
    }
    env.set_element(out, columns.len() as u32, env.number(rows as f64)?)?;
    Ok(out)
}

fn column_to_js(
    env: RawEnv,
    column: &Column,
    value_to_js: fn(RawEnv, &Value) -> Result<RawValue>,
) -> Result<RawValue> {
    let kind = |k: u32| env.number(f64::from(k));
    let nulls = |rows: &[u32]| {
        if rows.is_empty() {
            env.null()
        } else {
            env.u32_array(rows)
        }
    };
    let parts = match column {
        Column::Values(values) => {
            let array = env.array(values.len())?;
            for (r, value) in values.iter().enumerate() {
                env.set_element(array, r as u32, value_to_js(env, value)?)?;
            }
            vec![kind(KIND_VALUES)?, array]
        }
        Column::Numbers { values, nulls: n } => {
            vec![kind(KIND_NUMBERS)?, env.f64_array(values)?, nulls(n)?]
        }
        Column::Instants { values, nulls: n } => {
            vec![kind(KIND_INSTANTS)?, env.f64_array(values)?, nulls(n)?]
        }
        Column::Bools(values) => vec![kind(KIND_BOOLS)?, env.u8_array(values)?],
        Column::Text {
            text,
            ends,
            nulls: n,
        } => {
            let text = if text.is_ascii() {
                env.string_latin1(text.as_bytes())?
            } else {
                env.string(text)?
            };
            vec![kind(KIND_TEXT)?, text, env.u32_array(ends)?, nulls(n)?]
        }
        Column::Dict { strings, index } => {
            let array = env.array(strings.len())?;
            for (i, s) in strings.iter().enumerate() {
                let s = match s {
                    Some(s) => env.string(s)?,
                    None => env.null()?,
                };
                env.set_element(array, i as u32, s)?;
            }
            vec![kind(KIND_DICT)?, array, env.u32_array(index)?]
        }
        Column::Nulls => vec![kind(KIND_NULLS)?],
    };
    let out = env.array(parts.len())?;
    for (i, part) in parts.into_iter().enumerate() {
        env.set_element(out, i as u32, part)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(s.to_owned())
    }

    #[test]
    fn below_the_threshold_values_stay() {
        let columns = vec![vec![Value::Number(1.0), Value::Number(2.0)]];
        assert_eq!(
            Columns::pack(columns.clone(), 3),
            Columns::Values(columns.clone())
        );
        assert_eq!(
            Columns::pack(columns, 2),
            Columns::Packed {
                rows: 2,
                columns: vec![Column::Numbers {
                    values: vec![1.0, 2.0],
                    nulls: vec![]
                }]
            }
        );
        assert_eq!(Columns::pack(vec![], 0), Columns::Values(vec![]));
    }

    #[test]
    fn numbers_keep_their_bits_and_nulls() {
        let column = vec![
            Value::Number(-0.0),
            Value::Null,
            Value::Number(f64::NAN),
            Value::LocalTime(f64::NEG_INFINITY),
        ];
        let Column::Numbers { values, nulls } = pack_column(column) else {
            panic!("not numbers")
        };
        assert_eq!(values[0].to_bits(), (-0.0f64).to_bits());
        assert!(values[2].is_nan());
        assert_eq!(values[3], f64::NEG_INFINITY);
        assert_eq!(nulls, vec![1]);
    }

    #[test]
    fn instants_bools_and_nulls() {
        assert_eq!(
            pack_column(vec![Value::Instant(f64::INFINITY), Value::Null]),
            Column::Instants {
                values: vec![f64::INFINITY, 0.0],
                nulls: vec![1]
            }
        );
        assert_eq!(
            pack_column(vec![Value::Bool(true), Value::Null, Value::Bool(false)]),
            Column::Bools(vec![1, 2, 0])
        );
        assert_eq!(pack_column(vec![Value::Null, Value::Null]), Column::Nulls);
    }

    #[test]
    fn mixed_or_other_values_stay() {
        let mixed = vec![Value::Number(1.0), text("1")];
        assert_eq!(pack_column(mixed.clone()), Column::Values(mixed));
        let bytes = vec![Value::Null, Value::Bytes(vec![1])];
        assert_eq!(pack_column(bytes.clone()), Column::Values(bytes));
        let instants_and_numbers = vec![Value::Instant(1.0), Value::Number(1.0)];
        assert_eq!(
            pack_column(instants_and_numbers.clone()),
            Column::Values(instants_and_numbers)
        );
    }

    #[test]
    fn text_ends_count_utf16_units() {
        let column = vec![text("ab"), text(""), Value::Null, text("é𝄞"), text("x")];
        assert_eq!(
            pack_column(column),
            Column::Text {
                text: "abé𝄞x".to_owned(),
                // é is one UTF-16 unit, 𝄞 two.
                ends: vec![2, 2, 2, 5, 6],
                nulls: vec![2],
            }
        );
    }

    #[test]
    fn repeated_text_is_a_dictionary() {
        let mut column = Vec::new();
        for i in 0..12 {
            column.push(match i % 3 {
                0 => text("a"),
                1 => Value::Null,
                _ => Value::Json("{}".to_owned()),
            });
        }
        assert_eq!(
            pack_column(column),
            Column::Dict {
                strings: vec![Some("a".to_owned()), None, Some("{}".to_owned())],
                index: vec![0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2],
            }
        );
        // Four distinct in twelve rows is more than a quarter: one string.
        let column: Vec<Value> = (0..12).map(|i| text(&(i % 4).to_string())).collect();
        assert!(matches!(pack_column(column), Column::Text { .. }));
    }

    #[test]
    fn large_text_stays_per_value() {
        let big = "x".repeat(MAX_TEXT_BYTES / 4 + 1);
        let column: Vec<Value> = (0..4).map(|i| text(&format!("{big}{i}"))).collect();
        assert!(matches!(pack_column(column), Column::Values(_)));
    }
}
