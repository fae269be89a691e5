//! Helpers shared by the router test files.
#![allow(dead_code)]

pub use read_replica_core::router::{Reason, Route, Router, Target};

/// Routes `sql` with the default router.
pub fn classify(sql: &str) -> Route {
    Router::default().classify(sql)
}

/// Asserts the route of every statement in `sqls`.
pub fn assert_routes(target: Target, reason: Reason, sqls: &[&str]) {
    for sql in sqls {
        assert_eq!(
            classify(sql),
            Route { target, reason },
            "statement: {sql:?}"
        );
    }
}

pub fn assert_target(target: Target, sqls: &[&str]) {
    for sql in sqls {
        assert_eq!(classify(sql).target, target, "statement: {sql:?}");
    }
}
