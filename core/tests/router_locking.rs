//! Locking clauses and SELECT … INTO need the primary, wherever they appear in a query.
mod common;
use common::*;

/// Every row-locking strength, at any depth, sends the query to the primary.
#[test]
fn locking_clauses_are_writes() {
    assert_routes(
        Target::Primary,
        Reason::LockingClause,
        &[
            "SELECT * FROM t FOR UPDATE",
            "select * from t for no key update",
            "SELECT * FROM t FOR SHARE",
            "SELECT * FROM t FOR KEY SHARE",
            "SELECT * FROM t FOR UPDATE OF t NOWAIT",
            "SELECT * FROM t FOR UPDATE SKIP LOCKED",
            "SELECT * FROM t FOR SHARE OF t FOR UPDATE OF u",
            "SELECT * FROM (SELECT * FROM t FOR UPDATE) s",
            "WITH x AS (SELECT * FROM t FOR UPDATE) SELECT * FROM x",
            "SELECT * FROM t WHERE id IN (SELECT id FROM u FOR KEY SHARE)",
            "(SELECT * FROM t FOR UPDATE)",
        ],
    );
}

/// SELECT … INTO creates a table.
#[test]
fn select_into_is_a_write() {
    assert_routes(
        Target::Primary,
        Reason::SelectInto,
        &[
            "SELECT * INTO t2 FROM t",
            "select a, b into temporary t2 from t",
            "SELECT 1 AS a INTO UNLOGGED t3",
            "WITH x AS (SELECT 1) SELECT * INTO t4 FROM x",
            "(SELECT 1 INTO t5)",
        ],
    );
}

/// Keywords that only look like locking (FOR READ ONLY, substring … FOR) stay reads.
#[test]
fn lookalikes_are_reads() {
    assert_target(
        Target::Replica,
        &[
            "SELECT * FROM t FOR READ ONLY",
            "SELECT substring(b FROM 2 FOR 3) FROM t",
            "SELECT 'FOR UPDATE'",
            "SELECT 1 -- FOR UPDATE",
            "SELECT \"into\" FROM t",
        ],
    );
}
