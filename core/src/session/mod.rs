//! A routing client (`manager.pg`'s `Client`): statements are routed one by one, as `query()`
//! routes them, except while the client needs one connection — a transaction, or state that
//! cannot follow it — when they run on a connection held for it. Its settings follow it to
//! every connection it uses.
//!
//! - [`dedicated`]: one connection held for one client, and how it goes back to its pool.

mod dedicated;

pub use dedicated::Dedicated;

use crate::client_link::{ClientLink, OnMessage};
use crate::cluster::{Causal, ClientKind, Cluster};
use crate::cursor::{Pending, Requests};
use crate::error::CoreError;
use crate::insights::Trail;
use crate::node::StatementOptions;
use crate::result::Outcome;
use crate::settings::Settings;
use crate::statement::Statements;
use crate::values::Param;

#[derive(Default)]
pub struct RoutingSession {
    /// The connection held while the client needs one.
    held: Option<Dedicated>,
    /// The held connection keeps state that cannot follow the client: held until release.
    pinned: bool,
    settings: Settings,
    /// Settings made inside the held transaction: the client's once it commits.
    pending: Settings,
    /// The link to the connection that runs the client's work now, wherever it is.
    link: ClientLink,
}

impl RoutingSession {
    /// A session whose notices and notifications go to `on_message`.
    pub fn new(on_message: Option<OnMessage>) -> RoutingSession {
        RoutingSession {
            link: ClientLink::new(on_message),
            ..RoutingSession::default()
        }
    }

    /// The client's link, to cancel its running statement from outside the session.
    pub fn link(&self) -> ClientLink {
        self.link.clone()
    }

    /// Runs one text for the client: on its held connection, or on one it takes for a
    /// transaction or for state that must stay put, or routed.
    pub async fn run(
        &mut self,
        cluster: &Cluster,
        sql: &str,
        params: &[Param],
        causal: Causal,
        text_types: &[u32],
        trail: &mut Trail,
    ) -> Result<Outcome, CoreError> {
        let statements = Statements::parse(sql);
        if self.held.is_none() && statements.needs_own_connection() {
            self.hold(cluster, &statements, causal).await?;
        }
        if self.held.is_some() {
            return self
                .run_held(cluster, &statements, params, causal, text_types, trail)
                .await;
        }
        let makes_settings = statements.changes_settings();
        let settings = (!self.settings.is_empty()).then_some(&self.settings);
        let options = StatementOptions {
            settings,
            text_types,
            client: Some(&self.link),
            ..StatementOptions::default()
        };
        let outcome = cluster
            .query_statements(&statements, params, None, causal, options, trail)
            .await;
        if outcome.is_ok() && makes_settings {
            statements
                .iter()
                .for_each(|s| self.settings.record(&s, params));
        }
        outcome
    }

    /// Takes a connection for the client: from the primary, or from a standby for a
    /// transaction declared read only (unless the client's reads must see the primary).
    async fn hold(
        &mut self,
        cluster: &Cluster,
        statements: &Statements<'_>,
        causal: Causal,
    ) -> Result<(), CoreError> {
        let standby_may = statements.opens_read_only()
            && !statements.pins_session()
            && !causal.strong
            && causal.min_lsn.is_none();
        let kind = match standby_may {
            true => ClientKind::Read,
            false => ClientKind::Write,
        };
        let settings = (!self.settings.is_empty()).then_some(&self.settings);
        let mut held = Dedicated::new(cluster.checkout(kind, settings).await?);
        held.link(cluster, &self.link);
        self.held = Some(held);
        Ok(())
    }

    async fn run_held(
        &mut self,
        cluster: &Cluster,
        statements: &Statements<'_>,
        params: &[Param],
        causal: Causal,
        text_types: &[u32],
        trail: &mut Trail,
    ) -> Result<Outcome, CoreError> {
        let Some(held) = self.held.as_mut() else {
            return Err(CoreError::Released);
        };
        let was_in_transaction = held.in_transaction();
        let track = causal.track_write;
        let outcome = held
            .run(cluster, statements, params, track, text_types, trail)
            .await;
        self.pinned |= statements.pins_session();
        if outcome.is_ok() {
            let made_in_transaction = was_in_transaction || held.in_transaction();
            let settings = match made_in_transaction {
                true => &mut self.pending,
                false => &mut self.settings,
            };
            statements.iter().for_each(|s| settings.record(&s, params));
        }
        if !held.in_transaction() {
            // The transaction ended: its settings stand only if it committed.
            let pending = std::mem::take(&mut self.pending);
            let committed = outcome
                .as_ref()
                .is_ok_and(|o| o.reply.last_command() == Some("COMMIT"));
            if committed {
                self.settings.merge(pending);
            }
            if !self.pinned {
                held.release(false).await;
                self.held = None;
            }
        }
        outcome
    }

    /// Serves a cursor for the client from its first read: on the held connection (in its
    /// transaction), or else routed as `manager.cursor()` routes it (without the client's
    /// settings, on a connection of its own).
    pub async fn serve_cursor(
        &mut self,
        cluster: &Cluster,
        sql: &str,
        params: &[Param],
        causal: Causal,
        first: Pending,
        requests: Requests,
    ) {
        match self.held.as_mut() {
            Some(held) => {
                let track = causal.track_write;
                held.serve_cursor(cluster, sql, params, track, first, requests)
                    .await
            }
            None => {
                cluster
                    .serve_opened_cursor(sql, params, None, causal, first, requests)
                    .await
            }
        }
    }

    /// Ends the client: its held connection goes back to its pool clean, or is closed.
    pub async fn release(&mut self, destroy: bool) {
        if let Some(mut held) = self.held.take() {
            held.release(destroy).await;
        }
        self.pinned = false;
        self.settings = Settings::default();
        self.pending = Settings::default();
    }
}
