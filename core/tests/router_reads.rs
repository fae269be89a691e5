//! Statements that only read go to a replica.
mod common;
use common::*;

/// SELECT in every shape: set operations, subqueries, leading parentheses, any case.
#[test]
fn selects_are_reads() {
    assert_routes(
        Target::Replica,
        Reason::Select,
        &[
            "SELECT 1",
            "select * from users where id = $1",
            "SeLeCt a, b FROM t ORDER BY a LIMIT 10 OFFSET 5",
            "(SELECT 1) UNION (SELECT 2)",
            "((select 1))",
            "SELECT 1 UNION ALL SELECT 2 INTERSECT SELECT 3 EXCEPT SELECT 4",
            "SELECT * FROM (SELECT id FROM t) sub WHERE id IN (SELECT id FROM u)",
            "SELECT count(*) FROM t GROUP BY a HAVING count(*) > 1 WINDOW w AS (PARTITION BY a)",
            "SELECT DISTINCT ON (a) a, b FROM t",
            "SELECT * FROM t FOR READ ONLY",
            "SELECT substring('abc' FROM 1 FOR 2)",
            "SELECT overlay('abc' placing 'x' from 2 for 1)",
            "SELECT update FROM t",
            "SELECT currval('s'), lastval()",
        ],
    );
}

/// VALUES and TABLE are queries too.
#[test]
fn values_and_table_are_reads() {
    assert_routes(
        Target::Replica,
        Reason::Select,
        &[
            "VALUES (1, 'a'), (2, 'b')",
            "(VALUES (1))",
            "TABLE users",
            "table public.users",
        ],
    );
}

/// SHOW reads a setting.
#[test]
fn show_is_a_read() {
    assert_routes(
        Target::Replica,
        Reason::Show,
        &["SHOW search_path", "show all", "SHOW TIME ZONE"],
    );
}
