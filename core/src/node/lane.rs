//! Lanes: pooled connections shared by concurrent plain statements, pipelined on one socket.
//!
//! tokio-postgres writes every request its client is given at once and hands the responses back
//! in order, and each statement ends with its own Sync: outside a transaction block, one
//! statement's error ends only its own implicit transaction. So a statement that needs nothing
//! of a session — one statement, no settings, nothing left in the session, no client linked —
//! may run on a connection other such statements are using (what postgres.js does). It does so
//! only when the pool has no idle connection and cannot open another: instead of waiting for a
//! connection it queues behind at most `depth - 1` others on the least loaded lane.
//!
//! Statements known to be brisk (see `brisk.rs`) go further: before they take an idle
//! connection they join the fullest lane of brisk statements with fewer than `brisk_depth` on
//! it, so that short statements run pipelined on as few connections as their number needs
//! (one per `brisk_depth` of them), however many the pool has. Fewer server backends woken per
//! statement, fewer writes and reads on fewer sockets; the price, a short statement waiting for
//! at most `brisk_depth - 1` other short ones, is bounded by what makes a statement brisk. As
//! more run at once, more lanes open: the connections follow the load. A long statement, or one
//! never seen, takes a connection of its own first as before, and a lane with one on it takes no
//! brisk newcomer.
//!
//! Failure semantics stay those of an exclusive connection, statement by statement: a broken
//! lane fails every statement on it and each handles that as before (a read is retried on a
//! fresh connection, a write's outcome is unknown); a statement that timed out leaves its lane
//! to be canceled and closed by the last one out (a cancel sent at once could stop a
//! neighbour's statement instead). Connections others wait for exclusively (`getClient`,
//! cursors, sessions) are not starved: while such a wait is on, no lane takes a newcomer, so
//! the lanes empty and go back to the pool.

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::{Node, Object};
use crate::error::CoreError;
use crate::fingerprint::Fingerprint;
use crate::statement::Statements;

/// A lane none of whose statements has finished for this long takes no newcomer: one slow
/// statement (a report, a lock wait) must not hold up a queue of short ones behind it.
const STALL: Duration = Duration::from_millis(20);

/// A lane of brisk statements none of which has finished for this long takes no brisk
/// newcomer: a statement known to be short has turned long (a lock wait, a busy server).
const BRISK_STALL: Duration = Duration::from_millis(2);

/// The lanes of one node.
pub(super) struct Lanes {
    /// Statements one lane carries at most (below 2: no sharing).
    depth: usize,
    /// Brisk statements join a lane of brisk ones with fewer than this on it before they take
    /// an idle connection (below 2: they don't).
    brisk_depth: usize,
    open: Mutex<Vec<Arc<Lane>>>,
    /// Shareable statements waiting for room on a lane or a connection from the pool; the
    /// pool's other waiters want a connection of their own.
    waiting: AtomicUsize,
    /// Told when a lane has room again.
    room: Notify,
    /// The origin of [`Lane::progress`].
    epoch: Instant,
    /// Statements that joined a lane another statement was using.
    joined: AtomicU64,
}

/// One pooled connection and the statements on it now.
pub(super) struct Lane {
    conn: Object,
    /// Statements on it now; changed under [`Lanes::open`]'s lock only.
    users: AtomicUsize,
    /// When a statement on it last finished (or it opened), in ns since [`Lanes::epoch`].
    progress: AtomicU64,
    /// Broken: closed, never pooled again, once the last statement on it is done.
    broken: AtomicBool,
    /// A statement on it timed out: canceled and closed once the last one is done.
    abandoned: AtomicBool,
    /// Every statement that came on it was brisk; changed under [`Lanes::open`]'s lock only.
    brisk: AtomicBool,
}

