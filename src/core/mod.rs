//! The Rust core: configuration, routing, balancing, health, pools and values. No napi below here.

pub mod balancer;
pub mod checker;
pub mod cluster;
pub mod command;
pub mod config;
pub mod error;
pub mod health;
pub mod lexer;
pub mod metrics;
pub mod node;
pub mod router;
pub mod values;
