//! The corpus (tests/corpus/routes.sql) routes as annotated, whatever the case of its keywords
//! and whatever comments, whitespace or parentheses surround it.
mod common;
use common::*;

use read_replica_core::lexer::{tokenize, TokenKind};

pub struct Entry {
    pub target: Target,
    pub reason: Reason,
    pub sql: String,
}

/// Reads the corpus: `=== <target> <reason> [noexec]` headers, each followed by its SQL.
pub fn corpus() -> Vec<Entry> {
    let text = include_str!("corpus/routes.sql");
    let mut entries = Vec::new();
    for block in text.split("\n=== ").skip(1) {
        let (header, sql) = block.split_once('\n').unwrap_or((block, ""));
        let mut words = header.split_whitespace();
        let target = match words.next() {
            Some("replica") => Target::Replica,
            Some("primary") => Target::Primary,
            Some("reject") => Target::Reject,
            other => panic!("bad target in header {header:?}: {other:?}"),
        };
        let reason_name = words.next().expect("a reason");
        let reason = *Reason::ALL
            .iter()
            .find(|r| r.as_str() == reason_name)
            .unwrap_or_else(|| panic!("unknown reason {reason_name:?}"));
        entries.push(Entry {
            target,
            reason,
            sql: sql.strip_suffix('\n').unwrap_or(sql).to_string(),
        });
    }
    entries
}

/// The corpus is large enough to mean something.
#[test]
fn corpus_has_at_least_200_statements() {
    assert!(corpus().len() >= 200, "{} entries", corpus().len());
}

/// Every corpus statement routes exactly as annotated.
#[test]
fn corpus_routes_as_annotated() {
    for e in corpus() {
        assert_eq!(
            classify(&e.sql),
            Route {
                target: e.target,
                reason: e.reason
            },
            "statement: {:?}",
            e.sql
        );
    }
}

/// `sql` with every unquoted word (keyword or identifier) re-cased by `f`; literals, quoted
/// identifiers and comments are kept byte for byte, since their case is their meaning.
fn recase(sql: &str, f: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut at = 0;
    for t in tokenize(sql) {
        let start = t.text.as_ptr() as usize - sql.as_ptr() as usize;
        out.push_str(&sql[at..start]);
        if t.kind == TokenKind::Word {
            out.push_str(&f(t.text));
        } else {
            out.push_str(t.text);
        }
        at = start + t.text.len();
    }
    out.push_str(&sql[at..]);
    out
}

fn mixed_case(word: &str) -> String {
    word.chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// Keyword case never matters: upper, lower and mixed case route as the original does.
#[test]
fn case_never_changes_a_route() {
    for e in corpus() {
        for variant in [
            recase(&e.sql, str::to_uppercase),
            recase(&e.sql, str::to_lowercase),
            recase(&e.sql, mixed_case),
        ] {
            assert_eq!(
                classify(&variant),
                Route {
                    target: e.target,
                    reason: e.reason
                },
                "statement: {variant:?}"
            );
        }
    }
}

/// Comments and whitespace around a statement, and parentheses around a single statement,
/// never change where it goes.
#[test]
fn wrapping_never_changes_a_route() {
    for e in corpus() {
        let mut variants = vec![
            format!("/* leading */ {}", e.sql),
            format!("-- leading\n{}", e.sql),
            format!("\n\t  {}  \n", e.sql),
            format!("/* a /* nested */ comment */\n{}\n-- trailing", e.sql),
        ];
        let single = !tokenize(&e.sql)
            .iter()
            .any(|t| t.kind == TokenKind::Semicolon);
        if single && e.reason != Reason::Empty {
            variants.push(format!("({})", e.sql.trim_end_matches(['\n', ' '])));
            variants.push(format!("( /* c */ ( {}\n) )", e.sql));
        }
        for variant in variants {
            assert_eq!(
                classify(&variant).target,
                e.target,
                "statement: {variant:?}"
            );
        }
    }
}