impl Lanes {
    /// Lanes of at most `depth` statements, of which brisk ones gather `brisk_depth`.
    pub(super) fn new(depth: usize, brisk_depth: usize) -> Lanes {
        Lanes {
            depth,
            brisk_depth: brisk_depth.min(depth),
            open: Mutex::new(Vec::new()),
            waiting: AtomicUsize::new(0),
            room: Notify::new(),
            epoch: Instant::now(),
            joined: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Lane>>> {
        // A panic while holding the lock leaves the list as consistent as any moment's.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A lane for `conn`, checked out for the statement that opens it.
    fn start<'a>(
        &'a self,
        node: &'a Node,
        conn: Object,
        reused: bool,
        known: Known,
    ) -> LaneGuard<'a> {
        let now = self.now();
        let lane = Arc::new(Lane {
            conn,
            users: AtomicUsize::new(1),
            progress: AtomicU64::new(now),
            broken: AtomicBool::new(false),
            abandoned: AtomicBool::new(false),
            brisk: AtomicBool::new(known.brisk),
        });
        self.lock().push(lane.clone());
        // Statements waiting for a connection may take the rest of this one.
        if self.waiting.load(Ordering::Relaxed) > 0 {
            self.room.notify_waiters();
        }
        LaneGuard {
            node,
            lane: Some(lane),
            reused,
            known,
            since: now,
        }
    }

    /// A place on the least loaded lane with room, unless `others_wait` for a connection of
    /// their own.
    fn join<'a>(
        &'a self,
        node: &'a Node,
        others_wait: impl FnOnce() -> bool,
        known: Known,
    ) -> Option<LaneGuard<'a>> {
        self.join_where(node, known, others_wait, |loads| choose(loads, self.depth))
    }

    /// A place on the fullest lane of brisk statements with fewer than `brisk_depth` on it, for
    /// a brisk statement, unless `others_wait` for a connection of their own.
    fn join_brisk<'a>(
        &'a self,
        node: &'a Node,
        others_wait: impl FnOnce() -> bool,
        known: Known,
    ) -> Option<LaneGuard<'a>> {
        if !known.brisk || self.brisk_depth < 2 {
            return None;
        }
        self.join_where(node, known, others_wait, |loads| {
            choose_brisk(loads, self.brisk_depth)
        })
    }

    /// A place on the lane `choose` picks, unless `others_wait` — asked only when there is one,
    /// since it takes the pool's lock.
    fn join_where<'a>(
        &'a self,
        node: &'a Node,
        known: Known,
        others_wait: impl FnOnce() -> bool,
        choose: impl FnOnce(&mut dyn Iterator<Item = Load>) -> Option<usize>,
    ) -> Option<LaneGuard<'a>> {
        let now = self.now();
        let open = self.lock();
        let mut loads = open.iter().map(|l| Load {
            users: l.users.load(Ordering::Relaxed),
            idle: Duration::from_nanos(now.saturating_sub(l.progress.load(Ordering::Relaxed))),
            brisk: l.brisk.load(Ordering::Relaxed),
        });
        let chosen = choose(&mut loads)?;
        if others_wait() {
            return None;
        }
        let lane = open[chosen].clone();
        lane.users.fetch_add(1, Ordering::Relaxed);
        if !known.brisk {
            lane.brisk.store(false, Ordering::Relaxed);
        }
        drop(open);
        self.joined.fetch_add(1, Ordering::Relaxed);
        Some(LaneGuard {
            node,
            lane: Some(lane),
            // A lane is in use by definition: a failure on it is no proof the server is down.
            reused: true,
            known,
            since: now,
        })
    }

    /// No lane takes newcomers any more (a drain, a close); the statements on them finish.
    pub(super) fn retire_all(&self) {
        self.lock().clear();
    }

    fn retire(&self, lane: &Arc<Lane>) {
        self.lock().retain(|l| !Arc::ptr_eq(l, lane));
    }

    /// A statement that came on `lane` at `since` is done; how long it kept the connection
    /// busy: since it came, or since the statement ahead of it finished, if later (a lane
    /// answers in order).
    fn leave(&self, lane: &Arc<Lane>, since: u64) -> Duration {
        let now = self.now();
        let ahead = lane.progress.swap(now, Ordering::Relaxed);
        let service = Duration::from_nanos(now.saturating_sub(since.max(ahead)));
        let mut open = self.lock();
        if lane.users.fetch_sub(1, Ordering::Relaxed) == 1 {
            open.retain(|l| !Arc::ptr_eq(l, lane));
        } else if self.waiting.load(Ordering::Relaxed) > 0 {
            drop(open);
            self.room.notify_one();
        }
        service
    }
}

