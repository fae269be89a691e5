//! `NativeCursor`: the JS handle on a core cursor (core/src/cursor.rs); the facade's `Cursor`
//! (lib/cursor.js) wraps it. Batches reach the manager's `onComplete` like query results.
//! Dropping it — the JS object was garbage-collected — drops the core handle, which ends the
//! cursor and returns its connection.

use std::sync::Arc;

use napi::Env;
use napi_derive::napi;

use super::completions::Completions;
use super::convert::JsBatch;
use super::error::Settled;
use crate::core::cursor::Cursor;

#[napi]
pub struct NativeCursor {
    cursor: Cursor,
    completions: Arc<Completions>,
}

impl NativeCursor {
    pub fn new(cursor: Cursor, completions: Arc<Completions>) -> NativeCursor {
        NativeCursor {
            cursor,
            completions,
        }
    }
}

#[napi]
impl NativeCursor {
    /// Asks for up to `rows` more rows (at least 1); the batch reaches `onComplete` under `id`.
    #[napi(catch_unwind)]
    pub fn read(&self, env: Env, id: u32, rows: u32) {
        self.completions.begin(env.raw());
        let cursor = self.cursor.clone();
        let completions = self.completions.clone();
        napi::bindgen_prelude::spawn(async move {
            let batch = cursor.next(rows).await;
            completions.finish(id, Settled(batch.map(JsBatch::pack)));
        });
    }

    /// Ends the cursor (its transaction commits); the final batch, with no rows, reaches
    /// `onComplete` under `id`.
    #[napi(catch_unwind)]
    pub fn close(&self, env: Env, id: u32) {
        self.completions.begin(env.raw());
        let cursor = self.cursor.clone();
        let completions = self.completions.clone();
        napi::bindgen_prelude::spawn(async move {
            let batch = cursor.close().await;
            completions.finish(id, Settled(batch.map(JsBatch::pack)));
        });
    }
}
