//! One SQL text, lexed and split into statements once, and what its statements do beyond their
//! result: control a transaction, leave state in the session, or stream COPY data.
//!
//! The router, the command tag and the executor all read the same [`Statements`]; the rules
//! about transaction control and session state live here and nowhere else.

use std::ops::Range;

use crate::lexer::{tokenize, Token, TokenKind};

/// A text's tokens and its non-empty statements (split on `;` outside literals and comments).
#[derive(Debug)]
pub struct Statements<'a> {
    sql: &'a str,
    tokens: Vec<Token<'a>>,
    /// Token ranges of the statements, in order; empty ones (`;;`) are left out.
    pieces: Vec<Range<usize>>,
}

/// One statement of a text.
#[derive(Debug, Clone, Copy)]
pub struct Statement<'s, 'a> {
    sql: &'a str,
    tokens: &'s [Token<'a>],
}

impl<'a> Statements<'a> {
    pub fn parse(sql: &'a str) -> Statements<'a> {
        let tokens = tokenize(sql);
        let mut pieces = Vec::with_capacity(1);
        let mut start = 0;
        for (i, t) in tokens.iter().enumerate() {
            if t.kind == TokenKind::Semicolon {
                if i > start {
                    pieces.push(start..i);
                }
                start = i + 1;
            }
        }
        if tokens.len() > start {
            pieces.push(start..tokens.len());
        }
        Statements {
            sql,
            tokens,
            pieces,
        }
    }

    pub fn sql(&self) -> &'a str {
        self.sql
    }

    /// How many non-empty statements the text holds.
    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Statement<'_, 'a>> + '_ {
        self.pieces.iter().map(|range| Statement {
            sql: self.sql,
            tokens: &self.tokens[range.clone()],
        })
    }

    /// The last statement: the one whose result a single-result query reports.
    pub fn last(&self) -> Option<Statement<'_, 'a>> {
        self.iter().last()
    }

    /// How running the text changes whether a transaction is open: `Some(true)` when its last
    /// transaction-control statement opens one (or chains), `Some(false)` when it ends one,
    /// `None` when no statement touches transaction state.
    pub fn transaction_effect(&self) -> Option<bool> {
        self.iter().filter_map(|s| s.transaction_effect()).last()
    }

    /// Whether running the text may leave state in the session that outlives a transaction,
    /// so that a pooled connection must be reset before its next user.
    pub fn leaves_session_state(&self) -> bool {
        self.iter().any(|s| s.leaves_session_state())
    }

    /// Whether the text must run on one connection held for the client: it controls a
    /// transaction, or leaves session state that cannot be replayed elsewhere.
    pub fn needs_own_connection(&self) -> bool {
        self.iter()
            .any(|s| s.is_transaction_control() || s.pins_session())
    }

    /// `COMMIT` / `END` alone: the server answers `ROLLBACK` when the transaction had failed.
    pub fn is_commit(&self) -> bool {
        self.len() == 1
            && self.iter().all(|s| {
                let t = s.tokens;
                t.first().is_some_and(|f| f.is("commit") || f.is("end"))
                    && !t.iter().any(|w| w.is("prepared") || w.is("chain"))
            })
    }

    /// `BEGIN [WORK | TRANSACTION]` or `START TRANSACTION` alone, with no modes: it cannot fail
    /// but with its connection, so it may go out together with the statement after it.
    pub fn is_plain_begin(&self) -> bool {
        self.len() == 1
            && self.iter().all(|s| match s.tokens {
                [b] => b.is("begin"),
                [b, w] if b.is("begin") => w.is("work") || w.is("transaction"),
                [s, t] => s.is("start") && t.is("transaction"),
                _ => false,
            })
    }

    /// `ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name` alone: a failed transaction is usable
    /// again after it.
    pub fn is_rollback_to_savepoint(&self) -> bool {
        self.len() == 1
            && self.iter().all(|s| {
                let t = s.tokens;
                t.first().is_some_and(|f| f.is("rollback")) && t.iter().any(|w| w.is("to"))
            })
    }

    /// Whether the text leaves state that cannot follow a client to another connection
    /// (listeners, temporary objects, prepared statements, held cursors, session locks).
    pub fn pins_session(&self) -> bool {
        self.iter().any(|s| s.pins_session())
    }

    /// Whether the text changes session settings (`SET`, `RESET`, `set_config`).
    pub fn changes_settings(&self) -> bool {
        self.iter().any(|s| s.setting_change().is_some())
    }

    /// Whether the transaction the text opens is declared `READ ONLY` and may run on a standby
    /// (which refuses SERIALIZABLE).
    pub fn opens_read_only(&self) -> bool {
        self.transaction_effect() == Some(true)
            && self.iter().any(|s| {
                let t = s.tokens;
                let opens = t.first().is_some_and(|f| f.is("begin") || f.is("start"));
                opens
                    && t.windows(2).any(|w| w[0].is("read") && w[1].is("only"))
                    && !t.iter().any(|w| w.is("serializable"))
            })
    }
}

