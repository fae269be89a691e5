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

    /// COPY to or from the client is recognised; COPY to a server file is not a stream.
    #[test]
    fn copy_streams() {
        let stream = |sql: &str| Statements::parse(sql).iter().any(|s| s.is_copy_stream());
        assert!(stream("COPY t FROM STDIN"));
        assert!(stream("copy (select 1) to stdout with csv"));
        assert!(!stream("COPY t TO '/tmp/t.csv'"));
    }
}
