//! PostgreSQL values ⇄ node-postgres's value model: parameters out, binary results in, by OID.
//!
//! Parameters are sent as text (Buffers as binary), exactly as node-postgres sends them, so the
//! server infers and parses types the same way. Results arrive in binary; each column is decoded
//! by its type into a [`Value`] that the napi layer turns into the JS value pg would give.

use std::error::Error;

use bytes::BytesMut;
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, Kind, ToSql, Type};

type BoxError = Box<dyn Error + Sync + Send>;

/// One bound parameter, already in node-postgres's wire form (see `prepareValue` in pg).
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Null,
    Text(String),
    Binary(Vec<u8>),
}

impl ToSql for Param {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Param::Null => return Ok(IsNull::Yes),
            Param::Text(s) => out.extend_from_slice(s.as_bytes()),
            Param::Binary(b) => out.extend_from_slice(b),
        }
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn encode_format(&self, _: &Type) -> tokio_postgres::types::Format {
        match self {
            Param::Binary(_) => tokio_postgres::types::Format::Binary,
            _ => tokio_postgres::types::Format::Text,
        }
    }

    to_sql_checked!();
}

/// A decoded result value. Dates without a time zone stay naive so the JS side can read them
/// in local time, as pg does.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
    /// JSON text, parsed on the JS side.
    Json(String),
    /// Milliseconds since the Unix epoch (timestamptz); ±infinity as ±Infinity.
    Instant(f64),
    /// Milliseconds since the epoch of a wall-clock time with no zone (timestamp, date).
    LocalTime(f64),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
}

/// A column's raw bytes, taken from a row without conversion.
pub struct Raw<'a>(pub Option<&'a [u8]>);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Raw(Some(raw)))
    }
    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Raw(None))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Microseconds between 1970-01-01 and PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_MS: f64 = 946_684_800_000.0;

/// Decodes one binary value of type `ty`.
pub fn decode(ty: &Type, raw: Option<&[u8]>) -> Result<Value, BoxError> {
    let Some(raw) = raw else {
        return Ok(Value::Null);
    };
    Ok(match *ty {
        Type::BOOL => Value::Bool(bool::from_sql(ty, raw)?),
        Type::INT2 => Value::Number(i16::from_sql(ty, raw)? as f64),
        Type::INT4 => Value::Number(i32::from_sql(ty, raw)? as f64),
        Type::OID => Value::Number(u32::from_sql(ty, raw)? as f64),
        Type::FLOAT4 => Value::Number(f32::from_sql(ty, raw)? as f64),
        Type::FLOAT8 => Value::Number(f64::from_sql(ty, raw)?),
        Type::INT8 => Value::Text(i64::from_sql(ty, raw)?.to_string()),
        Type::NUMERIC => Value::Text(numeric_to_string(raw)?),
        Type::UUID => Value::Text(uuid_to_string(raw)?),
        Type::JSON => Value::Json(utf8(raw)?),
        Type::JSONB => match raw.split_first() {
            Some((1, text)) => Value::Json(utf8(text)?),
            _ => return Err("unsupported jsonb version".into()),
        },
        Type::TIMESTAMPTZ => Value::Instant(timestamp_ms(raw)?),
        Type::TIMESTAMP => Value::LocalTime(timestamp_ms(raw)?),
        Type::DATE => Value::LocalTime(date_ms(raw)?),
        Type::BYTEA => Value::Bytes(raw.to_vec()),
        Type::CHAR => Value::Text(utf8(raw)?),
        _ => match ty.kind() {
            Kind::Array(member) => decode_array(member, raw)?,
            Kind::Domain(base) => decode(base, Some(raw))?,
            // Text-like types (text, varchar, bpchar, name, enums, xml, citext, …) send their
            // text as their binary form. Types with another binary form are the type issue's.
            _ => match std::str::from_utf8(raw) {
                Ok(s) => Value::Text(s.to_string()),
                Err(_) => Value::Bytes(raw.to_vec()),
            },
        },
    })
}

fn utf8(raw: &[u8]) -> Result<String, BoxError> {
    Ok(std::str::from_utf8(raw)?.to_string())
}

