//! Decides where a statement runs: `Router::classify(sql) → Route`, pure, on lexer tokens.
//!
//! Only statements known to be reads go to a replica; anything that may write, lock, change
//! session state, or that the router does not recognise goes to the primary. Transaction control
//! is rejected for `manager.query`, since consecutive calls may run on different connections.

use std::collections::HashSet;

use crate::lexer::{Token, TokenKind};
use crate::statement::{is_transaction_control, Statements};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Replica,
    Primary,
    Reject,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Replica => "replica",
            Target::Primary => "primary",
            Target::Reject => "reject",
        }
    }
}

/// Why a statement goes where it goes: stable names for errors, metrics and `classifyQuery`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// SELECT, VALUES or TABLE that neither locks nor writes.
    Select,
    /// WITH … SELECT whose every CTE is a read.
    CteRead,
    Show,
    /// EXPLAIN without ANALYZE, or EXPLAIN ANALYZE of a read.
    Explain,
    MultiStatementRead,
    /// INSERT, UPDATE, DELETE, MERGE, DDL and every other statement that changes something.
    Write,
    DataModifyingCte,
    LockingClause,
    SelectInto,
    WriteFunction,
    ExplainAnalyzeWrite,
    MultiStatementWrite,
    Unrecognised,
    Empty,
    TransactionControl,
    OverridePrimary,
    OverrideReplica,
}

impl Reason {
    pub const ALL: [Reason; 17] = [
        Reason::Select,
        Reason::CteRead,
        Reason::Show,
        Reason::Explain,
        Reason::MultiStatementRead,
        Reason::Write,
        Reason::DataModifyingCte,
        Reason::LockingClause,
        Reason::SelectInto,
        Reason::WriteFunction,
        Reason::ExplainAnalyzeWrite,
        Reason::MultiStatementWrite,
        Reason::Unrecognised,
        Reason::Empty,
        Reason::TransactionControl,
        Reason::OverridePrimary,
        Reason::OverrideReplica,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Select => "select",
            Reason::CteRead => "cte-read",
            Reason::Show => "show",
            Reason::Explain => "explain",
            Reason::MultiStatementRead => "multi-statement-read",
            Reason::Write => "write",
            Reason::DataModifyingCte => "data-modifying-cte",
            Reason::LockingClause => "locking-clause",
            Reason::SelectInto => "select-into",
            Reason::WriteFunction => "write-function",
            Reason::ExplainAnalyzeWrite => "explain-analyze-write",
            Reason::MultiStatementWrite => "multi-statement-write",
            Reason::Unrecognised => "unrecognised",
            Reason::Empty => "empty",
            Reason::TransactionControl => "transaction-control",
            Reason::OverridePrimary => "override-primary",
            Reason::OverrideReplica => "override-replica",
        }
    }

    /// Position in [`Reason::ALL`], for counters kept in an array.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Where a statement goes and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub target: Target,
    pub reason: Reason,
}

const fn route(target: Target, reason: Reason) -> Route {
    Route { target, reason }
}

/// Functions whose call turns a read into a write, or takes a lock or makes a change that must
/// happen on the primary.
pub const DEFAULT_WRITE_FUNCTIONS: &[&str] = &[
    "nextval",
    "setval",
    "pg_advisory_lock",
    "pg_advisory_lock_shared",
    "pg_advisory_xact_lock",
    "pg_advisory_xact_lock_shared",
    "pg_try_advisory_lock",
    "pg_try_advisory_lock_shared",
    "pg_try_advisory_xact_lock",
    "pg_try_advisory_xact_lock_shared",
    "pg_advisory_unlock",
    "pg_advisory_unlock_shared",
    "pg_advisory_unlock_all",
    "pg_notify",
    "set_config",
    "txid_current",
    "pg_current_xact_id",
    "lo_create",
    "lo_creat",
    "lo_import",
    "lo_unlink",
    "lo_put",
    "lo_from_bytea",
    "lo_open",
    "lowrite",
    "lo_truncate",
    "lo_truncate64",
    "dblink_exec",
    "pg_switch_wal",
    "pg_create_restore_point",
    "pg_create_physical_replication_slot",
    "pg_create_logical_replication_slot",
    "pg_drop_replication_slot",
    "pg_logical_emit_message",
    // Not writes, but about backends of the primary: a cancel or terminate sent to a standby
    // finds nothing there.
    "pg_cancel_backend",
    "pg_terminate_backend",
];

/// Statement verbs that may open the main statement of a WITH query.
const STATEMENT_VERBS: &[&str] = &[
    "select", "values", "table", "insert", "update", "delete", "merge",
];

/// Verbs that modify data when they start a (sub)statement.
const DML_VERBS: &[&str] = &["insert", "update", "delete", "merge"];

