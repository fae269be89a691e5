//! What happened to one statement on its way: where it was routed and why, the member that
//! served it, the one it failed over from. Filled in as it runs; read by the stats and by traces.

use std::sync::Arc;

use crate::router::{Route, Target};

#[derive(Debug, Default)]
pub struct Trail {
    /// The router's (or the caller's) decision; `None` for a statement on a held connection.
    pub route: Option<Route>,
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

    /// `'replica'`, `'primary'`, or `'client'` for a held connection.
    pub fn route_name(&self) -> &'static str {
        match self.route.map(|r| r.target) {
            None => "client",
            Some(Target::Replica) => "replica",
            Some(_) => "primary",
        }
    }

    /// The route's reason (`getMetrics().routes`' keys), or `'client'` for a held connection.
    pub fn reason_name(&self) -> &'static str {
        self.route.map_or("client", |r| r.reason.as_str())
    }
}
