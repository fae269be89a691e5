//! One connection held for one client (`getClient`, or a routing client inside a transaction):
//! statements run on it as they are, and it goes back to its pool clean — with pg-pool's
//! release rules (an open transaction rolled back, session state discarded, or closed).

use std::time::Instant;

use crate::client_link::ClientLink;
use crate::cluster::{Checkout, Cluster};
use crate::command;
use crate::cursor::{Pending, Requests};
use crate::error::CoreError;
use crate::insights::Trail;
use crate::node::{insert_lsn, Object};
use crate::node::{ConnState, CursorPlan, CursorTransaction};
use crate::result::{Outcome, QueryOutput, Reply};
use crate::statement::Statements;
use crate::values::Param;

pub struct Dedicated {
    conn: Option<Object>,
    /// The member the connection came from.
    member: usize,
    /// It took the writes at checkout: what it commits is tracked for read-your-writes.
    from_writer: bool,
    /// Whether a transaction may be open, so release can end it before the connection is reused.
    in_transaction: bool,
    /// A bare `BEGIN` the client ran, not yet sent: it goes out with the next statement, in the
    /// same write (as pgjdbc does), which saves a round trip per transaction.
    begin_deferred: bool,
    /// Whether a statement failed in the open transaction (until a savepoint rollback mends it):
    /// its COMMIT then rolls back, and says so, as the server's command tag does.
    failed: bool,
    /// Whether a statement may have left session state (settings, temp tables, listeners, …),
    /// so release discards it before the connection is reused.
    dirty_session: bool,
    /// The client linked to the connection until release.
    link: Option<ClientLink>,
}

impl Drop for Dedicated {
    /// Dropped without release (its client garbage-collected): never pool a connection that
    /// may hold an open transaction or session state.
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if (self.in_transaction && !self.begin_deferred) || self.dirty_session {
                drop(Object::take(conn));
            }
        }
    }
}

impl Dedicated {
    pub fn new(checkout: Checkout) -> Dedicated {
        Dedicated {
            conn: Some(checkout.conn),
            member: checkout.member,
            from_writer: checkout.from_writer,
            in_transaction: false,
            begin_deferred: false,
            failed: false,
            dirty_session: false,
            link: None,
        }
    }

    /// Links a client to the connection until release (its cancel key, its messages).
    pub fn link(&mut self, cluster: &Cluster, client: &ClientLink) {
        if let Some(conn) = self.conn.as_ref() {
            cluster.node(self.member).link(conn, Some(client));
            self.link = Some(client.clone());
        }
    }

    pub fn in_transaction(&self) -> bool {
        self.in_transaction
    }

    /// Runs the text as it is on the connection (transaction control allowed) and tracks what
    /// it did to the session; with `track`, a commit on the primary reports its WAL position.
    /// `trail` learns where it ran; the statement is recorded in the insights.
    pub async fn run(
        &mut self,
        cluster: &Cluster,
        statements: &Statements<'_>,
        params: &[Param],
        track: bool,
        text_types: &[u32],
        trail: &mut Trail,
    ) -> Result<Outcome, CoreError> {
        let started = Instant::now();
        let outcome = self
            .run_here(cluster, statements, params, track, text_types)
            .await;
        trail.route = None;
        trail.held = true;
        trail.ran_on(self.member, self.from_writer);
        cluster.record(statements, &outcome, started.elapsed(), trail);
        outcome
    }

