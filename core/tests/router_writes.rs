//! Every statement that changes data, schema or session state goes to the primary.
mod common;
use common::*;

/// DML, DDL and every utility statement are writes.
#[test]
fn write_statements_go_to_primary() {
    assert_routes(
        Target::Primary,
        Reason::Write,
        &[
            "INSERT INTO t VALUES (1)",
            "insert into t select * from u",
            "UPDATE t SET a = 1",
            "DELETE FROM t",
            "MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE",
            "CREATE TABLE t (a int)",
            "CREATE INDEX CONCURRENTLY i ON t (a)",
            "ALTER TABLE t ADD COLUMN b int",
            "DROP TABLE t",
            "TRUNCATE t",
            "GRANT SELECT ON t TO PUBLIC",
            "REVOKE ALL ON t FROM PUBLIC",
            "COPY t FROM STDIN",
            "COPY (SELECT 1) TO STDOUT",
            "CALL p()",
            "DO $$ BEGIN PERFORM 1; END $$",
            "LOCK TABLE t IN ACCESS EXCLUSIVE MODE",
            "VACUUM t",
            "VACUUM (ANALYZE) t",
            "ANALYZE t",
            "ANALYSE t",
            "CLUSTER t USING i",
            "REINDEX TABLE t",
            "REFRESH MATERIALIZED VIEW mv",
            "COMMENT ON TABLE t IS 'x'",
            "SECURITY LABEL ON TABLE t IS 'x'",
            "SET search_path = app",
            "SET LOCAL statement_timeout = 0",
            "RESET ALL",
            "DISCARD ALL",
            "LISTEN ch",
            "NOTIFY ch, 'x'",
            "UNLISTEN *",
            "PREPARE q AS SELECT 1",
            "EXECUTE q",
            "DEALLOCATE q",
            "DECLARE c CURSOR FOR SELECT 1",
            "FETCH 10 FROM c",
            "MOVE NEXT IN c",
            "CLOSE c",
            "CHECKPOINT",
            "LOAD 'auto_explain'",
            "IMPORT FOREIGN SCHEMA s FROM SERVER x INTO y",
            "REASSIGN OWNED BY a TO b",
        ],
    );
}

/// Text the router does not recognise, or no statement at all, goes to the primary.
#[test]
fn unknown_and_empty_go_to_primary() {
    assert_routes(
        Target::Primary,
        Reason::Unrecognised,
        &["FROBNICATE t", "42", "'select'", "\"select\" 1", "$1"],
    );
    assert_routes(
        Target::Primary,
        Reason::Empty,
        &[
            "",
            "   ",
            "\n\t",
            "-- only a comment",
            "/* only */",
            ";",
            ";;",
        ],
    );
}