fn be_i64(raw: &[u8]) -> Result<i64, BoxError> {
    Ok(i64::from_be_bytes(
        raw.try_into().map_err(|_| "bad int8 length")?,
    ))
}

fn timestamp_ms(raw: &[u8]) -> Result<f64, BoxError> {
    Ok(match be_i64(raw)? {
        i64::MAX => f64::INFINITY,
        i64::MIN => f64::NEG_INFINITY,
        micros => PG_EPOCH_MS + (micros.div_euclid(1000)) as f64,
    })
}

fn date_ms(raw: &[u8]) -> Result<f64, BoxError> {
    let days = i32::from_be_bytes(raw.try_into().map_err(|_| "bad date length")?);
    Ok(match days {
        i32::MAX => f64::INFINITY,
        i32::MIN => f64::NEG_INFINITY,
        d => PG_EPOCH_MS + d as f64 * 86_400_000.0,
    })
}

fn uuid_to_string(raw: &[u8]) -> Result<String, BoxError> {
    if raw.len() != 16 {
        return Err("bad uuid length".into());
    }
    let mut s = String::with_capacity(36);
    for (i, b) in raw.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    Ok(s)
}

/// NUMERIC's binary form (base-10000 digits with weight, sign and display scale) as its text.
fn numeric_to_string(raw: &[u8]) -> Result<String, BoxError> {
    let word = |i: usize| -> Result<i16, BoxError> {
        raw.get(i * 2..i * 2 + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "numeric value too short".into())
    };
    let ndigits = word(0)? as usize;
    let weight = word(1)? as i32;
    let sign = word(2)? as u16;
    let dscale = word(3)? as u16 as usize;
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        _ => {}
    }
    let digits = (0..ndigits)
        .map(|i| word(4 + i))
        .collect::<Result<Vec<_>, _>>()?;
    let digit = |i: i32| -> i16 {
        if i < 0 {
            0
        } else {
            digits.get(i as usize).copied().unwrap_or(0)
        }
    };
    let mut s = String::new();
    if sign == 0x4000 {
        s.push('-');
    }
    if weight < 0 {
        s.push('0');
    } else {
        for i in 0..=weight {
            if i == 0 {
                s.push_str(&digit(i).to_string());
            } else {
                s.push_str(&format!("{:04}", digit(i)));
            }
        }
    }
    if dscale > 0 {
        s.push('.');
        let start = s.len();
        let mut i = weight + 1;
        while s.len() - start < dscale {
            s.push_str(&format!("{:04}", digit(i)));
            i += 1;
        }
        s.truncate(start + dscale);
    }
    Ok(s)
}

/// The binary array format: dimensions, then each element length-prefixed (-1 for NULL).
fn decode_array(member: &Type, raw: &[u8]) -> Result<Value, BoxError> {
    let mut reader = Reader { raw, at: 0 };
    let ndim = reader.int()?;
    let _has_null = reader.int()?;
    let _element_oid = reader.int()?;
    if ndim <= 0 {
        return Ok(Value::Array(Vec::new()));
    }
    let mut dims = Vec::with_capacity(ndim as usize);
    for _ in 0..ndim {
        dims.push(reader.int()?.max(0) as usize);
        let _lower_bound = reader.int()?;
    }
    let total: usize = dims.iter().product();
    let mut elements = Vec::with_capacity(total);
    for _ in 0..total {
        let len = reader.int()?;
        elements.push(if len < 0 {
            Value::Null
        } else {
            decode(member, Some(reader.take(len as usize)?))?
        });
    }
    Ok(nest(&dims, &mut elements.into_iter()))
}

/// A cursor over a binary value.
struct Reader<'a> {
    raw: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BoxError> {
        let bytes = self
            .raw
            .get(self.at..self.at + n)
            .ok_or("binary value too short")?;
        self.at += n;
        Ok(bytes)
    }
    fn int(&mut self) -> Result<i32, BoxError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

fn nest(dims: &[usize], elements: &mut impl Iterator<Item = Value>) -> Value {
    match dims.split_first() {
        Some((&n, [])) => Value::Array(elements.take(n).collect()),
        Some((&n, rest)) => Value::Array((0..n).map(|_| nest(rest, elements)).collect()),
        None => Value::Array(Vec::new()),
    }
}