/// First words of statements that run on the primary without further thought.
const WRITE_VERBS: &[&str] = &[
    "insert",
    "update",
    "delete",
    "merge",
    "create",
    "alter",
    "drop",
    "truncate",
    "grant",
    "revoke",
    "copy",
    "call",
    "do",
    "lock",
    "vacuum",
    "analyze",
    "analyse",
    "cluster",
    "reindex",
    "refresh",
    "comment",
    "security",
    "set",
    "reset",
    "discard",
    "listen",
    "notify",
    "unlisten",
    "prepare",
    "execute",
    "deallocate",
    "declare",
    "fetch",
    "move",
    "close",
    "checkpoint",
    "load",
    "import",
    "reassign",
];

/// The classifier, with its list of write functions.
#[derive(Debug, Clone)]
pub struct Router {
    /// Lower-case function names; a name with a dot matches that schema-qualified call only.
    write_functions: HashSet<String>,
}

impl Default for Router {
    fn default() -> Self {
        Router::new(&[], &[])
    }
}

impl Router {
    /// The default write functions, plus `extra`, minus `read_only` (names are case-insensitive).
    pub fn new(extra: &[String], read_only: &[String]) -> Router {
        let mut write_functions: HashSet<String> = DEFAULT_WRITE_FUNCTIONS
            .iter()
            .map(|f| f.to_string())
            .chain(extra.iter().map(|f| f.to_ascii_lowercase()))
            .collect();
        for f in read_only {
            write_functions.remove(&f.to_ascii_lowercase());
        }
        Router { write_functions }
    }

    /// Classifies one SQL text (possibly several statements).
    pub fn classify(&self, sql: &str) -> Route {
        self.classify_statements(&Statements::parse(sql))
    }

    /// Classifies a text already split, so that callers which run it too lex it only once.
    pub fn classify_statements(&self, statements: &Statements<'_>) -> Route {
        let mut pieces = statements.iter();
        let Some(first) = pieces.next() else {
            return route(Target::Primary, Reason::Empty);
        };
        let first_route = self.classify_statement(first.tokens());
        let mut all_reads = first_route.target == Target::Replica;
        let mut several = false;
        for statement in pieces {
            several = true;
            match self.classify_statement(statement.tokens()) {
                r if r.target == Target::Reject => return r,
                r => all_reads &= r.target == Target::Replica,
            }
        }
        match (several, first_route.target) {
            (false, _) | (true, Target::Reject) => first_route,
            (true, _) if all_reads => route(Target::Replica, Reason::MultiStatementRead),
            (true, _) => route(Target::Primary, Reason::MultiStatementWrite),
        }
    }

