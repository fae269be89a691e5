//! Comments, literals and quoted identifiers never change a route: decisions are on tokens.
mod common;
use common::*;

/// Keywords inside every kind of literal or comment are ignored.
#[test]
fn hidden_keywords_are_ignored() {
    assert_routes(
        Target::Replica,
        Reason::Select,
        &[
            "SELECT 'INSERT INTO t VALUES (1)'",
            "SELECT 'it''s FOR UPDATE'",
            "SELECT E'\\' FOR UPDATE --'",
            "SELECT e'\\\\', 'FOR UPDATE'",
            "SELECT U&'\\0041 FOR UPDATE'",
            "SELECT N'FOR UPDATE'",
            "SELECT X'1F', B'101'",
            "SELECT $$DELETE FROM t$$",
            "SELECT $fn$ DELETE $$ FROM t $fn$",
            "SELECT $a$ $b$ FOR UPDATE $b$ $a$",
            "SELECT \"FOR\", \"UPDATE\" FROM t",
            "SELECT U&\"d\\0061t\" FROM t",
            "/* INSERT */ SELECT 1",
            "/* outer /* nested INSERT */ still a comment */ SELECT 1",
            "-- DELETE FROM t\nSELECT 1",
            "SELECT 1 -- FOR UPDATE",
            "SELECT 1 /* FOR UPDATE */",
            "SELECT a--b\nFROM t",
            "SELECT 1::text",
            "SELECT $1::int",
        ],
    );
}

/// A comment or literal cannot hide a write either.
#[test]
fn writes_survive_comments() {
    assert_target(
        Target::Primary,
        &[
            "/* SELECT */ DELETE FROM t",
            "-- SELECT\nINSERT INTO t VALUES ('SELECT')",
            "SELECT 1 /* */ FOR UPDATE",
            "SELECT 'a' || $x$b$x$ FOR UPDATE",
            "SELECT E'\\'' FOR UPDATE",
        ],
    );
}

/// Unterminated literals and comments are read to the end and never make a read.
#[test]
fn unterminated_text_is_not_a_read_trick() {
    assert_target(
        Target::Primary,
        &["/* SELECT 1", "'SELECT 1", "$$ SELECT 1"],
    );
    // The server rejects these; they still route somewhere sane without panicking.
    for sql in [
        "SELECT 'abc",
        "SELECT $q$ abc",
        "SELECT /* abc",
        "SELECT E'\\",
    ] {
        let _ = classify(sql);
    }
}