/// `dataTypeSize` as PostgreSQL's RowDescription reports it (pg_type.typlen).
pub fn type_size(ty: &Type) -> i16 {
    match *ty {
        Type::BOOL | Type::CHAR => 1,
        Type::INT2 => 2,
        Type::INT4 | Type::OID | Type::FLOAT4 | Type::DATE | Type::XID | Type::CID => 4,
        Type::REGPROC | Type::REGCLASS | Type::REGTYPE | Type::REGPROCEDURE => 4,
        Type::INT8 | Type::FLOAT8 | Type::TIMESTAMP | Type::TIMESTAMPTZ | Type::TIME => 8,
        Type::MONEY | Type::MACADDR8 | Type::PG_LSN => 8,
        Type::TID | Type::MACADDR => 6,
        Type::TIMETZ => 12,
        Type::UUID | Type::INTERVAL | Type::POINT => 16,
        Type::NAME => 64,
        Type::CSTRING => -2,
        _ => -1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(ndigits: i16, weight: i16, sign: u16, dscale: u16, digits: &[i16]) -> Vec<u8> {
        let mut v = Vec::new();
        for w in [ndigits, weight, sign as i16, dscale as i16] {
            v.extend_from_slice(&w.to_be_bytes());
        }
        for d in digits {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    /// NUMERIC text keeps its scale, sign and leading zeros as PostgreSQL prints them.
    #[test]
    fn numeric_text() {
        let cases: &[(Vec<u8>, &str)] = &[
            (numeric(2, 0, 0, 2, &[12, 3400]), "12.34"),
            (numeric(1, 1, 0, 0, &[1]), "10000"),
            (numeric(1, -1, 0x4000, 5, &[5]), "-0.00050"),
            (numeric(1, -2, 0, 6, &[12]), "0.000000"),
            (numeric(0, 0, 0, 3, &[]), "0.000"),
            (numeric(0, 0, 0xC000, 0, &[]), "NaN"),
            (numeric(3, 1, 0, 1, &[1, 0, 5000]), "10000.5"),
        ];
        for (raw, want) in cases {
            assert_eq!(numeric_to_string(raw).unwrap(), *want);
        }
    }

    /// UUIDs print lower-case with hyphens at 8-4-4-4-12.
    #[test]
    fn uuid_text() {
        let raw: Vec<u8> = (0u8..16).collect();
        assert_eq!(
            uuid_to_string(&raw).unwrap(),
            "00010203-0405-0607-0809-0a0b0c0d0e0f"
        );
    }

    /// Two-dimensional arrays nest, and NULL elements stay null.
    #[test]
    fn arrays_nest_with_nulls() {
        let mut raw = Vec::new();
        for w in [2i32, 1, 23, 2, 1, 2, 1] {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        for v in [Some(1i32), None, Some(3), Some(4)] {
            match v {
                Some(n) => {
                    raw.extend_from_slice(&4i32.to_be_bytes());
                    raw.extend_from_slice(&n.to_be_bytes());
                }
                None => raw.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        let n = |x: f64| Value::Number(x);
        assert_eq!(
            decode_array(&Type::INT4, &raw).unwrap(),
            Value::Array(vec![
                Value::Array(vec![n(1.0), Value::Null]),
                Value::Array(vec![n(3.0), n(4.0)]),
            ])
        );
    }

    /// Timestamps count from 2000-01-01; infinity stays infinite.
    #[test]
    fn timestamps() {
        assert_eq!(timestamp_ms(&0i64.to_be_bytes()).unwrap(), PG_EPOCH_MS);
        assert_eq!(
            timestamp_ms(&i64::MAX.to_be_bytes()).unwrap(),
            f64::INFINITY
        );
        assert_eq!(
            date_ms(&1i32.to_be_bytes()).unwrap(),
            PG_EPOCH_MS + 86_400_000.0
        );
        assert_eq!(
            decode(&Type::INT8, Some(&(-5i64).to_be_bytes())).unwrap(),
            Value::Text("-5".into())
        );
    }
}
