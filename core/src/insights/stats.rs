//! Statement stats per fingerprint, as pg_stat_statements keeps them: calls, errors, rows, time
//! (total, max, percentiles), where they ran. Bounded: past `capacity` fingerprints, the 5% with
//! the least total time make room, and are counted as evicted.
//!
//! Recording a known fingerprint takes a shared lock and a few atomic adds; only a new one takes
//! the exclusive lock (and builds its text).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use super::histogram::DurationHistogram;
use super::trail::Trail;
use crate::fingerprint::Fingerprint;
use crate::router::{Reason, Route, Target};

/// Longest fingerprint text kept (bytes).
pub const MAX_TEXT: usize = 4096;

/// Route codes of [`Entry::route`]: 0 a held connection, else 1 + the reason's index, plus
/// [`TO_PRIMARY`] when it was placed on the primary.
const TO_PRIMARY: u8 = 0x80;

struct Entry {
    text: Arc<str>,
    errors: AtomicU64,
    rows: AtomicU64,
    total_nanos: AtomicU64,
    max_nanos: AtomicU64,
    failovers: AtomicU64,
    /// The latest call's route (see [`TO_PRIMARY`]).
    route: AtomicU8,
    /// Calls per member, in member order.
    members: Box<[AtomicU64]>,
    durations: DurationHistogram,
}

impl Entry {
    fn new(text: Arc<str>, members: usize) -> Entry {
        Entry {
            text,
            errors: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            total_nanos: AtomicU64::new(0),
            max_nanos: AtomicU64::new(0),
            failovers: AtomicU64::new(0),
            route: AtomicU8::new(0),
            members: (0..members).map(|_| AtomicU64::new(0)).collect(),
            durations: DurationHistogram::default(),
        }
    }

    /// One call. Every atomic add here is contended by the threads running the same statement,
    /// so as few as can be: the histogram counts the calls, the max is written only when it grows.
    fn add(&self, trail: &Trail, elapsed: Duration, failed: bool) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.total_nanos.fetch_add(nanos, Ordering::Relaxed);
        if nanos > self.max_nanos.load(Ordering::Relaxed) {
            self.max_nanos.fetch_max(nanos, Ordering::Relaxed);
        }
        self.durations.record(elapsed);
        if failed {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        if trail.rows > 0 {
            self.rows.fetch_add(trail.rows, Ordering::Relaxed);
        }
        if trail.failed_over_from.is_some() {
            self.failovers.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(calls) = trail.member.and_then(|m| self.members.get(m)) {
            calls.fetch_add(1, Ordering::Relaxed);
        }
        let route = route_code(trail.route);
        if self.route.load(Ordering::Relaxed) != route {
            self.route.store(route, Ordering::Relaxed);
        }
    }
}

fn route_code(route: Option<Route>) -> u8 {
    let Some(route) = route else { return 0 };
    let reason = Reason::ALL
        .iter()
        .position(|&r| r == route.reason)
        .unwrap_or(0) as u8;
    let primary = match route.target {
        Target::Replica => 0,
        _ => TO_PRIMARY,
    };
    (reason + 1) | primary
}

fn route_of(code: u8) -> Option<Route> {
    let reason = *Reason::ALL.get(((code & !TO_PRIMARY) as usize).checked_sub(1)?)?;
    let target = match code & TO_PRIMARY {
        0 => Target::Replica,
        _ => Target::Primary,
    };
    Some(Route { target, reason })
}

/// Fingerprints are hashes already: the map uses them as they are.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Table = HashMap<u64, Entry, BuildHasherDefault<IdHasher>>;

pub struct QueryStats {
    capacity: usize,
    members: usize,
    table: RwLock<Table>,
    evicted: AtomicU64,
    /// The last reset (or the start).
    since: Mutex<SystemTime>,
}

/// One fingerprint's stats, as `getQueryStats()` reports them.
#[derive(Debug, Clone)]
pub struct StatementStats {
    pub id: Fingerprint,
    pub text: Arc<str>,
    pub calls: u64,
    pub errors: u64,
    pub rows: u64,
    pub total: Duration,
    pub max: Duration,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The latest call's route; `None` for a held connection.
    pub route: Option<Route>,
    /// Calls per member, in member order.
    pub members: Vec<u64>,
    pub failovers: u64,
}

/// The table as a whole.
#[derive(Debug, Clone, Copy)]
pub struct StatsSummary {
    pub fingerprints: usize,
    pub capacity: usize,
    pub evicted: u64,
    pub since: SystemTime,
}

impl QueryStats {
    pub fn new(capacity: usize, members: usize) -> QueryStats {
        QueryStats {
            capacity: capacity.max(1),
            members,
            table: RwLock::new(Table::default()),
            evicted: AtomicU64::new(0),
            since: Mutex::new(SystemTime::now()),
        }
    }

