//! WAL positions (`pg_lsn`): parsed from and printed in PostgreSQL's `16/B374D848` form here only.

use std::fmt;
use std::str::FromStr;

/// A position in the write-ahead log. Ordered: a later position compares greater.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// How many bytes of WAL lie between `earlier` and this position (0 when it is not later).
    pub fn bytes_after(self, earlier: Lsn) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl FromStr for Lsn {
    type Err = ();

    /// `hi/lo`, each one to eight hex digits, as the server prints a `pg_lsn`.
    fn from_str(text: &str) -> Result<Lsn, ()> {
        let (hi, lo) = text.split_once('/').ok_or(())?;
        let half = |part: &str| {
            let ok = (1..=8).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_hexdigit());
            ok.then(|| u64::from_str_radix(part, 16).ok()).flatten()
        };
        match (half(hi), half(lo)) {
            (Some(hi), Some(lo)) => Ok(Lsn((hi << 32) | lo)),
            _ => Err(()),
        }
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Positions parse from PostgreSQL's hi/lo hex form and print back the same way.
    #[test]
    fn parse_and_print() {
        assert_eq!("0/0".parse(), Ok(Lsn(0)));
        assert_eq!("16/B374D848".parse(), Ok(Lsn(0x16_B374_D848)));
        assert_eq!(Lsn(0x16_B374_D848).to_string(), "16/B374D848");
        assert_eq!("ffffffff/ffffffff".parse(), Ok(Lsn(u64::MAX)));
        for bad in [
            "nonsense",
            "",
            "/",
            "1/",
            "/1",
            "123456789/0",
            "0/+1",
            "g/0",
            "1/2/3",
        ] {
            assert_eq!(bad.parse::<Lsn>(), Err(()), "{bad:?}");
        }
    }

    /// Distances never go negative.
    #[test]
    fn distance() {
        assert_eq!(Lsn(0x300).bytes_after(Lsn(0x100)), 0x200);
        assert_eq!(Lsn(0x100).bytes_after(Lsn(0x300)), 0);
    }
}
