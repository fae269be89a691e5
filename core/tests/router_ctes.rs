//! WITH queries are reads only when every CTE, at every depth, and the main statement read.
mod common;
use common::*;

/// Read-only CTEs, recursive ones, SEARCH / CYCLE clauses and CTEs named like verbs are reads.
#[test]
fn read_only_ctes_are_reads() {
    assert_routes(
        Target::Replica,
        Reason::CteRead,
        &[
            "WITH u AS (SELECT * FROM users) SELECT * FROM u",
            "with a as (select 1), b as (select 2) select * from a, b",
            "WITH RECURSIVE t(n) AS (VALUES (1) UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT * FROM t",
            "WITH x AS MATERIALIZED (SELECT 1) SELECT * FROM x",
            "WITH x AS NOT MATERIALIZED (SELECT 1) TABLE x",
            "WITH x AS (WITH y AS (SELECT 1) SELECT * FROM y) SELECT * FROM x",
            "WITH update AS (SELECT 1 AS a) SELECT * FROM update",
            "WITH a AS (SELECT 1), delete AS (SELECT 2) SELECT * FROM delete",
            "WITH RECURSIVE t(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM t WHERE id < 3) SEARCH DEPTH FIRST BY id SET ord SELECT * FROM t",
            "WITH RECURSIVE t(id) AS (SELECT 1 UNION ALL SELECT id FROM t) CYCLE id SET is_cycle USING path SELECT * FROM t",
            "(WITH x AS (SELECT 1) SELECT * FROM x)",
            "WITH x AS (SELECT 1) VALUES (2)",
        ],
    );
}

/// A CTE that inserts, updates, deletes or merges makes the whole query a write.
#[test]
fn data_modifying_ctes_are_writes() {
    assert_routes(
        Target::Primary,
        Reason::DataModifyingCte,
        &[
            "WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM x",
            "with x as (update t set a = 1 returning *) select * from x",
            "WITH x AS (DELETE FROM t RETURNING *) SELECT count(*) FROM x",
            "WITH a AS (SELECT 1), b AS (DELETE FROM t WHERE false RETURNING *) SELECT * FROM b",
            "WITH x AS MATERIALIZED (INSERT INTO t DEFAULT VALUES RETURNING id) SELECT id FROM x",
            "WITH x AS (SELECT * FROM (WITH y AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM y) z) SELECT * FROM x",
            "WITH x AS (MERGE INTO t USING u ON true WHEN MATCHED THEN DELETE RETURNING *) SELECT 1",
        ],
    );
}

/// A WITH whose main statement writes is a write.
#[test]
fn writing_main_statements_are_writes() {
    assert_routes(
        Target::Primary,
        Reason::Write,
        &[
            "WITH x AS (SELECT 1) DELETE FROM t",
            "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
            "WITH update AS (SELECT 1) UPDATE t SET a = 2",
            "WITH x AS (SELECT 1) MERGE INTO t USING x ON true WHEN MATCHED THEN DO NOTHING",
        ],
    );
    assert_routes(
        Target::Primary,
        Reason::Unrecognised,
        &["WITH", "WITH x AS (SELECT 1)"],
    );
}