    /// Adds one call of fingerprint `id`; `text` builds its text when it is new. Returns the
    /// text when `trail.wants_text`.
    pub fn record(
        &self,
        id: Fingerprint,
        text: impl FnOnce() -> String,
        trail: &Trail,
        elapsed: Duration,
        failed: bool,
    ) -> Option<Arc<str>> {
        {
            let table = self.table.read().unwrap_or_else(|e| e.into_inner());
            if let Some(entry) = table.get(&id.0) {
                entry.add(trail, elapsed, failed);
                return trail.wants_text.then(|| entry.text.clone());
            }
        }
        let text: Arc<str> = text().into();
        let mut table = self.table.write().unwrap_or_else(|e| e.into_inner());
        if !table.contains_key(&id.0) && table.len() >= self.capacity {
            self.evict(&mut table);
        }
        let entry = table
            .entry(id.0)
            .or_insert_with(|| Entry::new(text, self.members));
        entry.add(trail, elapsed, failed);
        trail.wants_text.then(|| entry.text.clone())
    }

    /// Drops the 5% of fingerprints (at least one) with the least total time.
    fn evict(&self, table: &mut Table) {
        let mut totals: Vec<(u64, u64)> = table
            .iter()
            .map(|(&id, e)| (e.total_nanos.load(Ordering::Relaxed), id))
            .collect();
        let drop = (table.len() / 20).max(1);
        totals.select_nth_unstable(drop - 1);
        for &(_, id) in &totals[..drop] {
            table.remove(&id);
        }
        self.evicted.fetch_add(drop as u64, Ordering::Relaxed);
    }

    /// Every fingerprint kept, by total time, most first; at most `limit`.
    pub fn snapshot(&self, limit: Option<usize>) -> Vec<StatementStats> {
        let table = self.table.read().unwrap_or_else(|e| e.into_inner());
        // Totals read once: calls still running change them, and a sort needs fixed keys.
        let mut order: Vec<(u64, u64, &Entry)> = table
            .iter()
            .map(|(&id, e)| (e.total_nanos.load(Ordering::Relaxed), id, e))
            .collect();
        order.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        order.truncate(limit.unwrap_or(usize::MAX));
        order
            .into_iter()
            .map(|(total, id, e)| {
                let max = Duration::from_nanos(e.max_nanos.load(Ordering::Relaxed));
                // A bucket's midpoint may lie past the slowest call: never report more.
                let max_ms = max.as_secs_f64() * 1000.0;
                let (calls, quantiles) = e.durations.read([0.5, 0.99]);
                let [p50_ms, p99_ms] = quantiles.map(|q| q.min(max_ms));
                StatementStats {
                    id: Fingerprint(id),
                    text: e.text.clone(),
                    calls,
                    errors: e.errors.load(Ordering::Relaxed),
                    rows: e.rows.load(Ordering::Relaxed),
                    total: Duration::from_nanos(total),
                    max,
                    p50_ms,
                    p99_ms,
                    route: route_of(e.route.load(Ordering::Relaxed)),
                    members: e
                        .members
                        .iter()
                        .map(|c| c.load(Ordering::Relaxed))
                        .collect(),
                    failovers: e.failovers.load(Ordering::Relaxed),
                }
            })
            .collect()
    }

