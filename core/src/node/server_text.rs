//! The server's own text for values of types without a local text form (money under
//! lc_monetary, reg*, ranges, composites, extension types, …).

use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use tokio_postgres::Client;

use crate::values::Value;

/// A binary value sent back to the server as a parameter of its own type.
#[derive(Debug)]
struct Binary<'a>(&'a [u8]);

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Binary<'_> {
    fn to_sql(&self, _: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        out.extend_from_slice(self.0);
        Ok(IsNull::No)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    fn encode_format(&self, _: &Type) -> tokio_postgres::types::Format {
        tokio_postgres::types::Format::Binary
    }
    to_sql_checked!();
}

/// Parameters per text-conversion statement, well under the protocol's 65535.
const SERVER_TEXT_CHUNK: usize = 1000;

/// Turns every [`Value::ServerText`] into the server's own text for it: the values go back as
/// binary parameters of their types in `SELECT $1::text, …`, one round trip per 1000 values.
/// Should the server refuse, the value falls back to its bytes read as UTF-8 rather than
/// failing the query that produced it.
pub(super) async fn resolve_server_text(conn: &Client, columns: &mut [Vec<Value>]) {
    let mut pending: Vec<(Type, Vec<u8>)> = Vec::new();
    for_each_value(columns, &mut |v| {
        if let Value::ServerText(ty, raw) = v {
            pending.push((ty.clone(), std::mem::take(raw)));
        }
    });
    if pending.is_empty() {
        return;
    }
    let mut texts: Vec<String> = Vec::with_capacity(pending.len());
    for chunk in pending.chunks(SERVER_TEXT_CHUNK) {
        let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}::text")).collect();
        let sql = format!("SELECT {}", list.join(", "));
        let values: Vec<Binary<'_>> = chunk.iter().map(|(_, raw)| Binary(raw)).collect();
        let params: Vec<(&(dyn ToSql + Sync), Type)> = values
            .iter()
            .zip(chunk)
            .map(|(v, (ty, _))| (v as &(dyn ToSql + Sync), ty.clone()))
            .collect();
        match conn.query_typed(&sql, &params).await {
            Ok(rows) if rows.len() == 1 => {
                texts.extend((0..chunk.len()).map(|i| rows[0].get::<_, String>(i)))
            }
            _ => texts.extend(
                chunk
                    .iter()
                    .map(|(_, raw)| String::from_utf8_lossy(raw).into_owned()),
            ),
        }
    }
    let mut texts = texts.into_iter();
    for_each_value(columns, &mut |v| {
        if matches!(v, Value::ServerText(..)) {
            *v = Value::Text(texts.next().unwrap_or_default());
        }
    });
}

/// Visits every value, inside arrays too, in a fixed order.
fn for_each_value(columns: &mut [Vec<Value>], f: &mut impl FnMut(&mut Value)) {
    fn visit(v: &mut Value, f: &mut impl FnMut(&mut Value)) {
        match v {
            Value::Array(items) => items.iter_mut().for_each(|i| visit(i, f)),
            other => f(other),
        }
    }
    columns.iter_mut().flatten().for_each(|v| visit(v, f));
}
