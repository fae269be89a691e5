//! EXPLAIN plans without running; EXPLAIN ANALYZE runs its statement, so it routes like it.
mod common;
use common::*;

/// EXPLAIN without ANALYZE is a read, whatever it explains.
#[test]
fn plain_explain_is_a_read() {
    assert_routes(
        Target::Replica,
        Reason::Explain,
        &[
            "EXPLAIN SELECT 1",
            "explain delete from t",
            "EXPLAIN VERBOSE INSERT INTO t VALUES (1)",
            "EXPLAIN (COSTS OFF, FORMAT JSON) UPDATE t SET a = 1",
            "EXPLAIN (ANALYZE false) DELETE FROM t",
            "EXPLAIN (ANALYZE off, BUFFERS) DELETE FROM t",
            "EXPLAIN (ANALYZE 0) DELETE FROM t",
            "EXPLAIN ANALYZE SELECT * FROM t",
            "EXPLAIN (ANALYZE, BUFFERS) SELECT 1",
            "EXPLAIN ANALYZE VERBOSE WITH x AS (SELECT 1) SELECT * FROM x",
        ],
    );
}

/// EXPLAIN ANALYZE of anything that is not a read runs a write.
#[test]
fn explain_analyze_of_a_write_is_a_write() {
    assert_routes(
        Target::Primary,
        Reason::ExplainAnalyzeWrite,
        &[
            "EXPLAIN ANALYZE DELETE FROM t",
            "explain analyse insert into t values (1)",
            "EXPLAIN (ANALYZE) UPDATE t SET a = 1",
            "EXPLAIN (ANALYZE true, TIMING off) MERGE INTO t USING u ON true WHEN MATCHED THEN DELETE",
            "EXPLAIN (FORMAT YAML, ANALYZE) SELECT nextval('s')",
            "EXPLAIN ANALYZE SELECT * FROM t FOR UPDATE",
            "EXPLAIN ANALYZE VERBOSE WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
            "EXPLAIN ANALYZE CREATE TABLE t2 AS SELECT 1",
        ],
    );
}

/// Truncated EXPLAIN text never panics and never reads.
#[test]
fn truncated_explain_goes_to_primary() {
    assert_routes(
        Target::Primary,
        Reason::ExplainAnalyzeWrite,
        &["EXPLAIN (ANALYZE", "EXPLAIN ANALYZE"],
    );
    assert_routes(Target::Replica, Reason::Explain, &["EXPLAIN (", "EXPLAIN"]);
}
