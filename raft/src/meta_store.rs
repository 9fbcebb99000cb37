//! [`MetaStore`]: the applied cluster-wide state, and the mount table read from it.

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use arustio_namespace::{KvPairs, KvStore, MountEntry, MountTable};

use crate::apply::{META_PREFIX, ROOT_CREDENTIALS, read_cache_nodes, read_mounts, scan_all};
use crate::{ApplyError, MetaCmd, RootCredentials, apply_to_kv};

/// The state machine of one node: applies [`MetaCmd`]s to its KV store and keeps a
/// snapshot of the mount table for the hot path.
pub struct MetaStore {
    kv: Arc<dyn KvStore>,
    mounts: RwLock<Arc<Vec<MountEntry>>>,
    apply_lock: Mutex<()>,
}

impl std::fmt::Debug for MetaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaStore")
            .field("kv", &self.kv)
            .finish_non_exhaustive()
    }
}

impl MetaStore {
    /// Loads the state held in `kv`.
    pub fn open(kv: Arc<dyn KvStore>) -> Result<Self, ApplyError> {
        let mounts = read_mounts(kv.as_ref())?;
        Ok(Self {
            kv,
            mounts: RwLock::new(Arc::new(mounts)),
            apply_lock: Mutex::new(()),
        })
    }

    /// Applies one command.
    pub fn apply(&self, cmd: &MetaCmd) -> Result<(), ApplyError> {
        let _serial = self.apply_lock.lock().unwrap_or_else(PoisonError::into_inner);
        apply_to_kv(self.kv.as_ref(), cmd)?;
        if matches!(cmd, MetaCmd::Mount(_) | MetaCmd::Unmount { .. }) {
            let mounts = read_mounts(self.kv.as_ref())?;
            *self.mounts.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(mounts);
        }
        Ok(())
    }

    /// Replaces the whole replicated state (a snapshot being installed).
    pub(crate) fn replace_all(&self, pairs: &[(Vec<u8>, Vec<u8>)]) -> Result<(), ApplyError> {
        let _serial = self.apply_lock.lock().unwrap_or_else(PoisonError::into_inner);
        for (k, _) in scan_all(self.kv.as_ref(), META_PREFIX)? {
            self.kv.delete(&k)?;
        }
        for (k, v) in pairs {
            if k.starts_with(META_PREFIX) {
                self.kv.put(k, v)?;
            }
        }
        let mounts = read_mounts(self.kv.as_ref())?;
        *self.mounts.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(mounts);
        Ok(())
    }

    /// The whole replicated state, for a snapshot.
    pub(crate) fn all_pairs(&self) -> Result<KvPairs, ApplyError> {
        let _serial = self.apply_lock.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(scan_all(self.kv.as_ref(), META_PREFIX)?)
    }

    /// The registered cache nodes: (id, address).
    pub fn cache_nodes(&self) -> Result<Vec<(u64, String)>, ApplyError> {
        read_cache_nodes(self.kv.as_ref())
    }

    /// The stored root credentials.
    pub fn root_credentials(&self) -> Result<Option<RootCredentials>, ApplyError> {
        Ok(self
            .kv
            .get(ROOT_CREDENTIALS)?
            .map(|v| serde_json::from_slice(&v))
            .transpose()?)
    }

    /// The underlying KV store (node-local records share it, in their own keyspace).
    pub fn kv(&self) -> Arc<dyn KvStore> {
        Arc::clone(&self.kv)
    }
}

impl MountTable for MetaStore {
    fn mounts(&self) -> Arc<Vec<MountEntry>> {
        Arc::clone(&self.mounts.read().unwrap_or_else(PoisonError::into_inner))
    }
}
