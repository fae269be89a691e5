//! Text forms of binary values, written as PostgreSQL's own output functions write them (with
//! the default DateStyle ISO and IntervalStyle postgres), for types node-postgres returns as text.

use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

type BoxError = Box<dyn std::error::Error + Sync + Send>;

fn array<const N: usize>(raw: &[u8], what: &str) -> Result<[u8; N], BoxError> {
    raw.get(..N)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("{what} value too short").into())
}

/// `HH:MM:SS[.ffffff]` from microseconds, trailing fractional zeros trimmed (AppendSeconds).
fn clock(out: &mut String, micros: i64) {
    let micros = micros.unsigned_abs();
    let secs = micros / 1_000_000;
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    fraction(out, micros % 1_000_000);
}

fn fraction(out: &mut String, fsec: u64) {
    if fsec != 0 {
        let digits = format!("{fsec:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

/// time: microseconds since midnight.
pub fn time(raw: &[u8]) -> Result<String, BoxError> {
    let mut out = String::with_capacity(15);
    clock(&mut out, i64::from_be_bytes(array(raw, "time")?));
    Ok(out)
}

/// timetz: microseconds since midnight, then the zone as seconds *west* of UTC.
pub fn timetz(raw: &[u8]) -> Result<String, BoxError> {
    let mut out = time(raw)?;
    let west = i32::from_be_bytes(array(raw.get(8..).unwrap_or_default(), "timetz")?);
    zone(&mut out, west);
    Ok(out)
}

/// `+HH`, `+HH:MM` or `+HH:MM:SS` (EncodeTimezone), from seconds west of UTC.
fn zone(out: &mut String, west: i32) {
    let sign = if west > 0 { '-' } else { '+' };
    let s = west.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    let _ = write!(out, "{sign}{h:02}");
    if m != 0 || sec != 0 {
        let _ = write!(out, ":{m:02}");
    }
    if sec != 0 {
        let _ = write!(out, ":{sec:02}");
    }
}

/// interval: microseconds, days, months → `1 year 2 mons 3 days 04:05:06.789` (postgres style).
pub fn interval(raw: &[u8]) -> Result<String, BoxError> {
    let micros = i64::from_be_bytes(array(raw, "interval")?);
    let days = i32::from_be_bytes(array(raw.get(8..).unwrap_or_default(), "interval")?);
    let months = i32::from_be_bytes(array(raw.get(12..).unwrap_or_default(), "interval")?);
    let mut out = String::new();
    let mut is_zero = true;
    let mut is_before = false;
    let mut part = |value: i64, unit: &str, out: &mut String| {
        if value == 0 {
            return;
        }
        let _ = write!(
            out,
            "{}{}{value} {unit}{}",
            if is_zero { "" } else { " " },
            if is_before && value > 0 { "+" } else { "" },
            if value != 1 { "s" } else { "" }
        );
        is_before = value < 0;
        is_zero = false;
    };
    part(i64::from(months / 12), "year", &mut out);
    part(i64::from(months % 12), "mon", &mut out);
    part(i64::from(days), "day", &mut out);
    if is_zero || micros != 0 {
        let sign = if micros < 0 {
            "-"
        } else if is_before {
            "+"
        } else {
            ""
        };
        let _ = write!(out, "{}{sign}", if is_zero { "" } else { " " });
        clock(&mut out, micros);
    }
    Ok(out)
}

/// inet and cidr: family, prefix bits, is-cidr flag, address length, address.
pub fn inet(raw: &[u8]) -> Result<String, BoxError> {
    let [family, bits, is_cidr, len] = array::<4>(raw, "inet")?;
    let addr = raw.get(4..4 + len as usize).ok_or("inet value too short")?;
    let (text, max_bits) = match family {
        2 => (Ipv4Addr::from(array::<4>(addr, "inet")?).to_string(), 32),
        3 => (ipv6(&array::<16>(addr, "inet")?), 128),
        _ => return Err("unknown inet family".into()),
    };
    Ok(if is_cidr != 0 || bits != max_bits {
        format!("{text}/{bits}")
    } else {
        text
    })
}

/// IPv6 as PostgreSQL prints it: RFC 5952 compression, with a dotted IPv4 tail for mapped
/// (::ffff:a.b.c.d) and compatible (::a.b.c.d) addresses.
fn ipv6(bytes: &[u8; 16]) -> String {
    let addr = Ipv6Addr::from(*bytes);
    let compatible = bytes[..12].iter().all(|&b| b == 0) && bytes[12..14] != [0, 0];
    if compatible {
        return format!(
            "::{}",
            Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15])
        );
    }
    addr.to_string()
}

/// macaddr and macaddr8: lower-case hex pairs joined by colons.
pub fn macaddr(raw: &[u8]) -> String {
    raw.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// bit and varbit: the bit count, then the bits, most significant first.
pub fn bits(raw: &[u8]) -> Result<String, BoxError> {
    let count = i32::from_be_bytes(array(raw, "bit")?).max(0) as usize;
    let data = &raw[4..];
    if data.len() * 8 < count {
        return Err("bit value too short".into());
    }
    Ok((0..count)
        .map(|i| {
            if data[i / 8] & (0x80 >> (i % 8)) != 0 {
                '1'
            } else {
                '0'
            }
        })
        .collect())
}

/// pg_lsn: `HI/LO` in upper-case hex.
pub fn lsn(raw: &[u8]) -> Result<String, BoxError> {
    let v = u64::from_be_bytes(array(raw, "pg_lsn")?);
    Ok(format!("{:X}/{:X}", v >> 32, v as u32))
}

/// tid: `(block,offset)`.
pub fn tid(raw: &[u8]) -> Result<String, BoxError> {
    let block = u32::from_be_bytes(array(raw, "tid")?);
    let offset = u16::from_be_bytes(array(raw.get(4..).unwrap_or_default(), "tid")?);
    Ok(format!("({block},{offset})"))
}

/// "char": one byte; a high-bit byte prints as a backslash and three octal digits.
pub fn char(raw: &[u8]) -> String {
    match raw.first() {
        None | Some(0) => String::new(),
        Some(&b) if b >= 0x80 => format!("\\{b:03o}"),
        Some(&b) => (b as char).to_string(),
    }
}

/// A field of a composite value as record_out quotes it: quoted when empty or when it holds
/// a quote, backslash, parenthesis, comma or white space; NULL is nothing at all.
pub fn record(fields: &[Option<String>]) -> String {
    let mut out = String::from("(");
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let Some(text) = field else { continue };
        let quote = text.is_empty()
            || text
                .chars()
                .any(|c| matches!(c, '"' | '\\' | '(' | ')' | ',') || c.is_ascii_whitespace());
        if quote {
            out.push('"');
            for c in text.chars() {
                if c == '"' || c == '\\' {
                    out.push(c);
                }
                out.push(c);
            }
            out.push('"');
        } else {
            out.push_str(text);
        }
    }
    out.push(')');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval_raw(micros: i64, days: i32, months: i32) -> Vec<u8> {
        let mut v = micros.to_be_bytes().to_vec();
        v.extend_from_slice(&days.to_be_bytes());
        v.extend_from_slice(&months.to_be_bytes());
        v
    }

    /// Intervals print as PostgreSQL's postgres style does, signs and plurals included.
    #[test]
    fn intervals() {
        let cases = [
            (
                interval_raw(14_706_789_000, 3, 14),
                "1 year 2 mons 3 days 04:05:06.789",
            ),
            (interval_raw(-1_000_000, -1, 0), "-1 days -00:00:01"),
            (interval_raw(0, 0, 0), "00:00:00"),
            (interval_raw(0, 1, 1), "1 mon 1 day"),
            (interval_raw(1, 0, -13), "-1 years -1 mons +00:00:00.000001"),
            (interval_raw(90_000_000_000, 0, 0), "25:00:00"),
        ];
        for (raw, want) in cases {
            assert_eq!(interval(&raw).unwrap(), want);
        }
    }

    /// Times keep only the fractional digits they need; zones print as ±HH[:MM[:SS]].
    #[test]
    fn times() {
        assert_eq!(time(&3_723_500_000i64.to_be_bytes()).unwrap(), "01:02:03.5");
        let mut raw = 0i64.to_be_bytes().to_vec();
        raw.extend_from_slice(&(-19_800i32).to_be_bytes());
        assert_eq!(timetz(&raw).unwrap(), "00:00:00+05:30");
        raw.truncate(8);
        raw.extend_from_slice(&3600i32.to_be_bytes());
        assert_eq!(timetz(&raw).unwrap(), "00:00:00-01");
    }

    /// inet prints the prefix only when it is not the full width; cidr always does.
    #[test]
    fn inets() {
        assert_eq!(inet(&[2, 32, 0, 4, 10, 0, 0, 1]).unwrap(), "10.0.0.1");
        assert_eq!(inet(&[2, 24, 0, 4, 10, 0, 0, 1]).unwrap(), "10.0.0.1/24");
        assert_eq!(inet(&[2, 8, 1, 4, 10, 0, 0, 0]).unwrap(), "10.0.0.0/8");
        let mut v6 = vec![3, 128, 0, 16];
        v6.extend_from_slice(&Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1).octets());
        assert_eq!(inet(&v6).unwrap(), "2001:db8::1");
    }

    /// Composite fields are quoted as record_out quotes them.
    #[test]
    fn records() {
        assert_eq!(
            record(&[Some("1".into()), Some("a b".into()), None, Some("".into())]),
            "(1,\"a b\",,\"\")"
        );
        assert_eq!(record(&[Some("say \"hi\"".into())]), "(\"say \"\"hi\"\"\")");
    }

    /// Bits, LSNs, tids and "char" print as PostgreSQL prints them.
    #[test]
    fn small_types() {
        assert_eq!(bits(&[0, 0, 0, 5, 0b1010_1000]).unwrap(), "10101");
        assert_eq!(
            lsn(&0x16_B374_D848u64.to_be_bytes()).unwrap(),
            "16/B374D848"
        );
        assert_eq!(tid(&[0, 0, 0, 1, 0, 2]).unwrap(), "(1,2)");
        assert_eq!(char(&[0xe9]), "\\351");
        assert_eq!(macaddr(&[8, 0, 0x2b, 1, 2, 3]), "08:00:2b:01:02:03");
    }
}