/// A change to a session setting that a client carries to every connection it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingChange {
    /// `SET name …` or `set_config('name', …, false)`: replaces an earlier one of that name.
    Set(String),
    /// `RESET name`: forgets the earlier one.
    Reset(String),
    /// `RESET ALL`: forgets them all.
    ResetAll,
}

impl<'s, 'a> Statement<'s, 'a> {
    pub fn tokens(&self) -> &'s [Token<'a>] {
        self.tokens
    }

    /// The statement's source text: from its first token to its last.
    pub fn text(&self) -> &'a str {
        let offset = |t: &Token<'_>| t.text.as_ptr() as usize - self.sql.as_ptr() as usize;
        match (self.tokens.first(), self.tokens.last()) {
            (Some(first), Some(last)) => &self.sql[offset(first)..offset(last) + last.text.len()],
            _ => "",
        }
    }

    pub fn is_transaction_control(&self) -> bool {
        is_transaction_control(self.tokens)
    }

    /// `COPY … FROM STDIN` / `COPY … TO STDOUT`: the protocol's copy mode, which a query call
    /// cannot drive.
    pub fn is_copy_stream(&self) -> bool {
        self.tokens.first().is_some_and(|t| t.is("copy"))
            && self.tokens.iter().any(|t| t.is("stdin") || t.is("stdout"))
    }

    /// The setting this statement changes for the session, when it can be replayed on another
    /// connection: `SET` (not `LOCAL`, not a transaction's characteristics, not the session's
    /// authorization), `RESET`, and `SELECT set_config(…)` alone.
    pub fn setting_change(&self) -> Option<SettingChange> {
        let t = self.tokens;
        let first = t.first()?;
        if first.is("set") {
            let mut rest = &t[1..];
            if rest.first().is_some_and(|w| w.is("session")) {
                rest = &rest[1..];
                if rest.first().is_some_and(|w| w.is("authorization")) {
                    return None;
                }
            }
            let name = rest.first()?;
            if name.is("local") || name.is("transaction") || name.is("constraints") {
                return None;
            }
            return Some(SettingChange::Set(setting_name(rest)));
        }
        if first.is("reset") {
            let rest = &t[1..];
            if rest.first()?.is("all") {
                return Some(SettingChange::ResetAll);
            }
            if rest.first()?.is("session") {
                return None;
            }
            return Some(SettingChange::Reset(setting_name(rest)));
        }
        // SELECT set_config(<name>, …): the select list is that one call and nothing else.
        let call = t.get(1)?;
        if first.is("select") && call.is("set_config") && t.get(2)?.kind == TokenKind::LParen {
            if t.last()?.kind != TokenKind::RParen
                || t.iter().any(|w| w.is("from") || w.is("where"))
            {
                return None;
            }
            let key = match t.get(3) {
                Some(n) if n.kind == TokenKind::Literal => n.text.trim_matches('\'').to_lowercase(),
                // A name given as a parameter: keyed by the text, so replays keep their order.
                _ => self.text().to_string(),
            };
            return Some(SettingChange::Set(key));
        }
        None
    }

    /// State a client's statement leaves on its connection that no replay can carry elsewhere.
    fn pins_session(&self) -> bool {
        self.leaves_session_state() && self.setting_change().is_none()
    }

    /// See [`Statements::transaction_effect`], for this statement alone.
    fn transaction_effect(&self) -> Option<bool> {
        let first = self.tokens.first()?;
        let second = self.tokens.get(1);
        if first.is("begin") || first.is("start") {
            Some(true)
        } else if ["commit", "end", "abort", "rollback"]
            .iter()
            .any(|w| first.is(w))
        {
            // ROLLBACK TO SAVEPOINT and COMMIT / ROLLBACK PREPARED end no transaction of ours.
            let ends_ours = !second.is_some_and(|t| t.is("prepared") || t.is("to"));
            let chains = self
                .tokens
                .windows(2)
                .any(|w| w[0].is("and") && w[1].is("chain"));
            ends_ours.then_some(chains)
        } else if is_prepare_transaction(self.tokens) {
            Some(false)
        } else {
            None
        }
    }

    /// A setting, a temporary table, a listener, a loaded library, a prepared statement, a
    /// held cursor or a session advisory lock.
    fn leaves_session_state(&self) -> bool {
        let tokens = self.tokens;
        let first = tokens.first();
        let second = tokens.get(1);
        let verb = |w: &str| first.is_some_and(|t| t.is(w));
        let mentions_temp =
            |within: &[Token<'_>]| within.iter().any(|t| t.is("temp") || t.is("temporary"));
        (verb("set") && !second.is_some_and(|t| t.is("local") || t.is("transaction")))
            || (verb("create") && mentions_temp(&tokens[..tokens.len().min(4)]))
            || verb("listen")
            || verb("load")
            || (verb("prepare") && !is_prepare_transaction(tokens))
            || (verb("declare")
                && tokens
                    .windows(2)
                    .any(|w| w[0].is("with") && w[1].is("hold")))
            || tokens.windows(2).any(|w| {
                w[1].kind == TokenKind::LParen && SESSION_STATE_FUNCTIONS.iter().any(|f| w[0].is(f))
            })
            || (tokens.iter().any(|t| t.is("into")) && mentions_temp(tokens))
    }
}

