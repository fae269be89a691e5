//! Calls of write functions send a read to the primary; the list is configurable.
mod common;
use common::*;
use read_replica_core::router::DEFAULT_WRITE_FUNCTIONS;

/// Every default write function, in any case, qualified or not, is a write.
#[test]
fn default_write_functions_are_writes() {
    for f in DEFAULT_WRITE_FUNCTIONS {
        for sql in [
            format!("SELECT {f}(1)"),
            format!("select {}(1)", f.to_uppercase()),
            format!("SELECT pg_catalog.{f}(1)"),
            format!("SELECT a FROM t WHERE b = {f} (1)"),
            format!("WITH x AS (SELECT {f}(1)) SELECT * FROM x"),
            format!("SELECT \"{f}\"(1)"),
        ] {
            assert_eq!(
                classify(&sql),
                Route {
                    target: Target::Primary,
                    reason: Reason::WriteFunction
                },
                "{sql}"
            );
        }
    }
}

/// A function name that is not called (a column, a string, a comment) is not a call.
#[test]
fn names_that_are_not_calls_are_reads() {
    assert_target(
        Target::Replica,
        &[
            "SELECT nextval FROM t",
            "SELECT 'nextval(1)'",
            "SELECT 1 /* nextval(1) */",
            "SELECT \"NEXTVAL\"(1)",
            "SELECT my_nextval(1)",
        ],
    );
}

/// writeFunctions adds names (bare or schema-qualified); readOnlyFunctions removes them.
#[test]
fn the_list_is_configurable() {
    let router = Router::new(
        &["audit_event".into(), "app.bump".into(), "Mixed_Case".into()],
        &["set_config".into(), "NEXTVAL".into()],
    );
    let target = |sql: &str| router.classify(sql).target;
    assert_eq!(target("SELECT audit_event('x')"), Target::Primary);
    assert_eq!(target("SELECT AUDIT_EVENT('x')"), Target::Primary);
    assert_eq!(target("SELECT mixed_case()"), Target::Primary);
    assert_eq!(target("SELECT app.bump(1)"), Target::Primary);
    assert_eq!(target("SELECT other.bump(1)"), Target::Replica);
    assert_eq!(target("SELECT bump(1)"), Target::Replica);
    assert_eq!(
        target("SELECT set_config('a', 'b', false)"),
        Target::Replica
    );
    assert_eq!(target("SELECT nextval('s')"), Target::Replica);
    assert_eq!(target("SELECT setval('s', 1)"), Target::Primary);
}
