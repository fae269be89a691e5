//! What a statement returns, in the shape node-postgres reports, with values column by column.

use crate::lsn::Lsn;
use crate::values::Value;

/// One statement's result.
#[derive(Debug, Default)]
pub struct QueryOutput {
    /// `None` for empty text, as pg reports it.
    pub command: Option<String>,
    pub row_count: Option<u64>,
    pub oid: Option<u32>,
    pub fields: Vec<Field>,
    /// `columns[c][r]` is row `r` of column `c`.
    pub columns: Vec<Vec<Value>>,
}

/// What one text produced: one result, or one per statement for a multi-statement text
/// without parameters (node-postgres returns an array then).
#[derive(Debug)]
pub enum Reply {
    Single(QueryOutput),
    Batch(Vec<QueryOutput>),
}

impl Reply {
    /// The command tag of the last statement's result (`COMMIT`, or `ROLLBACK` for the COMMIT
    /// of a failed transaction).
    pub fn last_command(&self) -> Option<&str> {
        let last = match self {
            Reply::Single(output) => Some(output),
            Reply::Batch(outputs) => outputs.last(),
        };
        last.and_then(|o| o.command.as_deref())
    }

    /// Replaces the last result's command tag (what the server said, where the text says else).
    pub fn set_last_command(&mut self, command: &str) {
        let last = match self {
            Reply::Single(output) => Some(output),
            Reply::Batch(outputs) => outputs.last_mut(),
        };
        if let Some(output) = last {
            output.command = Some(command.to_string());
        }
    }
}

/// A reply, and for a write run in a read-your-writes session the WAL position that covers it.
#[derive(Debug)]
pub struct Outcome {
    pub reply: Reply,
    pub write_lsn: Option<Lsn>,
}

impl Outcome {
    /// A reply that carries no position (a read, or a write nobody tracks).
    pub fn untracked(reply: Reply) -> Outcome {
        Outcome {
            reply,
            write_lsn: None,
        }
    }
}

/// node-postgres's `FieldDef`.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub table_id: u32,
    pub column_id: i16,
    pub type_id: u32,
    pub type_size: i16,
    pub type_modifier: i32,
}
