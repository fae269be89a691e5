//! The cancel key of the statement a client is running now, for `pg_cancel_backend` on a
//! routing client whose statements run on whichever pooled connection they get.

use std::sync::{Arc, Mutex};

use tokio_postgres::CancelToken;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Where a client's running statement can be cancelled: set while a connection runs one of its
/// statements (or is held for it), empty otherwise.
#[derive(Clone, Default)]
pub struct CancelSlot(Arc<Mutex<Option<(CancelToken, MakeRustlsConnect)>>>);

impl std::fmt::Debug for CancelSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CancelSlot")
    }
}

impl CancelSlot {
    pub fn set(&self, token: CancelToken, tls: MakeRustlsConnect) {
        *self.lock() = Some((token, tls));
    }

    pub fn clear(&self) {
        *self.lock() = None;
    }

    /// Asks the server to cancel what the client runs now; false when it runs nothing, or the
    /// server could not be asked.
    pub async fn cancel(&self) -> bool {
        let Some((token, tls)) = self.lock().clone() else {
            return false;
        };
        token.cancel_query(tls).await.is_ok()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(CancelToken, MakeRustlsConnect)>> {
        // A panic elsewhere while holding it cannot leave a token half written.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