/// What a statement joining a lane knows of it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Load {
    /// Statements on it now.
    users: usize,
    /// Since a statement on it last finished (or it opened).
    idle: Duration,
    /// Every statement that came on it was brisk.
    brisk: bool,
}

/// The index of the lane a statement joins when the pool has no connection for it: the fewest
/// statements, fewer than `depth`, not stalled; the first of equals.
pub(super) fn choose(lanes: impl Iterator<Item = Load>, depth: usize) -> Option<usize> {
    lanes
        .enumerate()
        .filter(|(_, l)| l.users < depth && l.idle < STALL)
        .min_by_key(|(_, l)| l.users)
        .map(|(i, _)| i)
}

/// The index of the lane a brisk statement joins before it takes an idle connection: a lane of
/// brisk statements only, fewer than `depth` of them, one of which finished lately; the fullest
/// (so that brisk statements keep to as few connections as they can), the first of equals.
pub(super) fn choose_brisk(lanes: impl Iterator<Item = Load>, depth: usize) -> Option<usize> {
    lanes
        .enumerate()
        .filter(|(_, l)| l.brisk && l.users < depth && l.idle < BRISK_STALL)
        .min_by_key(|(_, l)| depth - l.users)
        .map(|(i, _)| i)
}

/// What is known of a statement when it takes its place on a lane.
#[derive(Debug, Clone, Copy)]
pub(super) struct Known {
    /// Its fingerprint, when its service times are kept (brisk gathering on).
    fingerprint: Option<Fingerprint>,
    /// Known to be brisk here.
    brisk: bool,
}

/// A place on a lane: the connection while the statement runs.
pub(super) struct LaneGuard<'a> {
    node: &'a Node,
    /// `None` only while dropping.
    lane: Option<Arc<Lane>>,
    reused: bool,
    known: Known,
    /// When the statement came on the lane, in ns since [`Lanes::epoch`].
    since: u64,
}

impl LaneGuard<'_> {
    fn lane(&self) -> &Arc<Lane> {
        self.lane
            .as_ref()
            .expect("a lane guard holds its lane until dropped")
    }
}

impl Drop for LaneGuard<'_> {
    fn drop(&mut self) {
        let Some(lane) = self.lane.take() else { return };
        let service = self.node.lanes.leave(&lane, self.since);
        if let Some(fingerprint) = self.known.fingerprint {
            self.node.brisk.record(fingerprint, service);
        }
        // The last statement out settles the connection's fate.
        if let Some(lane) = Arc::into_inner(lane) {
            if lane.abandoned.load(Ordering::Relaxed) {
                self.node.abandon(lane.conn);
            } else if lane.broken.load(Ordering::Relaxed) {
                drop(Object::take(lane.conn));
            }
        }
    }
}

/// The connection a statement runs on: its own, or a place on a lane.
// Unboxed: it lives on the stack for one statement, and a box would cost an allocation each.
#[allow(clippy::large_enum_variant)]
pub(super) enum Held<'a> {
    Own(Object),
    Shared(LaneGuard<'a>),
}

impl Deref for Held<'_> {
    type Target = Object;
    fn deref(&self) -> &Object {
        match self {
            Held::Own(conn) => conn,
            Held::Shared(guard) => &guard.lane().conn,
        }
    }
}