/// The setting a `SET` / `RESET` names, lowercased: `search_path`, `timezone` for `TIME ZONE`,
/// `a.b` for a dotted custom name.
fn setting_name(rest: &[Token<'_>]) -> String {
    match rest {
        [t, z, ..] if t.is("time") && z.is("zone") => "timezone".into(),
        [a, dot, b, ..] if dot.kind == TokenKind::Dot => {
            format!("{}.{}", a.text, b.text).to_lowercase()
        }
        [name, ..] => name.text.trim_matches('"').to_lowercase(),
        [] => String::new(),
    }
}

/// Statements that open, end or mark a transaction: they cannot run through a call whose
/// statements may each use another connection.
pub fn is_transaction_control(tokens: &[Token<'_>]) -> bool {
    const VERBS: [&str; 8] = [
        "begin",
        "start",
        "commit",
        "end",
        "rollback",
        "abort",
        "savepoint",
        "release",
    ];
    tokens
        .first()
        .is_some_and(|t| VERBS.iter().any(|w| t.is(w)))
        || is_prepare_transaction(tokens)
}

/// `PREPARE TRANSACTION 'id'` (two-phase commit), as opposed to `PREPARE name AS …`.
fn is_prepare_transaction(tokens: &[Token<'_>]) -> bool {
    tokens.first().is_some_and(|t| t.is("prepare"))
        && tokens.get(1).is_some_and(|t| t.is("transaction"))
}

/// Calls whose effect outlives the transaction (session settings and advisory locks).
const SESSION_STATE_FUNCTIONS: [&str; 5] = [
    "set_config",
    "pg_advisory_lock",
    "pg_advisory_lock_shared",
    "pg_try_advisory_lock",
    "pg_try_advisory_lock_shared",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        Statements::parse(sql).iter().map(|s| s.text()).collect()
    }

    /// A text splits on semicolons outside literals, identifiers and comments; empty
    /// statements are dropped and each piece keeps its exact source text.
    #[test]
    fn splits_once_on_top_level_semicolons() {
        assert_eq!(texts("SELECT 1; SELECT 2"), ["SELECT 1", "SELECT 2"]);
        assert_eq!(texts(";; SELECT ';' ;"), ["SELECT ';'"]);
        assert_eq!(
            texts("SELECT $$a;b$$; /* ; */ SELECT \"x;\""),
            ["SELECT $$a;b$$", "SELECT \"x;\""]
        );
        assert!(Statements::parse("-- only a comment").is_empty());
        assert_eq!(Statements::parse("SELECT 1;").len(), 1);
    }

    /// Transaction control is one list, whoever asks: the router rejects it and the executor
    /// never wraps it; `PREPARE name AS …` is not transaction control, `PREPARE TRANSACTION` is.
    #[test]
    fn transaction_control() {
        let control = |sql: &str| {
            Statements::parse(sql)
                .iter()
                .any(|s| s.is_transaction_control())
        };
        for sql in [
            "BEGIN",
            "start transaction read only",
            "COMMIT",
            "END",
            "ROLLBACK TO SAVEPOINT a",
            "ABORT",
            "SAVEPOINT a",
            "RELEASE SAVEPOINT a",
            "PREPARE TRANSACTION 'x'",
        ] {
            assert!(control(sql), "{sql}");
        }
        for sql in [
            "PREPARE q AS SELECT 1",
            "SELECT 1",
            "COMMENT ON TABLE t IS 'x'",
        ] {
            assert!(!control(sql), "{sql}");
        }
    }

    /// Settings, temporary objects, listeners, prepared statements, held cursors and session
    /// locks mark a session as needing a reset; transaction-scoped forms do not.
    #[test]
    fn session_state() {
        let leaves = |sql: &str| Statements::parse(sql).leaves_session_state();
        for sql in [
            "SET search_path = app",
            "set statement_timeout = 50",
            "CREATE TEMP TABLE t (a int)",
            "create temporary view v as select 1",
            "LISTEN ch",
            "PREPARE q AS SELECT 1",
            "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
            "SELECT set_config('a.b', 'c', false)",
            "SELECT pg_advisory_lock(1)",
            "SELECT 1 INTO TEMP t2",
            "SELECT 1; SET x.y = 1",
        ] {
            assert!(leaves(sql), "{sql}");
        }
        for sql in [
            "SET LOCAL search_path = app",
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            "SELECT 1",
            "CREATE TABLE t (a int)",
            "PREPARE TRANSACTION 'x'",
            "DECLARE c CURSOR FOR SELECT 1",
            "SELECT pg_advisory_xact_lock(1)",
        ] {
            assert!(!leaves(sql), "{sql}");
        }
    }

    /// Opening, ending and chaining transactions are tracked; savepoint rollbacks are not ends.
    #[test]
    fn transaction_effects() {
        let effect = |sql: &str| Statements::parse(sql).transaction_effect();
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

    /// What a routing client needs one connection for: transactions in every form the ORMs
    /// send, and state no replay can move; settings and plain statements do not need one.
    /// Only a bare BEGIN / START TRANSACTION may be deferred: modes (isolation, read only)
    /// are checked by the server when they are set.
    #[test]
    fn plain_begin() {
        let plain = |sql: &str| Statements::parse(sql).is_plain_begin();
        for sql in [
            "BEGIN",
            "begin;",
            " Begin Work ",
            "BEGIN TRANSACTION",
            "start transaction;",
            "/* c */ BEGIN -- x",
        ] {
            assert!(plain(sql), "{sql}");
        }
        for sql in [
            "BEGIN ISOLATION LEVEL SERIALIZABLE",
            "BEGIN READ ONLY",
            "START TRANSACTION READ WRITE",
            "BEGIN; SELECT 1",
            "COMMIT",
            "SELECT 1",
            "\"begin\"",
            "",
        ] {
            assert!(!plain(sql), "{sql}");
        }
    }

    #[test]
    fn own_connection() {
        let needs = |sql: &str| Statements::parse(sql).needs_own_connection();
        for sql in [
            "begin",
            "BEGIN;",
            "BEGIN TRANSACTION ISOLATION LEVEL SERIALIZABLE READ ONLY;",
            "start transaction isolation level repeatable read read only",
            "START TRANSACTION",
            "SAVEPOINT sp1",
            "COMMIT",
            "LISTEN ch",
            "CREATE TEMP TABLE t (a int)",
            "PREPARE q AS SELECT 1",
            "SELECT pg_advisory_lock(1)",
            "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
            "SET SESSION AUTHORIZATION bob",
        ] {
            assert!(needs(sql), "{sql}");
        }
        for sql in [
            "SELECT 1",
            "SET search_path TO a",
            "SET TIME ZONE 'UTC'",
            "SELECT set_config('a.b', 'c', false)",
            "RESET ALL",
            "INSERT INTO t VALUES (1)",
            "SELECT pg_advisory_xact_lock(1)",
        ] {
            assert!(!needs(sql), "{sql}");
        }
        let read_only = |sql: &str| Statements::parse(sql).opens_read_only();
        assert!(read_only(
            "BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY;"
        ));
        assert!(!read_only(
            "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE"
        ));
        assert!(read_only(
            "start transaction isolation level repeatable read read only"
        ));
        assert!(!read_only("BEGIN"));
        assert!(!read_only("BEGIN READ WRITE"));
        assert!(!read_only("SET TRANSACTION READ ONLY"));
    }

    /// The commits whose reply tells a failed transaction, and the savepoint rollbacks that mend one.
    #[test]
    fn commits_and_savepoint_rollbacks() {
        let commit = |sql: &str| Statements::parse(sql).is_commit();
        assert!(commit("COMMIT") && commit("end transaction;") && commit("commit work"));
        assert!(!commit("COMMIT PREPARED 'x'") && !commit("COMMIT AND CHAIN"));
        assert!(!commit("SELECT 1; COMMIT") && !commit("ROLLBACK"));
        let mends = |sql: &str| Statements::parse(sql).is_rollback_to_savepoint();
        assert!(mends("ROLLBACK TO SAVEPOINT sp1") && mends("rollback transaction to sp1"));
        assert!(!mends("ROLLBACK") && !mends("ROLLBACK PREPARED 'x'"));
    }

    /// COPY to or from the client is recognised; COPY to a server file is not a stream.
    #[test]
    fn copy_streams() {
        let stream = |sql: &str| Statements::parse(sql).iter().any(|s| s.is_copy_stream());
        assert!(stream("COPY t FROM STDIN"));
        assert!(stream("copy (select 1) to stdout with csv"));
        assert!(!stream("COPY t TO '/tmp/t.csv'"));
    }
}
