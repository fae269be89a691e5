//! STUB (replaced by the fp-14 branch): statement fingerprints.

use crate::statement::Statements;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub u64);

impl Fingerprint {
    pub fn of(statements: &Statements<'_>) -> Fingerprint {
        let mut h: u64 = 0xcbf29ce484222325;
        for b in statements.sql().bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
        Fingerprint(h)
    }

    pub fn hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

pub fn normalized_text(statements: &Statements<'_>, max_len: usize) -> String {
    statements.sql().chars().take(max_len).collect()
}