impl Held<'_> {
    /// Whether the connection served before (so that its failing may be its own staleness,
    /// not the server's).
    pub(super) fn reused(&self) -> bool {
        match self {
            Held::Own(conn) => Object::metrics(conn).recycle_count > 0,
            Held::Shared(guard) => guard.reused,
        }
    }

    /// The connection broke: it is closed, never pooled again (a lane once its last statement
    /// is done).
    pub(super) fn broke(self) {
        match self {
            Held::Own(conn) => drop(Object::take(conn)),
            Held::Shared(guard) => {
                guard.lane().broken.store(true, Ordering::Relaxed);
                guard.node.lanes.retire(guard.lane());
            }
        }
    }

    /// The statement on it is given up: canceled and the connection closed (a lane's once its
    /// last statement is done).
    pub(super) fn abandon(self, node: &Node) {
        match self {
            Held::Own(conn) => node.abandon(conn),
            Held::Shared(guard) => {
                guard.lane().abandoned.store(true, Ordering::Relaxed);
                guard.node.lanes.retire(guard.lane());
            }
        }
    }
}

/// Whether a text may share a connection: one statement that neither needs a session of its own
/// nor leaves anything in it, with no client's settings or link.
pub(super) fn shareable(statements: &Statements<'_>, settings_given: bool, linked: bool) -> bool {
    !settings_given
        && !linked
        && statements.len() == 1
        && !statements.needs_own_connection()
        && !statements.leaves_session_state()
        && !statements.changes_settings()
}

impl Node {
    /// A connection for a statement that may share one (see [`shareable`]), within `limit`: an
    /// idle pooled connection, or a new one while the pool has room; else a place on a lane;
    /// else the first of a lane with room or a connection given back to the pool.
    pub(super) async fn shared_connection(
        &self,
        statements: &Statements<'_>,
        fingerprint: Option<Fingerprint>,
        limit: Option<Duration>,
    ) -> Result<Held<'_>, CoreError> {
        let known = self.known(statements, fingerprint);
        let checkout = async {
            if known.brisk {
                if let Some(guard) = self.lanes.join_brisk(self, || self.others_wait(), known) {
                    return Ok(guard);
                }
            }
            if let Some(conn) = self.try_connection().await? {
                let reused = Object::metrics(&conn).recycle_count > 0;
                return Ok(self.lanes.start(self, conn, reused, known));
            }
            let queued = self.lanes.waiting.load(Ordering::Relaxed) > 0;
            if let Some(guard) = self
                .lanes
                .join(self, || queued || self.others_wait(), known)
            {
                return Ok(guard);
            }
            self.lanes.waiting.fetch_add(1, Ordering::Relaxed);
            let _waiting = Waiting(&self.lanes.waiting);
            loop {
                let room = self.lanes.room.notified();
                tokio::pin!(room);
                room.as_mut().enable();
                if let Some(guard) = self.lanes.join(self, || self.others_wait(), known) {
                    return Ok(guard);
                }
                tokio::select! {
                    conn = self.connection_with(None) => {
                        let conn = conn?;
                        let reused = Object::metrics(&conn).recycle_count > 0;
                        return Ok(self.lanes.start(self, conn, reused, known));
                    }
                    () = &mut room => {}
                }
            }
        };
        let guard = match limit {
            None => checkout.await,
            Some(limit) => tokio::time::timeout(limit, checkout)
                .await
                .unwrap_or_else(|_| Err(self.timed_out(limit))),
        }?;
        Ok(Held::Shared(guard))
    }

    /// What is known of a shareable statement here: its fingerprint (`fingerprint`, when the
    /// caller has it) and whether it is brisk, when brisk statements are gathered.
    fn known(&self, statements: &Statements<'_>, fingerprint: Option<Fingerprint>) -> Known {
        if self.lanes.brisk_depth < 2 {
            return Known {
                fingerprint: None,
                brisk: false,
            };
        }
        let fingerprint = fingerprint.unwrap_or_else(|| Fingerprint::of(statements));
        Known {
            fingerprint: Some(fingerprint),
            brisk: self.brisk.is_brisk(fingerprint),
        }
    }

    /// Whether anyone waits in the pool for a connection of their own.
    fn others_wait(&self) -> bool {
        self.pool_status().waiting > self.lanes.waiting.load(Ordering::Relaxed)
    }

    /// Statements that shared a connection another statement was using (cumulative).
    pub fn pipelined(&self) -> u64 {
        self.lanes.joined.load(Ordering::Relaxed)
    }

    /// Whether statements on this node may share connections at all.
    pub(super) fn pipelines(&self) -> bool {
        self.lanes.depth > 1
    }
}