    pub fn summary(&self) -> StatsSummary {
        let fingerprints = self.table.read().unwrap_or_else(|e| e.into_inner()).len();
        StatsSummary {
            fingerprints,
            capacity: self.capacity,
            evicted: self.evicted.load(Ordering::Relaxed),
            since: *self.since.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Forgets every fingerprint and the evictions.
    pub fn reset(&self) {
        let mut table = self.table.write().unwrap_or_else(|e| e.into_inner());
        table.clear();
        self.evicted.store(0, Ordering::Relaxed);
        *self.since.lock().unwrap_or_else(|e| e.into_inner()) = SystemTime::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_on(member: usize) -> Trail {
        Trail {
            route: Some(Route {
                target: Target::Replica,
                reason: Reason::Select,
            }),
            member: Some(member),
            rows: 2,
            ..Trail::default()
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Calls of one fingerprint add up: calls, errors, rows, time, members, the latest route.
    #[test]
    fn calls_add_up() {
        let stats = QueryStats::new(10, 3);
        let id = Fingerprint(7);
        stats.record(id, || "SELECT $1".into(), &read_on(1), ms(2), false);
        stats.record(id, || unreachable!(), &read_on(2), ms(4), true);
        let mut held = read_on(0);
        held.route = None;
        stats.record(id, || unreachable!(), &held, ms(6), false);
        let [s] = stats.snapshot(None).try_into().unwrap();
        assert_eq!(&*s.text, "SELECT $1");
        assert_eq!((s.calls, s.errors, s.rows), (3, 1, 6));
        assert_eq!((s.total, s.max), (ms(12), ms(6)));
        assert_eq!(s.members, vec![1, 1, 1]);
        assert_eq!(s.route, None);
        assert!(s.p50_ms <= 6.0 && s.p99_ms <= 6.0, "never past the max");
    }

    /// The text comes back only to a caller that asks for it.
    #[test]
    fn text_on_demand() {
        let stats = QueryStats::new(10, 1);
        let mut trail = read_on(0);
        assert!(stats
            .record(Fingerprint(1), || "a".into(), &trail, ms(1), false)
            .is_none());
        trail.wants_text = true;
        let text = stats.record(Fingerprint(1), || unreachable!(), &trail, ms(1), false);
        assert_eq!(text.as_deref(), Some("a"));
    }

    /// Past capacity, the fingerprints with the least total time go, and are counted.
    #[test]
    fn eviction_keeps_the_heaviest() {
        let stats = QueryStats::new(4, 1);
        for i in 0..4 {
            stats.record(
                Fingerprint(i),
                || format!("q{i}"),
                &read_on(0),
                ms(10 + i),
                false,
            );
        }
        stats.record(Fingerprint(9), || "new".into(), &read_on(0), ms(1), false);
        let kept: Vec<_> = stats.snapshot(None).iter().map(|s| s.id.0).collect();
        assert_eq!(kept, vec![3, 2, 1, 9]);
        assert_eq!(stats.summary().evicted, 1);
        assert_eq!(stats.snapshot(Some(2)).len(), 2);
        stats.reset();
        assert_eq!(stats.summary().fingerprints, 0);
        assert_eq!(stats.summary().evicted, 0);
    }

    /// A route survives its compact form.
    #[test]
    fn route_codes_round_trip() {
        for reason in Reason::ALL {
            for target in [Target::Replica, Target::Primary] {
                let route = Some(Route { target, reason });
                assert_eq!(route_of(route_code(route)), route);
            }
        }
        assert_eq!(route_of(route_code(None)), None);
    }
}
