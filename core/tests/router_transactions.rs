//! Transaction control cannot go through manager.query: it is rejected, never routed.
mod common;
use common::*;

/// Every statement that opens, ends or marks a transaction is rejected.
#[test]
fn transaction_control_is_rejected() {
    assert_routes(
        Target::Reject,
        Reason::TransactionControl,
        &[
            "BEGIN",
            "begin transaction isolation level serializable",
            "BEGIN WORK",
            "START TRANSACTION READ ONLY",
            "COMMIT",
            "commit and chain",
            "END",
            "ROLLBACK",
            "ABORT",
            "SAVEPOINT a",
            "RELEASE SAVEPOINT a",
            "RELEASE a",
            "ROLLBACK TO SAVEPOINT a",
            "PREPARE TRANSACTION 'tx1'",
            "COMMIT PREPARED 'tx1'",
            "ROLLBACK PREPARED 'tx1'",
            "BEGIN; INSERT INTO t VALUES (1); COMMIT",
            "SELECT 1; COMMIT",
            "/* begin */ BEGIN",
        ],
    );
}

/// PREPARE of a statement (not a transaction) is an ordinary write.
#[test]
fn prepare_statement_is_not_transaction_control() {
    assert_routes(Target::Primary, Reason::Write, &["PREPARE q AS SELECT 1"]);
}