    fn classify_statement(&self, tokens: &[Token<'_>]) -> Route {
        let body = skip_open_parens(tokens);
        let Some(first) = body.first().filter(|t| t.kind == TokenKind::Word) else {
            return match body.is_empty() {
                true => route(Target::Primary, Reason::Empty),
                false => route(Target::Primary, Reason::Unrecognised),
            };
        };
        let word = first.text.to_ascii_lowercase();
        match word.as_str() {
            "select" | "values" | "table" => self.classify_read(body, Reason::Select),
            "with" => self.classify_with(body),
            "explain" => self.classify_explain(&body[1..]),
            "show" => route(Target::Replica, Reason::Show),
            _ if is_transaction_control(body) => route(Target::Reject, Reason::TransactionControl),
            w if WRITE_VERBS.contains(&w) => route(Target::Primary, Reason::Write),
            _ => route(Target::Primary, Reason::Unrecognised),
        }
    }

    /// A SELECT / VALUES / TABLE (or the whole of a WITH query) is a read unless it modifies
    /// data in a sub-statement, locks rows, creates a table, or calls a write function.
    fn classify_read(&self, tokens: &[Token<'_>], reason: Reason) -> Route {
        if has_data_modifying_substatement(tokens) {
            route(Target::Primary, Reason::DataModifyingCte)
        } else if has_locking_clause(tokens) {
            route(Target::Primary, Reason::LockingClause)
        } else if tokens.iter().any(|t| t.is("into")) {
            // INTO is reserved: in a query it can only be SELECT … INTO new_table.
            route(Target::Primary, Reason::SelectInto)
        } else if self.calls_write_function(tokens) {
            route(Target::Primary, Reason::WriteFunction)
        } else {
            route(Target::Replica, reason)
        }
    }

    /// WITH is a read when no CTE at any depth modifies data and the main statement is a read.
    fn classify_with(&self, tokens: &[Token<'_>]) -> Route {
        match main_statement_word(tokens) {
            Some(w) if w.is("select") || w.is("values") || w.is("table") => {
                self.classify_read(tokens, Reason::CteRead)
            }
            Some(_) => route(Target::Primary, Reason::Write),
            None => route(Target::Primary, Reason::Unrecognised),
        }
    }

    /// EXPLAIN without ANALYZE only plans, so it is a read; with ANALYZE it runs its statement.
    fn classify_explain(&self, tokens: &[Token<'_>]) -> Route {
        let mut rest = tokens;
        let mut analyze = false;
        if rest.first().is_some_and(|t| t.kind == TokenKind::LParen) {
            // An unclosed option list runs to the end (the server rejects such text).
            let close = rest
                .iter()
                .position(|t| t.kind == TokenKind::RParen)
                .unwrap_or(rest.len());
            let options = &rest[1..close];
            for (i, t) in options.iter().enumerate() {
                if t.is("analyze") || t.is("analyse") {
                    analyze = !options.get(i + 1).is_some_and(is_false_option_value);
                }
            }
            rest = rest.get(close + 1..).unwrap_or_default();
        } else {
            while let Some(t) = rest.first() {
                if t.is("analyze") || t.is("analyse") {
                    analyze = true;
                } else if !t.is("verbose") {
                    break;
                }
                rest = &rest[1..];
            }
        }
        if !analyze {
            return route(Target::Replica, Reason::Explain);
        }
        match self.classify_statement(rest).target {
            Target::Replica => route(Target::Replica, Reason::Explain),
            _ => route(Target::Primary, Reason::ExplainAnalyzeWrite),
        }
    }

    fn calls_write_function(&self, tokens: &[Token<'_>]) -> bool {
        tokens.iter().enumerate().any(|(i, t)| {
            let is_call = matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent)
                && tokens
                    .get(i + 1)
                    .is_some_and(|n| n.kind == TokenKind::LParen);
            if !is_call {
                return false;
            }
            let name = identifier(t);
            if self.write_functions.contains(&name) {
                return true;
            }
            // Schema-qualified: `schema.fn(` matches a configured "schema.fn".
            i >= 2
                && tokens[i - 1].kind == TokenKind::Dot
                && matches!(tokens[i - 2].kind, TokenKind::Word | TokenKind::QuotedIdent)
                && self
                    .write_functions
                    .contains(&format!("{}.{name}", identifier(&tokens[i - 2])))
        })
    }
}

/// An identifier as PostgreSQL folds it: unquoted lower-cased, quoted kept as written.
fn identifier(t: &Token<'_>) -> String {
    match t.kind {
        TokenKind::QuotedIdent => t
            .text
            .trim_start_matches("U&")
            .trim_start_matches("u&")
            .trim_matches('"')
            .replace("\"\"", "\""),
        _ => t.text.to_ascii_lowercase(),
    }
}

fn is_false_option_value(v: &Token<'_>) -> bool {
    v.is("false")
        || v.is("off")
        || v.is("no")
        || (v.kind == TokenKind::Number && v.text == "0")
        || (v.kind == TokenKind::Literal
            && matches!(
                v.text.trim_matches('\'').to_ascii_lowercase().as_str(),
                "false" | "off" | "no" | "0"
            ))
}

fn skip_open_parens<'t, 'a>(tokens: &'t [Token<'a>]) -> &'t [Token<'a>] {
    let n = tokens
        .iter()
        .take_while(|t| t.kind == TokenKind::LParen)
        .count();
    &tokens[n..]
}

/// The verb of a WITH query's main statement: the first statement verb at parenthesis depth
/// zero that is not a name in the CTE list (a CTE may be called `update`: the keyword is
/// unreserved) or a column in a SEARCH / CYCLE clause.
pub(crate) fn main_statement_word<'t, 'a>(tokens: &'t [Token<'a>]) -> Option<&'t Token<'a>> {
    let mut depth = 0i32;
    let mut previous: Option<&Token<'_>> = None;
    for t in tokens {
        match t.kind {
            TokenKind::LParen => depth += 1,
            TokenKind::RParen => depth -= 1,
            TokenKind::Word
                if depth == 0
                    && STATEMENT_VERBS.iter().any(|v| t.is(v))
                    && !previous.is_some_and(|p| {
                        p.kind == TokenKind::Comma
                            || ["with", "recursive", "by", "set", "using", "cycle", "to"]
                                .iter()
                                .any(|w| p.is(w))
                    }) =>
            {
                return Some(t);
            }
            _ => {}
        }
        if depth == 0 {
            previous = Some(t);
        }
    }
    None
}

/// A DML verb opening a parenthesised sub-statement: a data-modifying CTE (at any depth), or a
/// DML sub-statement anywhere else (which the server would reject, but never on a replica).
fn has_data_modifying_substatement(tokens: &[Token<'_>]) -> bool {
    tokens
        .windows(2)
        .any(|w| w[0].kind == TokenKind::LParen && DML_VERBS.iter().any(|v| w[1].is(v)))
}

fn has_locking_clause(tokens: &[Token<'_>]) -> bool {
    tokens.windows(2).any(|w| {
        w[0].is("for") && (w[1].is("update") || w[1].is("share") || w[1].is("no") || w[1].is("key"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reasons index the counters in the order of `Reason::ALL`.
    #[test]
    fn reason_indexes_match_all() {
        for (i, r) in Reason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i, "{r:?}");
        }
    }
}
