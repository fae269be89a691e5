//! `cargo bench -p read-replica-core --bench router`: the cost of classifying a statement.
//!
//! Prints nanoseconds per classification for typical statements (median of several runs), and
//! for large statements of growing size, whose time per KB shows whether the router is linear.

use std::hint::black_box;
use std::time::Instant;

use read_replica_core::router::Router;

const TYPICAL: &[(&str, &str)] = &[
    ("point read", "SELECT id, name, email, created_at FROM users WHERE id = $1"),
    (
        "join read",
        "SELECT u.id, u.name, count(o.id) AS orders FROM users u LEFT JOIN orders o ON o.user_id = u.id \
         WHERE u.created_at > $1 AND u.status = 'active' GROUP BY u.id, u.name ORDER BY orders DESC LIMIT 50",
    ),
    ("insert", "INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id"),
    (
        "cte read",
        "/* dashboard */ WITH recent AS (SELECT * FROM events WHERE at > now() - interval '1 day'), \
         totals AS (SELECT kind, count(*) AS n FROM recent GROUP BY kind) \
         SELECT kind, n, 'for update' AS note FROM totals ORDER BY n DESC",
    ),
    (
        "locking read",
        "SELECT id, balance FROM accounts WHERE id = $1 AND owner = $2 FOR UPDATE SKIP LOCKED",
    ),
];

/// Nanoseconds per call of `f`, the median of `runs` timings of `iterations` calls.
fn time_ns(runs: usize, iterations: usize, mut f: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iterations {
                f();
            }
            start.elapsed().as_nanos() as f64 / iterations as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[runs / 2]
}

fn main() {
    let router = Router::default();
    println!("{:<14} {:>6} {:>10}", "statement", "bytes", "ns/classify");
    for (name, sql) in TYPICAL {
        let ns = time_ns(15, 20_000, || {
            black_box(router.classify(black_box(sql)));
        });
        println!("{name:<14} {:>6} {ns:>10.0}", sql.len());
    }

    println!("\n{:<14} {:>6} {:>10} {:>10}", "large", "KB", "µs", "µs/KB");
    for kb in [100usize, 200, 400] {
        // A big IN list with string literals and comments: the shape of generated SQL.
        let mut sql = String::from("SELECT * FROM t WHERE id IN (");
        while sql.len() < kb * 1024 {
            sql.push_str("'abc''def', /* c */ 12345, $$x$$, ");
        }
        sql.push_str("0)");
        let us = time_ns(7, 10, || {
            black_box(router.classify(black_box(&sql)));
        }) / 1000.0;
        println!(
            "{:<14} {kb:>6} {us:>10.0} {:>10.2}",
            "IN list",
            us / kb as f64
        );
    }
}
