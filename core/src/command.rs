//! node-postgres's `command`, `rowCount` and `oid` for a statement, derived from its text,
//! because tokio-postgres does not expose the server's command tag.

use crate::lexer::{Token, TokenKind};
use crate::router::main_statement_word;

/// Which numbers the statement's command tag carries (see pg's `Result.addCommandComplete`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counts {
    /// `SELECT n`, `UPDATE n`, …: rowCount only.
    Rows,
    /// `INSERT oid n`: rowCount and oid (always 0 since PostgreSQL 12).
    RowsAndOid,
    /// `CREATE TABLE`, `SET`, …: no numbers, rowCount is null.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The tag's first word, upper case, as pg reports `result.command`.
    pub name: String,
    pub counts: Counts,
}

/// The command of one statement (for a whole text, its last: the one whose result pg reports).
pub fn derive(statement: &[Token<'_>]) -> Command {
    let body = &statement[statement
        .iter()
        .take_while(|t| t.kind == TokenKind::LParen)
        .count()..];
    let Some(first) = body.first().filter(|t| t.kind == TokenKind::Word) else {
        return Command {
            name: String::new(),
            counts: Counts::None,
        };
    };
    let verb = if first.is("with") {
        main_statement_word(body).unwrap_or(first)
    } else {
        first
    };
    let word = verb.text.to_ascii_uppercase();
    let (name, counts) = match word.as_str() {
        "SELECT" | "VALUES" | "TABLE" => ("SELECT".to_string(), Counts::Rows),
        "INSERT" => (word, Counts::RowsAndOid),
        "UPDATE" | "DELETE" | "MERGE" | "FETCH" | "MOVE" | "COPY" => (word, Counts::Rows),
        // CREATE TABLE … AS and CREATE MATERIALIZED VIEW … AS report `SELECT n`.
        "CREATE" if creates_from_query(body) => ("SELECT".to_string(), Counts::Rows),
        _ => (word, Counts::None),
    };
    Command { name, counts }
}

fn creates_from_query(body: &[Token<'_>]) -> bool {
    let is_table = body
        .iter()
        .take(6)
        .any(|t| t.is("table") || t.is("materialized"));
    let mut depth = 0i32;
    is_table
        && body.iter().any(|t| {
            match t.kind {
                TokenKind::LParen => depth += 1,
                TokenKind::RParen => depth -= 1,
                _ => {}
            }
            depth == 0 && t.is("as")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statement::Statements;

    fn cmd(sql: &str) -> (String, Counts) {
        let statements = Statements::parse(sql);
        let c = derive(statements.last().map_or(&[], |s| s.tokens()));
        (c.name, c.counts)
    }

    /// Each statement kind reports the command word pg reports, with the counts its tag has.
    #[test]
    fn commands_match_pg_tags() {
        assert_eq!(cmd("select 1"), ("SELECT".into(), Counts::Rows));
        assert_eq!(cmd("VALUES (1)"), ("SELECT".into(), Counts::Rows));
        assert_eq!(
            cmd("insert into t values (1)"),
            ("INSERT".into(), Counts::RowsAndOid)
        );
        assert_eq!(
            cmd("WITH x AS (SELECT 1) UPDATE t SET a = 1"),
            ("UPDATE".into(), Counts::Rows)
        );
        assert_eq!(
            cmd("create table t (a int)"),
            ("CREATE".into(), Counts::None)
        );
        assert_eq!(
            cmd("CREATE TABLE t AS SELECT 1"),
            ("SELECT".into(), Counts::Rows)
        );
        assert_eq!(cmd("SHOW search_path"), ("SHOW".into(), Counts::None));
        assert_eq!(cmd("BEGIN; SELECT 1"), ("SELECT".into(), Counts::Rows));
        assert_eq!(cmd("-- nothing"), (String::new(), Counts::None));
    }
}
