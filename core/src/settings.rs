//! The session settings a routing client carries (`SET`, `RESET`, `set_config(…, false)`):
//! replayed on each pooled connection that runs one of its statements, and reset after, so
//! that they follow the client everywhere and never reach another client.

use crate::node::Object;
use tokio_postgres::types::ToSql;

use crate::statement::{SettingChange, Statement};
use crate::values::Param;

/// One recorded setting: the statement that made it, and its values (`set_config($1, $2, …)`).
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    key: String,
    text: String,
    params: Vec<Param>,
}

/// A client's settings in the order they were made; a later one of a name replaces the earlier.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    entries: Vec<Entry>,
}

impl Settings {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
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
            None => {}
        }
    }

    /// Takes on the settings made in `later` (a transaction's, once it committed).
    pub fn merge(&mut self, later: Settings) {
        for entry in later.entries {
            self.entries.retain(|e| e.key != entry.key);
            self.entries.push(entry);
        }
    }

    /// Makes these settings on `conn`: one round trip for those without values.
    pub async fn apply(&self, conn: &Object) -> Result<(), tokio_postgres::Error> {
        let mut batch = String::new();
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

/// Returns `conn`'s settings to the session defaults (those of its startup); false when the
/// connection could not be reset, and must then be closed rather than pooled.
pub async fn reset(conn: &Object) -> bool {
    conn.batch_execute("RESET ALL").await.is_ok()
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
