//! Several statements in one text are a read only when every one of them is.
mod common;
use common::*;

/// All-read batches go to a replica.
#[test]
fn all_read_batches_are_reads() {
    assert_routes(
        Target::Replica,
        Reason::MultiStatementRead,
        &[
            "SELECT 1; SELECT 2",
            "SELECT 1; SHOW search_path; VALUES (1);",
            "select 1;;select 2",
        ],
    );
}

/// One write anywhere makes the batch a write.
#[test]
fn batches_with_a_write_are_writes() {
    assert_routes(
        Target::Primary,
        Reason::MultiStatementWrite,
        &[
            "SELECT 1; INSERT INTO t VALUES (1)",
            "INSERT INTO t VALUES (1); SELECT 1",
            "SELECT 1; SELECT nextval('s')",
            "SELECT 1; FROBNICATE",
        ],
    );
}

/// Semicolons inside literals, identifiers and comments do not split statements.
#[test]
fn quoted_semicolons_do_not_split() {
    assert_routes(
        Target::Replica,
        Reason::Select,
        &[
            "SELECT ';DELETE FROM t'",
            "SELECT $$; DELETE FROM t$$",
            "SELECT \";\" FROM t",
            "SELECT 1 /* ; DELETE FROM t */",
            "SELECT 1; -- DELETE FROM t",
        ],
    );
}
