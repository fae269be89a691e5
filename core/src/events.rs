//! State changes worth telling an operator about: never one per query.

use std::time::SystemTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    ReplicaUnhealthy,
    ReplicaRecovered,
    ReplicaLagging,
    ReplicaCaughtUp,
    ReplicaPromoted,
    /// Reads on a replica failed over to the primary (at most one event per replica a second).
    Failover,
    PrimaryUnreachable,
    PrimaryReachable,
    PrimaryInRecovery,
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
            EventKind::ReplicaPromoted => "replica-promoted",
            EventKind::Failover => "failover",
            EventKind::PrimaryUnreachable => "primary-unreachable",
            EventKind::PrimaryReachable => "primary-reachable",
            EventKind::PrimaryInRecovery => "primary-in-recovery",
        }
    }

    pub fn level(self) -> Level {
        match self {
            EventKind::ReplicaRecovered
            | EventKind::ReplicaCaughtUp
            | EventKind::PrimaryReachable => Level::Info,
            EventKind::ReplicaUnhealthy | EventKind::ReplicaLagging | EventKind::Failover => {
                Level::Warn
            }
            EventKind::ReplicaPromoted
            | EventKind::PrimaryUnreachable
            | EventKind::PrimaryInRecovery => Level::Error,
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
    /// `primary`, `replica_0`, …
    pub node: String,
    /// `host:port`; never credentials.
    pub address: String,
    /// One sentence for a log line.
    pub message: String,
    pub at: SystemTime,
}

/// Where events go; set by the binding.
pub type EventSink = Box<dyn Fn(Event) + Send + Sync>;
