//! The manager's metrics in Prometheus's text exposition format (version 0.0.4).

use std::fmt::Write;

use crate::cluster::{Cluster, Member, MemberStatus};
use crate::health::Role;
use crate::insights::{QueryStats, StatementStats};
use crate::metrics::LATENCY_BUCKETS_MS;
use crate::node::Node;
use crate::router::Reason;

/// Renders every counter, gauge and histogram; `# HELP` / `# TYPE` once per family.
pub fn render(cluster: &Cluster) -> String {
    let m = cluster.metrics();
    let mut out = String::with_capacity(8 * 1024);
    let mut w = Writer { out: &mut out };
    w.family(
        "rrm_read_queries_total",
        "counter",
        "Statements classified as reads.",
    );
    w.sample("rrm_read_queries_total", &[], m.read_queries as f64);
    w.family(
        "rrm_write_queries_total",
        "counter",
        "Statements sent to the primary as writes.",
    );
    w.sample("rrm_write_queries_total", &[], m.write_queries as f64);
    w.family(
        "rrm_replica_failovers_total",
        "counter",
        "Reads that failed on a replica, or found none eligible, and ran on the primary.",
    );
    w.sample(
        "rrm_replica_failovers_total",
        &[],
        m.replica_failovers as f64,
    );
    w.family(
        "rrm_misrouted_reads_total",
        "counter",
        "Reads a replica refused as writes (SQLSTATE 25006), then run on the primary.",
    );
    w.sample("rrm_misrouted_reads_total", &[], m.misrouted_reads as f64);
    w.family(
        "rrm_routes_total",
        "counter",
        "Statements routed, by reason.",
    );
    for (reason, count) in Reason::ALL.iter().zip(m.routes) {
        w.sample(
            "rrm_routes_total",
            &[("reason", reason.as_str())],
            count as f64,
        );
    }

    w.family(
        "rrm_primary_changes_total",
        "counter",
        "Times another member became the primary (switchover, failover).",
    );
    w.sample("rrm_primary_changes_total", &[], m.primary_changes as f64);

    for (name, help, counter) in [
        (
            "rrm_replica_failovers_by_node_total",
            "Reads that failed on this member and ran elsewhere.",
            Member::failovers as fn(&Member) -> u64,
        ),
        (
            "rrm_health_check_failures_total",
            "Failed health checks, by member.",
            Member::check_failures,
        ),
        (
            "rrm_pipelined_statements_total",
            "Statements that shared a busy connection with others (pipelined), by member.",
            Member::pipelined,
        ),
    ] {
        w.family(name, "counter", help);
        for member in cluster.members() {
            let n = counter(member) as f64;
            w.sample(name, &[("node", member.node().name())], n);
        }
    }

    let status = cluster.member_status();
    let gauges: [Gauge; 4] = [
        (
            "rrm_node_healthy",
            "1 while the member's health checks pass (failureThreshold).",
            |s| s.health.healthy,
        ),
        (
            "rrm_replica_eligible",
            "1 when reads go to the member: a healthy standby within the lag limits.",
            |s| s.health.eligible(),
        ),
        (
            "rrm_node_fenced",
            "1 when the member claims to be primary but another one won (split brain): it serves nothing.",
            |s| s.fenced,
        ),
        (
            "rrm_node_writer",
            "1 for the member that takes the writes now.",
            |s| s.writer,
        ),
    ];
    for (name, help, value) in gauges {
        w.family(name, "gauge", help);
        for s in &status {
            w.sample(name, &[("node", &s.name)], bool_value(value(s)));
        }
    }
    w.family(
        "rrm_node_role",
        "gauge",
        "1 for the role the member reported at its last check.",
    );
    for s in &status {
        for candidate in [Role::Primary, Role::Replica] {
            let value = bool_value(s.health.role == Some(candidate));
            w.sample(
                "rrm_node_role",
                &[("node", &s.name), ("role", candidate.as_str())],
                value,
            );
        }
    }
    w.family(
        "rrm_replication_lag_bytes",
        "gauge",
        "WAL bytes the replica has not replayed.",
    );
    for s in &status {
        if let Some(b) = s.health.lag_bytes {
            w.sample("rrm_replication_lag_bytes", &[("node", &s.name)], b as f64);
        }
    }
    w.family(
        "rrm_replication_lag_seconds",
        "gauge",
        "Time since the replica replayed its last transaction, while it is behind.",
    );
    for s in &status {
        if let Some(l) = s.health.lag {
            w.sample(
                "rrm_replication_lag_seconds",
                &[("node", &s.name)],
                l.as_secs_f64(),
            );
        }
    }

    let nodes: Vec<&Node> = cluster.nodes().collect();
    for (name, help, pick) in [
        ("rrm_pool_size", "Connections open in the node's pool.", 0),
        ("rrm_pool_idle", "Idle connections in the node's pool.", 1),
        ("rrm_pool_waiting", "Requests waiting for a connection.", 2),
    ] {
        w.family(name, "gauge", help);
        for node in &nodes {
            let st = node.pool_status();
            let value = match pick {
                0 => st.size,
                1 => st.available,
                _ => st.waiting,
            };
            w.sample(name, &[("node", node.name())], value as f64);
        }
    }

    w.family(
        "rrm_query_duration_seconds",
        "histogram",
        "Time statements took on each node, connecting included.",
    );
    for node in &nodes {
        let h = node.latency().snapshot();
        let mut cumulative = 0;
        for (i, count) in h.counts.iter().enumerate() {
            cumulative += count;
            let le = LATENCY_BUCKETS_MS
                .get(i)
                .map_or("+Inf".to_string(), |ms| format_number(ms / 1000.0));
            w.sample(
                "rrm_query_duration_seconds_bucket",
                &[("node", node.name()), ("le", &le)],
                cumulative as f64,
            );
        }
        w.sample(
            "rrm_query_duration_seconds_sum",
            &[("node", node.name())],
            h.sum_seconds,
        );
        w.sample(
            "rrm_query_duration_seconds_count",
            &[("node", node.name())],
            cumulative as f64,
        );
    }
    if let Some(stats) = cluster.insights().stats() {
        statements(&mut w, stats, cluster.options().prometheus_top_queries);
    }
    out
}

