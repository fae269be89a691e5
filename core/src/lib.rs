//! The Rust core of read-replica-manager: configuration, routing, balancing, health, pools and
//! values. No Node-API here: the addon crate at the repository root is the binding.

pub mod balancer;
pub mod checker;
pub mod client_link;
pub mod cluster;
pub mod command;
pub mod config;
pub mod cursor;
pub mod error;
pub mod events;
pub mod fingerprint;
pub mod health;
pub mod lexer;
pub mod lsn;
pub mod metrics;
pub mod node;
pub mod prometheus;
pub mod result;
pub mod router;
pub mod session;
pub mod settings;
pub mod statement;
pub mod text;
pub mod tls;
pub mod topology;
pub mod values;

// The drivers, for the binding to name their types without depending on them twice.
pub use deadpool_postgres;
pub use tokio_postgres;
