//! PostgreSQL values ⇄ node-postgres's value model: parameters out, binary results in, by OID.
//!
//! Parameters are sent as text (Buffers as binary), exactly as node-postgres sends them, so the
//! server infers and parses types the same way. Results arrive in binary; each column is decoded
//! by its type into a [`Value`] that the napi layer turns into the JS value pg would give.

use std::error::Error;

use bytes::BytesMut;
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, Kind, ToSql, Type};

use crate::text;

type BoxError = Box<dyn Error + Sync + Send>;

/// One bound parameter, already in node-postgres's wire form (see `prepareValue` in pg).
#[derive(Debug, Clone, PartialEq, Hash)]
pub enum Param {
    Null,
    Text(String),
    Binary(Vec<u8>),
}

impl Param {
    /// Bytes the value takes on the wire.
    pub fn wire_len(&self) -> usize {
        match self {
            Param::Null => 0,
            Param::Text(s) => s.len(),
            Param::Binary(b) => b.len(),
        }
    }
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
    /// pg's `{ x, y }` for point.
    Point(f64, f64),
    /// pg's `{ x, y, radius }` for circle.
    Circle(f64, f64, f64),
    /// A value whose text form only the server can write (money follows lc_monetary, reg*
    /// types name catalog rows, extension types have no known encoding): the connection that
    /// returned it is asked for `$1::text`, and this becomes [`Value::Text`].
    ServerText(Type, Vec<u8>),
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

/// Array types node-postgres 8 (pg-types 2.2) parses into JS arrays; every other array type
/// reaches JS as its text literal, as in pg.
const PARSED_ARRAYS: &[u32] = &[
    1000, 1001, 1005, 1007, 1028, 1016, 1017, 1021, 1022, 1231, 1014, 1015, 1008, 1009, 1040, 1041,
    651, 1115, 1182, 1185, 1187, 199, 3807, 3907, 2951, 791, 1183, 1270,
];

/// Decodes one binary value of type `ty` into what node-postgres 8 returns for it.
///
/// This is the whole type mapping (README, "Results, types and errors"):
///
/// | PostgreSQL | JS (pg) | here |
/// |---|---|---|
/// | bool | boolean | local |
/// | int2, int4, oid, float4, float8 | number | local (float4 via its shortest decimal) |
/// | int8, numeric | string | local |
/// | text, varchar, bpchar, name, "char", xml, unknown, enums, citext | string | local |
/// | uuid | string | local |
/// | json, jsonb | parsed | text here, `JSON.parse` in JS |
/// | date, timestamp | Date, local time | naive ms here, local Date in JS |
/// | timestamptz | Date | local |
/// | interval | PostgresInterval | postgres-style text here, postgres-interval in JS |
/// | bytea | Buffer | local |
/// | point, circle | `{ x, y }`, `{ x, y, radius }` | local |
/// | time, timetz, inet, cidr, macaddr, macaddr8, bit, varbit, pg_lsn, tid, xid, xid8, cid, void | text form | local text encoder |
/// | money, reg*, ranges, multiranges, tsvector, tsquery, line, lseg, box, path, polygon, snapshots, named composites, extension types | text form | server text (one extra round trip) |
/// | anonymous record | text form | local record_out of its fields |
/// | arrays pg parses (`PARSED_ARRAYS`) | arrays of the element mapping; numeric[] gives numbers | local |
/// | other arrays | the array's text literal | server text |
/// | domains | as their base type (the server reports the base type) | — |
pub fn decode(ty: &Type, raw: Option<&[u8]>) -> Result<Value, BoxError> {
    let Some(raw) = raw else {
        return Ok(Value::Null);
    };
    Ok(match *ty {
        Type::BOOL => Value::Bool(bool::from_sql(ty, raw)?),
        Type::INT2 => Value::Number(i16::from_sql(ty, raw)? as f64),
        Type::INT4 => Value::Number(i32::from_sql(ty, raw)? as f64),
        Type::OID => Value::Number(u32::from_sql(ty, raw)? as f64),
        // float4 prints as its shortest decimal, which pg then reads as a double.
        Type::FLOAT4 => Value::Number(f32::from_sql(ty, raw)?.to_string().parse()?),
        Type::FLOAT8 => Value::Number(f64::from_sql(ty, raw)?),
        Type::INT8 => Value::Text(i64::from_sql(ty, raw)?.to_string()),
        Type::NUMERIC => Value::Text(numeric_to_string(raw)?),
        Type::UUID => Value::Text(uuid_to_string(raw)?),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::XML | Type::UNKNOWN => {
            Value::Text(utf8(raw)?)
        }
        Type::CHAR => Value::Text(text::char(raw)),
        Type::JSON => Value::Json(utf8(raw)?),
        Type::JSONB => match raw.split_first() {
            Some((1, text)) => Value::Json(utf8(text)?),
            _ => return Err("unsupported jsonb version".into()),
        },
        Type::TIMESTAMPTZ => Value::Instant(timestamp_ms(raw)?),
        Type::TIMESTAMP => Value::LocalTime(timestamp_ms(raw)?),
        Type::DATE => Value::LocalTime(date_ms(raw)?),
        Type::BYTEA => Value::Bytes(raw.to_vec()),
        Type::INTERVAL => Value::Text(text::interval(raw)?),
        Type::TIME => Value::Text(text::time(raw)?),
        Type::TIMETZ => Value::Text(text::timetz(raw)?),
        Type::INET | Type::CIDR => Value::Text(text::inet(raw)?),
        Type::MACADDR | Type::MACADDR8 => Value::Text(text::macaddr(raw)),
        Type::BIT | Type::VARBIT => Value::Text(text::bits(raw)?),
        Type::PG_LSN => Value::Text(text::lsn(raw)?),
        Type::TID => Value::Text(text::tid(raw)?),
        Type::XID | Type::CID => Value::Text(u32::from_sql(&Type::OID, raw)?.to_string()),
        Type::XID8 => Value::Text(u64::from_be_bytes(fixed(raw)?).to_string()),
        Type::VOID => Value::Text(String::new()),
        Type::POINT => {
            let [x, y] = floats(raw)?;
            Value::Point(x, y)
        }
        Type::CIRCLE => {
            let [x, y, r] = floats(raw)?;
            Value::Circle(x, y, r)
        }
        Type::RECORD => Value::Text(anonymous_record(raw)?),
        _ => match ty.kind() {
            Kind::Array(member) if PARSED_ARRAYS.contains(&ty.oid()) => decode_array(member, raw)?,
            Kind::Enum(_) => Value::Text(utf8(raw)?),
            Kind::Domain(base) => decode(base, Some(raw))?,
            // citext sends its text; known by name since extension OIDs differ per database.
            Kind::Simple if ty.name() == "citext" => Value::Text(utf8(raw)?),
            _ => Value::ServerText(ty.clone(), raw.to_vec()),
        },
    })
}

/// Decodes one binary value of type `ty` into the text node-postgres's text protocol would have
/// received for it: what a custom type parser is given. Text that does not depend on the
/// session's settings is written here; the rest (timestamps and dates under DateStyle and
/// TimeZone, intervals under IntervalStyle, bytea under bytea_output, money, geometry, arrays)
/// is the server's own text, asked for on the connection that returned it.
pub fn decode_text(ty: &Type, raw: Option<&[u8]>) -> Result<Value, BoxError> {
    let Some(raw) = raw else {
        return Ok(Value::Null);
    };
    Ok(match *ty {
        Type::BOOL => Value::Text(if bool::from_sql(ty, raw)? { "t" } else { "f" }.into()),
        Type::INT2 => Value::Text(i16::from_sql(ty, raw)?.to_string()),
        Type::INT4 => Value::Text(i32::from_sql(ty, raw)?.to_string()),
        Type::OID => Value::Text(u32::from_sql(ty, raw)?.to_string()),
        Type::FLOAT4 => Value::Text(float_text(f32::from_sql(ty, raw)?)),
        Type::FLOAT8 => Value::Text(float_text(f64::from_sql(ty, raw)?)),
        Type::JSON => Value::Text(utf8(raw)?),
        Type::JSONB => match raw.split_first() {
            Some((1, text)) => Value::Text(utf8(text)?),
            _ => return Err("unsupported jsonb version".into()),
        },
        Type::TIMESTAMPTZ | Type::TIMESTAMP | Type::DATE | Type::INTERVAL | Type::BYTEA => {
            Value::ServerText(ty.clone(), raw.to_vec())
        }
        Type::POINT | Type::CIRCLE => Value::ServerText(ty.clone(), raw.to_vec()),
        _ => match ty.kind() {
            Kind::Array(_) => Value::ServerText(ty.clone(), raw.to_vec()),
            Kind::Domain(base) => decode_text(base, Some(raw))?,
            // Everything else already decodes to its text (or to the server's).
            _ => decode(ty, Some(raw))?,
        },
    })
}

/// An array element: as [`decode`], except that numeric elements become numbers, as
/// pg-types' parseFloatArray makes them.
fn decode_element(member: &Type, raw: Option<&[u8]>) -> Result<Value, BoxError> {
    match (member, raw) {
        (&Type::NUMERIC, Some(raw)) => {
            let text = numeric_to_string(raw)?;
            Ok(Value::Number(text.parse().unwrap_or(f64::NAN)))
        }
        _ => decode(member, raw),
    }
}

fn fixed<const N: usize>(raw: &[u8]) -> Result<[u8; N], BoxError> {
    raw.try_into().map_err(|_| "unexpected value length".into())
}

fn floats<const N: usize>(raw: &[u8]) -> Result<[f64; N], BoxError> {
    let mut out = [0f64; N];
    for (i, v) in out.iter_mut().enumerate() {
        let bytes = raw
            .get(i * 8..i * 8 + 8)
            .ok_or("geometric value too short")?;
        *v = f64::from_be_bytes(fixed(bytes)?);
    }
    Ok(out)
}

/// An anonymous record (`SELECT ROW(1, 'a')`): each field's own text form, quoted as
/// record_out does. The server cannot read such a value back, so this is local; fields of
/// types without a local text form fall back to their bytes as UTF-8.
fn anonymous_record(raw: &[u8]) -> Result<String, BoxError> {
    let mut reader = Reader { raw, at: 0 };
    let count = reader.int()?.max(0) as usize;
    let mut fields = Vec::with_capacity(count);
    for _ in 0..count {
        let oid = reader.int()? as u32;
        let len = reader.int()?;
        if len < 0 {
            fields.push(None);
            continue;
        }
        let bytes = reader.take(len as usize)?;
        let ty = Type::from_oid(oid).unwrap_or(Type::UNKNOWN);
        fields.push(Some(field_text(&ty, bytes)));
    }
    Ok(text::record(&fields))
}

/// The text form of one field inside a record, as the type's output function writes it.
fn field_text(ty: &Type, raw: &[u8]) -> String {
    let text = match *ty {
        Type::BOOL => Some(if raw.first() == Some(&1) { "t" } else { "f" }.to_string()),
        Type::FLOAT4 => f32::from_sql(ty, raw).ok().map(float_text),
        Type::FLOAT8 => f64::from_sql(ty, raw).ok().map(float_text),
        Type::BYTEA => Some(format!(
            "\\x{}",
            raw.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )),
        _ => match decode(ty, Some(raw)) {
            Ok(Value::Text(t)) => Some(t),
            Ok(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        },
    };
    text.unwrap_or_else(|| String::from_utf8_lossy(raw).into_owned())
}

/// float4/float8 as float8out writes them (shortest round-trip, `e+NN` exponents).
fn float_text(v: impl Into<f64> + std::fmt::Display + std::fmt::LowerExp + Copy) -> String {
    let f: f64 = v.into();
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let plain = v.to_string();
    let exp = f.abs().log10().floor();
    if f != 0.0 && !(-4.0..15.0).contains(&exp) {
        let sci = format!("{v:e}");
        let (mantissa, e) = sci.split_once('e').unwrap_or((&sci, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{mantissa}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    plain
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
    // Elements are decoded as pg-types parses them inside an array.
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
            decode_element(member, Some(reader.take(len as usize)?))?
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

/// `dataTypeSize` as PostgreSQL's RowDescription reports it (pg_type.typlen). tokio-postgres
/// does not pass typlen on, so this is known for built-in types and enums; other non-built-in
/// types report -1 (variable length), which is right for nearly all of them.
pub fn type_size(ty: &Type) -> i16 {
    if let Kind::Enum(_) = ty.kind() {
        return 4;
    }
    match *ty {
        Type::BOOL | Type::CHAR => 1,
        Type::INT2 => 2,
        Type::INT4 | Type::OID | Type::FLOAT4 | Type::DATE | Type::XID | Type::CID => 4,
        Type::REGPROC | Type::REGPROCEDURE | Type::REGOPER | Type::REGOPERATOR => 4,
        Type::REGCLASS | Type::REGTYPE | Type::REGROLE | Type::REGNAMESPACE => 4,
        Type::REGCONFIG | Type::REGDICTIONARY | Type::REGCOLLATION | Type::VOID => 4,
        Type::INT8 | Type::FLOAT8 | Type::TIMESTAMP | Type::TIMESTAMPTZ | Type::TIME => 8,
        Type::MONEY | Type::MACADDR8 | Type::PG_LSN | Type::XID8 => 8,
        Type::TID | Type::MACADDR => 6,
        Type::TIMETZ | Type::ACLITEM => 12,
        Type::UUID | Type::INTERVAL | Type::POINT => 16,
        Type::CIRCLE | Type::LINE => 24,
        Type::BOX | Type::LSEG => 32,
        Type::NAME => 64,
        Type::CSTRING | Type::UNKNOWN => -2,
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
