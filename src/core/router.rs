//! Decides where a statement runs: `classify(sql) → Route`, pure, on tokens from the lexer.
//!
//! Anything that may write, lock, or that the router does not recognise goes to the primary;
//! only statements known to be reads go to a replica. Transaction control is rejected for
//! `manager.query`, since consecutive calls may run on different connections.

use super::lexer::{tokenize, Token, TokenKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Replica,
    Primary,
    Reject,
}

/// Where a statement goes and why; `reason` is a stable, metric-friendly name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub target: Target,
    pub reason: &'static str,
}

const fn route(target: Target, reason: &'static str) -> Route {
    Route { target, reason }
}

/// Functions whose call makes a read a write (or takes a lock that must live on the primary).
const WRITE_FUNCTIONS: &[&str] = &[
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
    "lowrite",
    "lo_truncate",
    "lo_truncate64",
    "dblink_exec",
];

/// Classifies one SQL text (possibly several statements).
pub fn classify(sql: &str) -> Route {
    classify_tokens(&tokenize(sql))
}

/// Classifies already-tokenized text, so callers that need the tokens too lex only once.
pub fn classify_tokens(tokens: &[Token<'_>]) -> Route {
    let mut statements = tokens
        .split(|t| t.kind == TokenKind::Semicolon)
        .filter(|s| !s.is_empty());
    let Some(first) = statements.next() else {
        return route(Target::Primary, "empty");
    };
    let first_route = classify_statement(first);
    let mut all_reads = first_route.target == Target::Replica;
    let mut several = false;
    for statement in statements {
        several = true;
        match classify_statement(statement) {
            r if r.target == Target::Reject => return r,
            r => all_reads &= r.target == Target::Replica,
        }
    }
    match (several, first_route.target) {
        (false, _) | (true, Target::Reject) => first_route,
        (true, _) if all_reads => route(Target::Replica, "multi-statement-read"),
        (true, _) => route(Target::Primary, "multi-statement-write"),
    }
}

/// How running `tokens` on a dedicated client changes whether a transaction is open:
/// `Some(true)` when the last transaction-control statement opens one (or chains), `Some(false)`
/// when it ends one, `None` when no statement touches transaction state.
pub fn transaction_effect(tokens: &[Token<'_>]) -> Option<bool> {
    let mut effect = None;
    for statement in tokens.split(|t| t.kind == TokenKind::Semicolon) {
        let Some(first) = statement.first() else {
            continue;
        };
        let second = statement.get(1);
        let chains = statement
            .windows(2)
            .any(|w| w[0].is("and") && w[1].is("chain"));
        if first.is("begin") || first.is("start") {
            effect = Some(true);
        } else if first.is("commit") || first.is("end") || first.is("abort") || first.is("rollback")
        {
            let other = second.is_some_and(|t| t.is("prepared") || t.is("to"));
            if !other {
                effect = Some(chains);
            }
        } else if first.is("prepare") && second.is_some_and(|t| t.is("transaction")) {
            effect = Some(false);
        }
    }
    effect
}

fn classify_statement(tokens: &[Token<'_>]) -> Route {
    let body = skip_open_parens(tokens);
    let Some(first) = body.first() else {
        return route(Target::Primary, "empty");
    };
    if first.kind != TokenKind::Word {
        return route(Target::Primary, "unrecognised");
    }
    let word = first.text.to_ascii_lowercase();
    match word.as_str() {
        "select" | "values" | "table" => classify_read(body, "select"),
        "with" => classify_with(body),
        "explain" => classify_explain(&body[1..]),
        "show" => route(Target::Replica, "show"),
        "begin" | "start" | "commit" | "end" | "rollback" | "abort" | "savepoint" | "release" => {
            route(Target::Reject, "transaction-control")
        }
        "prepare" if body.get(1).is_some_and(|t| t.is("transaction")) => {
            route(Target::Reject, "transaction-control")
        }
        "insert" | "update" | "delete" | "merge" | "create" | "alter" | "drop" | "truncate"
        | "grant" | "revoke" | "copy" | "call" | "do" | "lock" | "vacuum" | "analyze"
        | "analyse" | "cluster" | "reindex" | "refresh" | "comment" | "security" | "set"
        | "reset" | "discard" | "listen" | "notify" | "unlisten" | "prepare" | "execute"
        | "deallocate" | "declare" | "fetch" | "move" | "close" | "checkpoint" | "load"
        | "import" | "reassign" => route(Target::Primary, "write"),
        _ => route(Target::Primary, "unrecognised"),
    }
}

fn skip_open_parens<'t, 'a>(tokens: &'t [Token<'a>]) -> &'t [Token<'a>] {
    let n = tokens
        .iter()
        .take_while(|t| t.kind == TokenKind::LParen)
        .count();
    &tokens[n..]
}

/// A SELECT / VALUES / TABLE is a read unless it locks rows, creates a table, or calls a write
/// function.
fn classify_read(tokens: &[Token<'_>], reason: &'static str) -> Route {
    if has_locking_clause(tokens) {
        return route(Target::Primary, "locking-clause");
    }
    if has_top_level_into(tokens) {
        return route(Target::Primary, "select-into");
    }
    if calls_write_function(tokens) {
        return route(Target::Primary, "write-function");
    }
    route(Target::Replica, reason)
}

/// WITH is a read when no CTE at any depth modifies data and the main statement is a read.
fn classify_with(tokens: &[Token<'_>]) -> Route {
    let modifies = tokens.iter().enumerate().any(|(i, t)| {
        (t.is("insert") || t.is("update") || t.is("delete") || t.is("merge"))
            && !(i > 0 && tokens[i - 1].is("for"))
            && !(i > 1 && tokens[i - 1].is("key") && tokens[i - 2].is("no"))
    });
    if modifies {
        return route(Target::Primary, "data-modifying-cte");
    }
    match main_statement_word(tokens) {
        Some(w) if w.is("select") || w.is("values") || w.is("table") => {
            classify_read(tokens, "cte-read")
        }
        _ => route(Target::Primary, "unrecognised"),
    }
}

/// The first word at parenthesis depth zero after the CTE list of a WITH statement.
pub(crate) fn main_statement_word<'t, 'a>(tokens: &'t [Token<'a>]) -> Option<&'t Token<'a>> {
    let mut depth = 0i32;
    let mut after_cte_body = false;
    for t in tokens.iter().skip(1) {
        match t.kind {
            TokenKind::LParen => depth += 1,
            TokenKind::RParen => {
                depth -= 1;
                after_cte_body = depth == 0;
            }
            TokenKind::Comma if depth == 0 => after_cte_body = false,
            TokenKind::Word if depth == 0 && after_cte_body => {
                // SEARCH / CYCLE clauses may follow a recursive CTE body before the next item.
                if !(t.is("search") || t.is("cycle")) {
                    return Some(t);
                }
                after_cte_body = false;
            }
            _ => {}
        }
    }
    None
}

/// EXPLAIN without ANALYZE only plans, so it is a read; with ANALYZE it runs its statement.
fn classify_explain(tokens: &[Token<'_>]) -> Route {
    let mut rest = tokens;
    let mut analyze = false;
    if rest.first().is_some_and(|t| t.kind == TokenKind::LParen) {
        let close = rest
            .iter()
            .position(|t| t.kind == TokenKind::RParen)
            .unwrap_or(rest.len() - 1);
        let options = &rest[1..close];
        for (i, t) in options.iter().enumerate() {
            if t.is("analyze") || t.is("analyse") {
                let value = options.get(i + 1);
                analyze = !value.is_some_and(|v| {
                    v.is("false") || v.is("off") || (v.kind == TokenKind::Number && v.text == "0")
                });
            }
        }
        rest = &rest[close + 1..];
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
        return route(Target::Replica, "explain");
    }
    match classify_statement(rest) {
        r if r.target == Target::Replica => route(Target::Replica, "explain"),
        _ => route(Target::Primary, "explain-analyze-write"),
    }
}

fn has_locking_clause(tokens: &[Token<'_>]) -> bool {
    tokens.windows(2).any(|w| {
        w[0].is("for") && (w[1].is("update") || w[1].is("share") || w[1].is("no") || w[1].is("key"))
    })
}

/// `SELECT … INTO new_table`: INTO at the statement's own level (not inside a subquery).
fn has_top_level_into(tokens: &[Token<'_>]) -> bool {
    let mut depth = 0i32;
    tokens.iter().any(|t| {
        match t.kind {
            TokenKind::LParen => depth += 1,
            TokenKind::RParen => depth -= 1,
            _ => {}
        }
        depth <= 0 && t.is("into")
    })
}

fn calls_write_function(tokens: &[Token<'_>]) -> bool {
    tokens.windows(2).any(|w| {
        w[0].kind == TokenKind::Word
            && w[1].kind == TokenKind::LParen
            && WRITE_FUNCTIONS
                .iter()
                .any(|f| w[0].text.eq_ignore_ascii_case(f))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(sql: &str) -> Target {
        classify(sql).target
    }

    /// The guide's read forms go to a replica.
    #[test]
    fn guide_reads_go_to_replicas() {
        for sql in [
            "SELECT * FROM users WHERE id = $1",
            "select 1",
            "  \n\tSELECT 1",
            "WITH u AS (SELECT * FROM users) SELECT * FROM u",
            "EXPLAIN SELECT * FROM users",
            "(SELECT 1) UNION (SELECT 2)",
            "VALUES (1), (2)",
            "TABLE users",
            "SHOW search_path",
            "EXPLAIN ANALYZE SELECT 1",
            "SELECT 1; SELECT 2",
        ] {
            assert_eq!(target(sql), Target::Replica, "{sql}");
        }
    }

    /// The guide's write forms and anything unrecognised go to the primary.
    #[test]
    fn guide_writes_go_to_primary() {
        for sql in [
            "INSERT INTO users (name) VALUES ($1)",
            "UPDATE users SET name = $1",
            "DELETE FROM users",
            "CREATE TABLE t (id int)",
            "ALTER TABLE t ADD COLUMN x int",
            "DROP TABLE t",
            "TRUNCATE t",
            "frobnicate the database",
            "",
            "   ",
            "-- only a comment",
            "42",
        ] {
            assert_eq!(target(sql), Target::Primary, "{sql:?}");
        }
    }

    /// Leading whitespace and comments never change the route.
    #[test]
    fn leading_comments_are_skipped() {
        assert_eq!(target("/* hi */ -- x\n SELECT 1"), Target::Replica);
        assert_eq!(
            target("-- SELECT\nINSERT INTO t VALUES (1)"),
            Target::Primary
        );
        assert_eq!(target("/* INSERT */ SELECT 1"), Target::Replica);
    }

    /// Keywords inside literals or quoted identifiers are not statements.
    #[test]
    fn keywords_in_literals_do_not_count() {
        assert_eq!(target("SELECT 'INSERT INTO t'"), Target::Replica);
        assert_eq!(target("SELECT \"update\" FROM t"), Target::Replica);
        assert_eq!(target("SELECT $$ for update $$"), Target::Replica);
    }

    /// Data-modifying CTEs, locking reads, SELECT INTO and write functions need the primary.
    #[test]
    fn reads_that_write() {
        for (sql, reason) in [
            (
                "WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM x",
                "data-modifying-cte",
            ),
            ("WITH x AS (SELECT 1) DELETE FROM t", "data-modifying-cte"),
            ("SELECT * FROM t FOR UPDATE", "locking-clause"),
            ("SELECT * FROM t FOR NO KEY UPDATE", "locking-clause"),
            ("SELECT * FROM t FOR KEY SHARE", "locking-clause"),
            ("SELECT * INTO t2 FROM t", "select-into"),
            ("SELECT nextval('s')", "write-function"),
            ("SELECT pg_catalog.pg_advisory_lock(1)", "write-function"),
            ("EXPLAIN ANALYZE DELETE FROM t", "explain-analyze-write"),
            (
                "EXPLAIN (ANALYZE, BUFFERS) INSERT INTO t VALUES (1)",
                "explain-analyze-write",
            ),
            (
                "SELECT 1; INSERT INTO t VALUES (1)",
                "multi-statement-write",
            ),
        ] {
            assert_eq!(classify(sql), route(Target::Primary, reason), "{sql}");
        }
        assert_eq!(
            target("WITH x AS (SELECT * FROM t FOR UPDATE) SELECT * FROM x"),
            Target::Primary
        );
    }

    /// EXPLAIN without ANALYZE, or with ANALYZE off, never runs its statement.
    #[test]
    fn explain_without_analyze_is_read() {
        assert_eq!(target("EXPLAIN DELETE FROM t"), Target::Replica);
        assert_eq!(
            target("EXPLAIN (ANALYZE false) DELETE FROM t"),
            Target::Replica
        );
        assert_eq!(target("EXPLAIN VERBOSE SELECT 1"), Target::Replica);
    }

    /// Transaction control cannot go through `manager.query`, alone or inside a batch.
    #[test]
    fn transaction_control_is_rejected() {
        for sql in [
            "BEGIN",
            "start transaction",
            "COMMIT",
            "END",
            "ROLLBACK",
            "ABORT",
            "SAVEPOINT a",
            "RELEASE SAVEPOINT a",
            "PREPARE TRANSACTION 'x'",
            "COMMIT PREPARED 'x'",
            "BEGIN; INSERT INTO t VALUES (1); COMMIT",
        ] {
            assert_eq!(target(sql), Target::Reject, "{sql}");
        }
        assert_eq!(target("PREPARE q AS SELECT 1"), Target::Primary);
    }

    /// Opening, ending and chaining transactions are tracked; savepoint rollbacks are not ends.
    #[test]
    fn transaction_effects() {
        let effect = |sql: &str| transaction_effect(&tokenize(sql));
        assert_eq!(effect("BEGIN"), Some(true));
        assert_eq!(effect("start transaction read only"), Some(true));
        assert_eq!(effect("COMMIT"), Some(false));
        assert_eq!(effect("ROLLBACK"), Some(false));
        assert_eq!(effect("COMMIT AND CHAIN"), Some(true));
        assert_eq!(effect("ROLLBACK TO SAVEPOINT a"), None);
        assert_eq!(effect("SELECT 1"), None);
        assert_eq!(
            effect("BEGIN; INSERT INTO t VALUES (1); COMMIT"),
            Some(false)
        );
        assert_eq!(effect("PREPARE TRANSACTION 'x'"), Some(false));
    }

    /// `FOR` in other positions (substring … FOR n) is not a locking clause.
    #[test]
    fn other_for_is_not_locking() {
        assert_eq!(
            target("SELECT substring('abc' FROM 1 FOR 2)"),
            Target::Replica
        );
    }
}
