//! State changes worth telling an operator about — never one per query, except the slow ones
//! when `slowQueryMs` asks for them.

use std::time::SystemTime;

use crate::insights::SlowStatement;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    ReplicaUnhealthy,
    ReplicaRecovered,
    ReplicaLagging,
    ReplicaCaughtUp,
    /// A standby left recovery.
    MemberPromoted,
    /// A primary became a standby.
    MemberDemoted,
    /// Reads on a member failed over (at most one event per member a second).
    Failover,
    /// No member is primary: writes wait for one.
    PrimaryUnreachable,
    /// The member that was primary is primary again.
    PrimaryReachable,
    /// Another member is primary now.
    PrimaryChanged,
    /// More than one member claims to be primary.
    SplitBrain,
    /// A statement took at least `slowQueryMs` (one event per such statement).
    SlowQuery,
}

/// How loud an event is, as a logger's method name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ReplicaUnhealthy => "replica-unhealthy",
            EventKind::ReplicaRecovered => "replica-recovered",
            EventKind::ReplicaLagging => "replica-lagging",
            EventKind::ReplicaCaughtUp => "replica-caught-up",
            EventKind::MemberPromoted => "member-promoted",
            EventKind::MemberDemoted => "member-demoted",
            EventKind::Failover => "failover",
            EventKind::PrimaryUnreachable => "primary-unreachable",
            EventKind::PrimaryReachable => "primary-reachable",
            EventKind::PrimaryChanged => "primary-changed",
            EventKind::SplitBrain => "split-brain",
            EventKind::SlowQuery => "slow-query",
        }
    }

    pub fn level(self) -> Level {
        match self {
            EventKind::ReplicaRecovered
            | EventKind::ReplicaCaughtUp
            | EventKind::PrimaryReachable => Level::Info,
            EventKind::ReplicaUnhealthy
            | EventKind::ReplicaLagging
            | EventKind::Failover
            | EventKind::MemberPromoted
            | EventKind::MemberDemoted
            | EventKind::PrimaryChanged
            | EventKind::SlowQuery => Level::Warn,
            EventKind::PrimaryUnreachable | EventKind::SplitBrain => Level::Error,
        }
    }
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Event {
    pub kind: EventKind,
    /// The member: `primary`, `replica_0`, … (its name from the config it came in).
    pub node: String,
    /// `host:port`; never credentials.
    pub address: String,
    /// One sentence for a log line.
    pub message: String,
    pub at: SystemTime,
    /// The statement, for a `slow-query` event.
    pub statement: Option<SlowStatement>,
}

/// Where events go; set by the binding.
pub type EventSink = Box<dyn Fn(Event) + Send + Sync>;
