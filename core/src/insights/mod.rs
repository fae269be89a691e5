//! What the manager learns from the statements it runs: stats per fingerprint, slow statements,
//! statements served per member — recorded once per statement, wherever it ran.
//!
//! - [`trail`]: what happened to one statement (route, member, failover), filled in as it runs.
//! - [`stats`]: the bounded per-fingerprint table.
//! - [`histogram`]: durations, for percentiles.

mod histogram;
mod stats;
mod trail;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use stats::{QueryStats, StatementStats, StatsSummary, MAX_TEXT};
pub use trail::Trail;

use crate::config::Options;
use crate::fingerprint::{normalized_text, Fingerprint};
use crate::result::{Outcome, Reply};
use crate::statement::Statements;

/// A statement at least `slowQueryMs` long.
#[derive(Debug, Clone)]
pub struct SlowStatement {
    pub fingerprint: Arc<str>,
    pub duration: Duration,
    pub route: &'static str,
    pub reason: &'static str,
    pub rows: u64,
}

pub struct Insights {
    /// `None` when `queryStatsSize` is 0.
    stats: Option<QueryStats>,
    slow: Option<Duration>,
    /// Statements each member ran, in member order.
    served: Box<[Counter]>,
}

/// A counter alone on its cache line: threads serving different members never contend.
#[repr(align(64))]
#[derive(Default)]
struct Counter(AtomicU64);

impl Insights {
    pub fn new(options: &Options, members: usize) -> Insights {
        Insights {
            stats: (options.query_stats_size > 0)
                .then(|| QueryStats::new(options.query_stats_size, members)),
            slow: options.slow_query,
            served: (0..members).map(|_| Counter::default()).collect(),
        }
    }

    /// Records one statement that ran (or failed) after `elapsed`; fills in its rows, and its
    /// fingerprint text when the trail asks for it. Returns it when it was slow.
    pub fn record(
        &self,
        statements: &Statements<'_>,
        outcome: &Result<Outcome, impl Sized>,
        elapsed: Duration,
        trail: &mut Trail,
    ) -> Option<SlowStatement> {
        if let Ok(done) = outcome {
            trail.rows = rows(&done.reply);
        }
        if let Some(served) = trail.member.and_then(|m| self.served.get(m)) {
            served.0.fetch_add(1, Ordering::Relaxed);
        }
        let slow = self.slow.is_some_and(|limit| elapsed >= limit);
        let text = || normalized_text(statements, MAX_TEXT);
        trail.wants_text |= slow;
        let fingerprint = match &self.stats {
            Some(stats) => {
                let id = trail
                    .fingerprint
                    .unwrap_or_else(|| Fingerprint::of(statements));
                stats.record(id, text, trail, elapsed, outcome.is_err())
            }
            None => trail.wants_text.then(|| text().into()),
        };
        trail.fingerprint_text = fingerprint.clone();
        Some(SlowStatement {
            fingerprint: fingerprint.filter(|_| slow)?,
            duration: elapsed,
            // A recorded statement ran, so it has a route.
            route: trail.route_name().unwrap_or_default(),
            reason: trail.reason_name().unwrap_or_default(),
            rows: trail.rows,
        })
    }

    /// A statement refused before it ran is not recorded; a trace still gets its fingerprint.
    pub fn describe(&self, statements: &Statements<'_>, trail: &mut Trail) {
        if trail.wants_text {
            trail.fingerprint_text = Some(normalized_text(statements, MAX_TEXT).into());
        }
    }

    /// The stats table; `None` when stats are off.
    pub fn stats(&self) -> Option<&QueryStats> {
        self.stats.as_ref()
    }

    /// Statements member `i` ran.
    pub fn served(&self, i: usize) -> u64 {
        self.served
            .get(i)
            .map_or(0, |c| c.0.load(Ordering::Relaxed))
    }
}

