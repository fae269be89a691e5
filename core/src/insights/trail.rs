//! What happened to one statement on its way: where it was routed and why, the member that
//! served it, the one it failed over from. Filled in as it runs; read by the stats and by traces.

use std::sync::Arc;

use crate::fingerprint::Fingerprint;
use crate::router::{Route, Target};

#[derive(Debug, Default)]
pub struct Trail {
    /// The router's (or the caller's) decision; `None` before one is made and on a held
    /// connection.
    pub route: Option<Route>,
    /// It ran on a connection held for its client (`getClient`, a pinned `manager.pg` client).
    pub held: bool,
    /// The member that ran it last (the one that answered, or the one that failed it).
    pub member: Option<usize>,
    /// That member took the writes when it ran the statement.
    pub on_writer: bool,
    /// A read failed on this member first and ran elsewhere.
    pub failed_over_from: Option<usize>,
    /// Rows the statement returned or affected.
    pub rows: u64,
    /// Set by a caller that reports the statement (a trace): the fingerprint's text is then
    /// kept here when the statement is recorded.
    pub wants_text: bool,
    pub fingerprint_text: Option<Arc<str>>,
    /// The statement's fingerprint, when the router's path hashed it already (it is hashed once).
    pub fingerprint: Option<Fingerprint>,
}

impl Trail {
    pub fn new(wants_text: bool) -> Trail {
        Trail {
            wants_text,
            ..Trail::default()
        }
    }

    /// Ran on member `i`.
    pub fn ran_on(&mut self, i: usize, on_writer: bool) {
        self.member = Some(i);
        self.on_writer = on_writer;
    }

    /// `'replica'`, `'primary'`, `'reject'` (transaction control), or `'client'` for a held
    /// connection; `None` when the statement never got as far as a route (a closed manager).
    pub fn route_name(&self) -> Option<&'static str> {
        if self.held {
            return Some("client");
        }
        Some(match self.route?.target {
            Target::Replica => "replica",
            Target::Primary => "primary",
            Target::Reject => "reject",
        })
    }

    /// The route's reason (`getMetrics().routes`' keys), or `'client'` for a held connection.
    pub fn reason_name(&self) -> Option<&'static str> {
        if self.held {
            return Some("client");
        }
        self.route.map(|r| r.reason.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::Reason;

    /// A trail names its route: routed, refused, held, or none yet.
    #[test]
    fn route_names() {
        let routed = |target, reason| Trail {
            route: Some(Route { target, reason }),
            ..Trail::default()
        };
        let read = routed(Target::Replica, Reason::Select);
        assert_eq!(
            (read.route_name(), read.reason_name()),
            (Some("replica"), Some("select"))
        );
        let refused = routed(Target::Reject, Reason::TransactionControl);
        assert_eq!(refused.route_name(), Some("reject"));
        assert_eq!(refused.reason_name(), Some("transaction-control"));
        let held = Trail {
            held: true,
            ..Trail::default()
        };
        assert_eq!(
            (held.route_name(), held.reason_name()),
            (Some("client"), Some("client"))
        );
        let none = Trail::default();
        assert_eq!((none.route_name(), none.reason_name()), (None, None));
    }
}