    async fn run_here(
        &mut self,
        cluster: &Cluster,
        statements: &Statements<'_>,
        params: &[Param],
        track: bool,
        text_types: &[u32],
    ) -> Result<Outcome, CoreError> {
        let conn = self.conn.as_ref().ok_or(CoreError::Released)?;
        let node = cluster.node(self.member);
        if !self.in_transaction && params.is_empty() && statements.is_plain_begin() {
            // Answered at once; the server hears it with the next statement. Its
            // transaction_timestamp() is then that statement's start.
            self.in_transaction = true;
            self.begin_deferred = true;
            self.failed = false;
            let command = statements.last().map(|s| command::derive(s.tokens()).name);
            return Ok(Outcome::untracked(Reply::Single(QueryOutput {
                command,
                ..QueryOutput::default()
            })));
        }
        let may_wrap = !self.in_transaction;
        let mut outcome = match std::mem::take(&mut self.begin_deferred) {
            true => node.run_begun(conn, statements, params, text_types).await,
            false => {
                node.run_on(conn, statements, params, may_wrap, text_types)
                    .await
            }
        };
        let effect = statements.transaction_effect();
        // Even a failed statement may have changed the session before it failed.
        self.dirty_session |= statements.leaves_session_state();
        if statements.changes_settings() {
            conn.session.unknown();
        }
        match &mut outcome {
            Ok(done) => {
                if self.failed && self.in_transaction && statements.is_commit() {
                    done.set_last_command("ROLLBACK");
                }
                if effect.is_some() || statements.is_rollback_to_savepoint() {
                    self.failed = false;
                }
                self.in_transaction = effect.unwrap_or(self.in_transaction);
            }
            Err(e) => {
                self.failed |= self.in_transaction || effect == Some(true);
                // After a failed transaction statement the state is unknown: assume open.
                self.in_transaction |= effect.is_some();
                if e.is_connection_failure() {
                    cluster.member_connection_failed(self.member);
                }
                // A write client's primary that refuses (a standby now, shutting down): find
                // out now, so that the next client goes to the new primary.
                if self.from_writer && e.refused_before_running() {
                    cluster.refresh_roles();
                }
            }
        }
        let reply = outcome?;
        // Work now committed on the primary (autocommit, or the COMMIT of a transaction): the
        // WAL position that covers it, for read-your-writes. Any statement counts, since a
        // read-looking one may call a function that writes.
        let write_lsn = match track && !self.in_transaction && self.from_writer {
            true => insert_lsn(conn).await.ok().flatten(),
            false => None,
        };
        Ok(Outcome { reply, write_lsn })
    }

    /// Serves a cursor on the connection, from its first read (`first`) to its end: in the
    /// transaction open on it, or else in one of its own; tracks what it did to the session.
    pub async fn serve_cursor(
        &mut self,
        cluster: &Cluster,
        text: &str,
        params: &[Param],
        track: bool,
        first: Pending,
        mut requests: Requests,
    ) {
        let Some(conn) = self.conn.as_mut() else {
            return first.fail(CoreError::Released);
        };
        let node = cluster.node(self.member);
        if std::mem::take(&mut self.begin_deferred) {
            if let Err(e) = node.begin(conn).await {
                return first.fail(e);
            }
        }
        // The record may only guess (after a transaction statement failed): the server knows.
        if self.in_transaction {
            match node.in_transaction_block(conn).await {
                Ok(open) => self.in_transaction = open,
                Err(e) => return first.fail(e),
            }
        }
        let statements = Statements::parse(text);
        if statements.iter().any(|s| s.is_transaction_control()) {
            return first.fail(CoreError::Unsupported(
                "a cursor reads the rows of one statement: run BEGIN, COMMIT and the like with \
                 client.query()"
                    .into(),
            ));
        }
        self.dirty_session |= statements.leaves_session_state();
        let (transaction, track_lsn) = match self.in_transaction {
            true => (CursorTransaction::Callers, false),
            false => (
                CursorTransaction::Own { read_only: false },
                track && self.from_writer,
            ),
        };
        let plan = CursorPlan {
            statements: &statements,
            params,
            transaction,
            track_lsn,
        };
        let served = node
            .serve_cursor(
                conn,
                &plan,
                first,
                &mut requests,
                None,
                std::future::pending(),
            )
            .await;
        if served.conn != ConnState::Fit {
            // Its transaction state is unknown: release rolls back, or closes the connection.
            self.in_transaction = true;
        }
        if let Some(e) = served.settle() {
            if e.is_connection_failure() {
                cluster.member_connection_failed(self.member);
            }
            if self.from_writer && e.refused_before_running() {
                cluster.refresh_roles();
            }
        }
    }

    /// Returns the connection to its pool clean, or closes it when `destroy` is set (pg-pool's
    /// `release(err)`) or it cannot be cleaned.
    pub async fn release(&mut self, destroy: bool) {
        if let Some(client) = self.link.take() {
            client.detach();
        }
        let Some(conn) = self.conn.take() else {
            return;
        };
        // A BEGIN never sent left nothing to roll back.
        if std::mem::take(&mut self.begin_deferred) {
            self.in_transaction = false;
        }
        let discard = destroy
            || conn.is_closed()
            || (self.in_transaction && conn.batch_execute("ROLLBACK").await.is_err())
            || (self.dirty_session && !discard_session(&conn).await);
        if discard {
            drop(Object::take(conn));
        }
        self.in_transaction = false;
        self.failed = false;
        self.dirty_session = false;
    }
}

/// `DISCARD ALL` drops the session's settings, temp tables, listeners, prepared statements,
/// held cursors and advisory locks; the statement cache goes with the prepared statements.
async fn discard_session(conn: &Object) -> bool {
    conn.statement_cache.clear();
    let discarded = conn.batch_execute("DISCARD ALL").await.is_ok();
    if discarded {
        conn.session.defaults();
    }
    discarded
}