/// The stats table's size and evictions; with `top` > 0, that many fingerprints (by total
/// time), labelled with their id and text (never a value: the text is normalized).
fn statements(w: &mut Writer<'_>, stats: &QueryStats, top: usize) {
    let summary = stats.summary();
    w.family(
        "rrm_query_stats_fingerprints",
        "gauge",
        "Statement fingerprints the stats keep now (queryStatsSize at most).",
    );
    w.sample(
        "rrm_query_stats_fingerprints",
        &[],
        summary.fingerprints as f64,
    );
    w.family(
        "rrm_query_stats_evicted_total",
        "counter",
        "Fingerprints evicted from the statement stats to make room (since the last reset).",
    );
    w.sample("rrm_query_stats_evicted_total", &[], summary.evicted as f64);
    if top == 0 {
        return;
    }
    let top = stats.snapshot(Some(top));
    type Pick = fn(&StatementStats) -> f64;
    let families: [(&str, &str, Pick); 4] = [
        (
            "rrm_statement_calls_total",
            "Calls of the statement (top fingerprints by total time).",
            |s| s.calls as f64,
        ),
        (
            "rrm_statement_errors_total",
            "Calls of the statement that failed.",
            |s| s.errors as f64,
        ),
        (
            "rrm_statement_rows_total",
            "Rows the statement returned or affected.",
            |s| s.rows as f64,
        ),
        (
            "rrm_statement_seconds_total",
            "Time the statement took, in all.",
            |s| s.total.as_secs_f64(),
        ),
    ];
    for (name, help, pick) in families {
        w.family(name, "counter", help);
        for s in &top {
            let id = s.id.hex();
            let query = label_text(&s.text);
            w.sample(name, &[("id", &id), ("query", query)], pick(s));
        }
    }
}

/// Longest `query` label (bytes): the `id` label identifies the statement, this one reads it.
const QUERY_LABEL_MAX: usize = 200;

/// `text` cut to [`QUERY_LABEL_MAX`] bytes at a char boundary.
fn label_text(text: &str) -> &str {
    if text.len() <= QUERY_LABEL_MAX {
        return text;
    }
    let mut end = QUERY_LABEL_MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A per-member 0/1 gauge: its name, help text, and what makes it 1.
type Gauge = (&'static str, &'static str, fn(&MemberStatus) -> bool);

struct Writer<'a> {
    out: &'a mut String,
}

impl Writer<'_> {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let escaped = v
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                let _ = write!(self.out, "{k}=\"{escaped}\"");
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", format_number(value));
    }
}

fn bool_value(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

fn format_number(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long statement's `query` label is cut to the limit, never inside a character.
    #[test]
    fn query_labels_are_bounded() {
        assert_eq!(label_text("SELECT $1"), "SELECT $1");
        let long = format!("SELECT {}", "é".repeat(200));
        let cut = label_text(&long);
        assert!(cut.len() <= QUERY_LABEL_MAX && cut.len() >= QUERY_LABEL_MAX - 1);
        assert!(long.starts_with(cut));
    }
}
