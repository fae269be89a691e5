//! The session settings a routing client carries (`SET`, `RESET`, `set_config(…, false)`),
//! and the settings each pooled connection has now ([`SessionMark`]). A connection is brought to
//! what its next user needs when it is checked out — the client's settings, or the session
//! defaults for everyone else — and left as it is after: a client whose settings a connection
//! already has pays nothing, and no one is ever handed another client's settings.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::node::Object;
use tokio_postgres::types::ToSql;

use crate::statement::{SettingChange, Statement};
use crate::values::Param;

/// One recorded setting: the statement that made it, and its values (`set_config($1, $2, …)`).
#[derive(Debug, Clone, PartialEq, Hash)]
struct Entry {
    key: String,
    text: String,
    params: Vec<Param>,
}

/// A client's settings in the order they were made; a later one of a name replaces the earlier.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    entries: Vec<Entry>,
    /// What a connection's [`SessionMark`] says once these are made on it (kept up to date).
    mark: u64,
}

impl Settings {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn remark(&mut self) {
        self.mark = match self.entries.is_empty() {
            true => SessionMark::DEFAULTS,
            false => {
                let mut hasher = DefaultHasher::new();
                self.entries.hash(&mut hasher);
                // Never one of the two reserved marks.
                hasher.finish().clamp(1, SessionMark::UNKNOWN - 1)
            }
        };
    }

    /// Records what `statement` (run with `params`) changed, if it is a setting.
    pub fn record(&mut self, statement: &Statement<'_, '_>, params: &[Param]) {
        match statement.setting_change() {
            Some(SettingChange::Set(key)) => {
                self.entries.retain(|e| e.key != key);
                self.entries.push(Entry {
                    key,
                    text: statement.text().to_string(),
                    params: params.to_vec(),
                });
            }
            Some(SettingChange::Reset(key)) => self.entries.retain(|e| e.key != key),
            Some(SettingChange::ResetAll) => self.entries.clear(),
            None => return,
        }
        self.remark();
    }

    /// Takes on the settings made in `later` (a transaction's, once it committed).
    pub fn merge(&mut self, later: Settings) {
        for entry in later.entries {
            self.entries.retain(|e| e.key != entry.key);
            self.entries.push(entry);
        }
        self.remark();
    }

    /// Makes these settings on `conn`, after `reset` (`RESET ALL`) when it has others: one round
    /// trip for those without values.
    async fn apply(&self, conn: &Object, reset: bool) -> Result<(), tokio_postgres::Error> {
        let mut batch = match reset {
            true => String::from("RESET ALL;"),
            false => String::new(),
        };
        for entry in &self.entries {
            if entry.params.is_empty() {
                batch.push_str(&entry.text);
                batch.push(';');
                continue;
            }
            if !batch.is_empty() {
                conn.batch_execute(&std::mem::take(&mut batch)).await?;
            }
            let args: Vec<&(dyn ToSql + Sync)> = entry.params.iter().map(|p| p as _).collect();
            conn.execute(entry.text.as_str(), &args).await?;
        }
        if !batch.is_empty() {
            conn.batch_execute(&batch).await?;
        }
        Ok(())
    }
}

/// Which settings a pooled connection has now.
#[derive(Debug, Default)]
pub struct SessionMark(AtomicU64);

impl SessionMark {
    /// The session defaults (those of its startup).
    const DEFAULTS: u64 = 0;
    /// Changed by a statement in ways not recorded (a `SET` run as a query, `RESET`).
    const UNKNOWN: u64 = u64::MAX;

    /// After a text that may have changed settings itself.
    pub fn unknown(&self) {
        self.0.store(Self::UNKNOWN, Ordering::Relaxed);
    }

    /// After `DISCARD ALL`.
    pub fn defaults(&self) {
        self.0.store(Self::DEFAULTS, Ordering::Relaxed);
    }
}

