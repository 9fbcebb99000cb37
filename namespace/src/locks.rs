//! Per-key write locks: conditional writes on node-local stores are made atomic by
//! serialising every write of one key on this node.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Debug, Default)]
pub(crate) struct KeyLocks {
    map: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
}

/// Held while a key is written; frees the entry when the last holder leaves.
pub(crate) struct KeyGuard<'a> {
    locks: &'a KeyLocks,
    id: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl KeyLocks {
    pub(crate) async fn lock(&self, store: &str, key: &str) -> KeyGuard<'_> {
        let id = format!("{store}\0{key}");
        let m = {
            let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(map.entry(id.clone()).or_default())
        };
        let guard = m.lock_owned().await;
        KeyGuard {
            locks: self,
            id,
            guard: Some(guard),
        }
    }
}

impl Drop for KeyGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self.locks.map.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(m) = map.get(&self.id)
            && Arc::strong_count(m) == 1
        {
            map.remove(&self.id);
        }
    }
}