/// Rows a reply returned or affected, over all its results.
fn rows(reply: &Reply) -> u64 {
    match reply {
        Reply::Single(output) => output.row_count.unwrap_or(0),
        Reply::Batch(outputs) => outputs.iter().filter_map(|o| o.row_count).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::QueryOutput;
    use crate::router::{Reason, Route, Target};

    fn outcome(rows: u64) -> Result<Outcome, ()> {
        Ok(Outcome::untracked(Reply::Single(QueryOutput {
            row_count: Some(rows),
            ..QueryOutput::default()
        })))
    }

    fn options(size: usize, slow_ms: Option<u64>) -> Options {
        Options {
            query_stats_size: size,
            slow_query: slow_ms.map(Duration::from_millis),
            ..Options::default()
        }
    }

    fn trail(member: usize) -> Trail {
        let mut trail = Trail {
            route: Some(Route {
                target: Target::Replica,
                reason: Reason::Select,
            }),
            ..Trail::default()
        };
        trail.ran_on(member, false);
        trail
    }

    /// A statement is counted for its member and its fingerprint, with its rows; the text comes
    /// back only to a trail that asks.
    #[test]
    fn records_member_rows_and_text() {
        let insights = Insights::new(&options(10, None), 2);
        let statements = Statements::parse("SELECT * FROM t WHERE id = 7");
        let mut quiet = trail(1);
        assert!(insights
            .record(
                &statements,
                &outcome(3),
                Duration::from_millis(1),
                &mut quiet
            )
            .is_none());
        assert_eq!(quiet.rows, 3);
        assert!(quiet.fingerprint_text.is_none());
        let mut traced = trail(1);
        traced.wants_text = true;
        insights.record(
            &statements,
            &outcome(1),
            Duration::from_millis(1),
            &mut traced,
        );
        assert_eq!(
            traced.fingerprint_text.as_deref(),
            Some("SELECT * FROM t WHERE id = $1")
        );
        assert_eq!((insights.served(0), insights.served(1)), (0, 2));
        let [s] = insights.stats().unwrap().snapshot(None).try_into().unwrap();
        assert_eq!((s.calls, s.rows), (2, 4));
    }

    /// At `slowQueryMs` or longer a statement is slow, and tells its fingerprint — with the
    /// stats off too.
    #[test]
    fn slow_statements() {
        for size in [10, 0] {
            let insights = Insights::new(&options(size, Some(50)), 1);
            let statements = Statements::parse("SELECT pg_sleep(0.1)");
            let fast = Duration::from_millis(49);
            assert!(insights
                .record(&statements, &outcome(1), fast, &mut trail(0))
                .is_none());
            let slow = insights
                .record(
                    &statements,
                    &outcome(1),
                    Duration::from_millis(50),
                    &mut trail(0),
                )
                .expect("slow");
            assert_eq!(&*slow.fingerprint, "SELECT pg_sleep($1)");
            assert_eq!(
                (slow.route, slow.reason, slow.rows),
                ("replica", "select", 1)
            );
        }
    }

    /// What recording costs on the query path, on one thread and on two recording the same
    /// statement at once (run with `--release -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn timing() {
        let insights = Insights::new(&options(500, None), 3);
        let n = 1_000_000u32;
        let run = |member: usize| {
            let statements = Statements::parse("SELECT id, i4, t FROM bench_items WHERE id = $1");
            let outcome = outcome(1);
            let start = std::time::Instant::now();
            for _ in 0..n {
                let mut trail = trail(member);
                let elapsed = Duration::from_micros(300);
                insights.record(&statements, &outcome, elapsed, &mut trail);
            }
            start.elapsed() / n
        };
        println!("{:?} per recorded statement, one thread", run(1));
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| run(1));
            let b = s.spawn(|| run(2));
            (a.join().unwrap(), b.join().unwrap())
        });
        println!("{a:?} / {b:?} per recorded statement, two threads");
    }
}
