//! The napi binding: the only code that touches Node-API. Everything here converts and delegates.

// The binding is registered with Node only outside `cargo test`, so its items look unused there.
#![cfg_attr(test, allow(dead_code))]

pub mod client;
pub mod completions;
pub mod convert;
pub mod cursor;
pub mod error;
pub mod inline;
pub mod insights;
pub mod manager;
pub mod pack;
pub mod password;
pub mod raw;
pub mod session;
