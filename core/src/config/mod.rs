//! Parses and validates node configs and manager options; every default lives here.
//!
//! Input arrives as plain field values (the binding reads JS objects into [`Fields`]) and the
//! environment through a lookup function, so validation is pure and every error names the field
//! or variable at fault. No message ever contains a password.
//!
//! - [`value`]: the JS values configuration is read from.
//! - [`node`]: one node's connection settings (`primaryConfig`, `replicaConfigs[i]`).
//! - [`pg_keys`]: every key node-postgres takes, and what a node config does with each.
//! - [`password`]: where a node's password comes from (a string, or a function per connection).
//! - [`options`]: the manager's options and their environment variables.

mod node;
mod options;
mod password;
mod pg_keys;
mod value;

pub use node::{parse_node, NodeConfig};
pub use options::{parse_options, Consistency, Options};
pub use password::{PasswordProvider, PasswordRequest, PasswordSource};
pub use value::{ConfigValue, Fields};

/// Looks an environment variable up (the process's, or a test's map).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;
