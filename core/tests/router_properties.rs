//! Properties over generated input: the lexer and router never panic, tokens tile the text,
//! and wrapping a read in comments, whitespace or parentheses keeps it a read.
mod common;
use common::*;

use proptest::prelude::*;
use read_replica_core::lexer::tokenize;

/// SQL-ish fragments that stress the lexer's edge cases when concatenated at random.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("SELECT ".to_string()),
        Just("INSERT ".to_string()),
        Just("WITH x AS (".to_string()),
        Just("FOR UPDATE ".to_string()),
        Just("'".to_string()),
        Just("''".to_string()),
        Just("E'".to_string()),
        Just("\\".to_string()),
        Just("U&'".to_string()),
        Just("\"".to_string()),
        Just("$$".to_string()),
        Just("$a$".to_string()),
        Just("$1".to_string()),
        Just("--".to_string()),
        Just("\n".to_string()),
        Just("/*".to_string()),
        Just("*/".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just(";".to_string()),
        Just("nextval(".to_string()),
        Just("EXPLAIN (ANALYZE".to_string()),
        Just("EXPLAIN (".to_string()),
        Just("EXPLAIN ".to_string()),
        "[a-zA-Z_ ]{1,6}",
        "[0-9.eE+-]{1,4}",
        any::<char>().prop_map(|c| c.to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary bytes never panic the router.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let sql = String::from_utf8_lossy(&bytes);
        let _ = classify(&sql);
    }

    /// Random SQL-ish text never panics, and its tokens are in-order, non-overlapping slices.
    #[test]
    fn fragments_never_panic_and_tokens_tile(parts in proptest::collection::vec(fragment(), 0..40)) {
        let sql = parts.concat();
        let _ = classify(&sql);
        let mut last_end = 0usize;
        for t in tokenize(&sql) {
            let start = t.text.as_ptr() as usize - sql.as_ptr() as usize;
            prop_assert!(start >= last_end);
            last_end = start + t.text.len();
            prop_assert!(last_end <= sql.len());
            prop_assert!(!t.text.is_empty());
        }
    }

    /// A read stays a read inside any mix of comments, whitespace and parentheses.
    #[test]
    fn wrapped_reads_stay_reads(
        read in prop_oneof![
            Just("SELECT * FROM t WHERE b = 'FOR UPDATE'"),
            Just("WITH x AS (SELECT 1) SELECT * FROM x"),
            Just("VALUES (1)"),
            Just("EXPLAIN DELETE FROM t"),
            Just("SELECT $$ INSERT $$"),
        ],
        before in "[ \t\n]{0,3}",
        comment in "[a-zA-Z ;'()]{0,10}",
        parens in 0usize..4,
    ) {
        let clean = comment.replace("*/", "").replace("/*", "");
        let sql = format!(
            "{before}/* {clean} */{open}{read}{close}\n-- {clean}",
            open = "(".repeat(parens),
            close = ")".repeat(parens),
        );
        prop_assert_eq!(classify(&sql).target, Target::Replica, "{}", sql);
    }

    /// A write stays a write inside any mix of comments, whitespace and parentheses.
    #[test]
    fn wrapped_writes_stay_writes(
        write in prop_oneof![
            Just("DELETE FROM t"),
            Just("SELECT * FROM t FOR UPDATE"),
            Just("WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM x"),
            Just("SELECT nextval('s')"),
            Just("SELECT 1 INTO t2"),
        ],
        comment in "[a-zA-Z ;'()]{0,10}",
        parens in 0usize..4,
    ) {
        let clean = comment.replace("*/", "").replace("/*", "");
        let sql = format!(
            "/* {clean} */{open}{write}{close} -- {clean}",
            open = "(".repeat(parens),
            close = ")".repeat(parens),
        );
        prop_assert_eq!(classify(&sql).target, Target::Primary, "{}", sql);
    }
}