/// Counts a shareable statement as waiting while it does.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRESH: Duration = Duration::from_micros(50);

    fn load(users: usize, idle: Duration) -> Load {
        Load {
            users,
            idle,
            brisk: true,
        }
    }

    fn loads(lanes: &[(usize, Duration)]) -> impl Iterator<Item = Load> + '_ {
        lanes.iter().map(|&(users, idle)| load(users, idle))
    }

    /// A statement joins the lane with the fewest statements on it.
    #[test]
    fn least_loaded() {
        let lanes = [(3, FRESH), (1, FRESH), (2, FRESH)];
        assert_eq!(choose(loads(&lanes), 16), Some(1));
    }

    /// Of equally loaded lanes, the first.
    #[test]
    fn first_of_equals() {
        assert_eq!(choose(loads(&[(2, FRESH), (2, FRESH)]), 16), Some(0));
    }

    /// A full lane takes no one; all full: none.
    #[test]
    fn full_lanes() {
        assert_eq!(choose(loads(&[(4, FRESH), (3, FRESH)]), 4), Some(1));
        assert_eq!(choose(loads(&[(4, FRESH), (4, FRESH)]), 4), None);
        assert_eq!(choose(std::iter::empty(), 4), None);
    }

    /// A lane whose statements have not moved for a while takes no one, however empty.
    #[test]
    fn stalled_lane() {
        assert_eq!(choose(loads(&[(1, STALL), (5, FRESH)]), 16), Some(1));
        assert_eq!(choose(loads(&[(1, STALL * 10)]), 16), None);
    }

    /// Depth 1 shares nothing.
    #[test]
    fn depth_one() {
        assert_eq!(choose(loads(&[(1, FRESH)]), 1), None);
    }

    /// A brisk statement joins only a lane every statement on which was brisk.
    #[test]
    fn brisk_joins_brisk_lanes_only() {
        let slow = Load {
            brisk: false,
            ..load(1, FRESH)
        };
        assert_eq!(choose_brisk([slow, load(2, FRESH)].into_iter(), 4), Some(1));
        assert_eq!(choose_brisk([slow].into_iter(), 4), None);
        // Once the pool has no connection left, any statement may join the lane.
        assert_eq!(choose([slow].into_iter(), 16), Some(0));
    }

    /// Brisk lanes gather up to their own depth, the fullest first.
    #[test]
    fn brisk_depth() {
        assert_eq!(
            choose_brisk(loads(&[(1, FRESH), (3, FRESH), (2, FRESH)]), 4),
            Some(1)
        );
        assert_eq!(choose_brisk(loads(&[(4, FRESH), (2, FRESH)]), 4), Some(1));
        assert_eq!(choose_brisk(loads(&[(4, FRESH)]), 4), None);
    }

    /// A brisk lane none of whose statements finished lately takes no brisk newcomer, long
    /// before it would count as stalled for a statement that has no connection at all.
    #[test]
    fn brisk_lane_gone_quiet() {
        assert_eq!(choose_brisk(loads(&[(1, BRISK_STALL)]), 4), None);
        assert_eq!(choose(loads(&[(1, BRISK_STALL)]), 16), Some(0));
    }
}