/// Brings `conn` to `settings` (the session defaults for `None`) unless it has them already.
/// On an error the connection's settings are unknown; it is still fit to use (a broken one
/// shows at its next statement).
pub async fn prepare(
    conn: &Object,
    settings: Option<&Settings>,
) -> Result<(), tokio_postgres::Error> {
    let wanted = settings.map_or(SessionMark::DEFAULTS, |s| s.mark);
    let has = conn.session.0.load(Ordering::Relaxed);
    if has == wanted {
        return Ok(());
    }
    // Boxed: the statements' futures are large, and every checkout's future would carry them.
    Box::pin(bring(conn, settings, has, wanted)).await
}

async fn bring(
    conn: &Object,
    settings: Option<&Settings>,
    has: u64,
    wanted: u64,
) -> Result<(), tokio_postgres::Error> {
    conn.session.unknown();
    match settings {
        Some(settings) if !settings.is_empty() => {
            settings.apply(conn, has != SessionMark::DEFAULTS).await?
        }
        _ => conn.batch_execute("RESET ALL").await?,
    }
    conn.session.0.store(wanted, Ordering::Relaxed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statement::Statements;

    fn recorded(texts: &[&str]) -> Vec<String> {
        let mut settings = Settings::default();
        for text in texts {
            for s in Statements::parse(text).iter() {
                settings.record(&s, &[]);
            }
        }
        settings.entries.into_iter().map(|e| e.text).collect()
    }

    /// A later setting of a name replaces the earlier; RESET forgets; other statements are not
    /// settings, so they are never replayed.
    #[test]
    fn later_settings_replace_earlier_ones() {
        assert_eq!(
            recorded(&[
                "SET search_path TO a",
                "SET TIME ZONE 'UTC'",
                "set search_path = b",
                "INSERT INTO t VALUES (1)",
            ]),
            ["SET TIME ZONE 'UTC'", "set search_path = b"]
        );
        assert_eq!(
            recorded(&["SET a.b = 1; SET timezone = 'UTC'", "RESET a.b"]),
            ["SET timezone = 'UTC'"]
        );
        assert!(recorded(&["SET x.y = 1", "RESET ALL"]).is_empty());
        assert_eq!(
            recorded(&["SET TIME ZONE 'UTC'", "SET timezone TO 'Europe/Paris'"]),
            ["SET timezone TO 'Europe/Paris'"]
        );
    }

    /// A connection's mark tells whether it has a client's settings: equal settings, equal marks;
    /// none, the session defaults' mark.
    #[test]
    fn marks() {
        let mark = |texts: &[&str]| {
            let mut settings = Settings::default();
            for text in texts {
                for s in Statements::parse(text).iter() {
                    settings.record(&s, &[]);
                }
            }
            settings.mark
        };
        assert_eq!(mark(&[]), SessionMark::DEFAULTS);
        assert_eq!(mark(&["SET a.b = 1", "RESET a.b"]), SessionMark::DEFAULTS);
        assert_eq!(
            mark(&["SET a.b = 1"]),
            mark(&["SET a.b = 2", "SET a.b = 1"])
        );
        assert_ne!(mark(&["SET a.b = 1"]), mark(&["SET a.b = 2"]));
        assert_ne!(mark(&["SET a.b = 1"]), SessionMark::UNKNOWN);
    }

    /// Transaction-scoped forms and the session's authorization are not carried.
    #[test]
    fn only_session_settings_are_carried() {
        assert!(recorded(&[
            "SET LOCAL search_path = a",
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            "SET SESSION AUTHORIZATION bob",
            "SET CONSTRAINTS ALL DEFERRED",
        ])
        .is_empty());
        assert_eq!(
            recorded(&[
                "SET SESSION statement_timeout = 5",
                "SELECT set_config('a.b', 'x', false)"
            ]),
            [
                "SET SESSION statement_timeout = 5",
                "SELECT set_config('a.b', 'x', false)"
            ]
        );
        assert!(recorded(&["SELECT set_config('a.b', 'x', false), * FROM t"]).is_empty());
    }
}
