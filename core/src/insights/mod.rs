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
    served: Box<[AtomicU64]>,
}

impl Insights {
    pub fn new(options: &Options, members: usize) -> Insights {
        Insights {
            stats: (options.query_stats_size > 0)
                .then(|| QueryStats::new(options.query_stats_size, members)),
            slow: options.slow_query,
            served: (0..members).map(|_| AtomicU64::new(0)).collect(),
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
            served.fetch_add(1, Ordering::Relaxed);
        }
        let slow = self.slow.is_some_and(|limit| elapsed >= limit);
        let text = || normalized_text(statements, MAX_TEXT);
        trail.wants_text |= slow;
        let fingerprint = match &self.stats {
            Some(stats) => {
                let id = Fingerprint::of(statements);
                stats.record(id, text, trail, elapsed, outcome.is_err())
            }
            None => trail.wants_text.then(|| text().into()),
        };
        trail.fingerprint_text = fingerprint.clone();
        Some(SlowStatement {
            fingerprint: fingerprint.filter(|_| slow)?,
            duration: elapsed,
            route: trail.route_name(),
            reason: trail.reason_name(),
            rows: trail.rows,
        })
    }

    /// The stats table; `None` when stats are off.
    pub fn stats(&self) -> Option<&QueryStats> {
        self.stats.as_ref()
    }

    /// Statements member `i` ran.
    pub fn served(&self, i: usize) -> u64 {
        self.served.get(i).map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

/// Rows a reply returned or affected, over all its results.
fn rows(reply: &Reply) -> u64 {
    match reply {
        Reply::Single(output) => output.row_count.unwrap_or(0),
        Reply::Batch(outputs) => outputs.iter().filter_map(|o| o.row_count).sum(),
    }
}
