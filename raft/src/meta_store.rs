//! [`MetaStore`]: the applied cluster-wide state, and the mount table read from it.

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use arustio_cache::{CacheNode, Members};
use arustio_namespace::{MountEntry, MountTable};
use arustio_storage::{Keyspace, KvPairs, KvStore, WriteBatch};

use crate::apply::{ROOT_CREDENTIALS, decode, node_s3_key, read_cache_nodes, read_mounts, read_users, replicated};
use crate::users::User;
use crate::{ApplyError, MetaCmd, RootCredentials, apply_to_kv};

/// The state machine of one node: applies [`MetaCmd`]s to its KV store and keeps the
/// mount table and root credentials in memory for the hot path.
pub struct MetaStore {
    kv: Arc<dyn KvStore>,
    /// The replicated keyspace of `kv`.
    replicated: Keyspace,
    /// This node's own root mount (`<data-dir>/root`), used while no replicated mount
    /// takes `/`: every node serves its own.
    local_root: Option<MountEntry>,
    mounts: RwLock<Arc<Vec<MountEntry>>>,
    credentials: RwLock<Option<RootCredentials>>,
    /// The registered cache nodes, for the cache's ring on the read path.
    cache_nodes: RwLock<Arc<Vec<CacheNode>>>,
    /// The users, for every request's authentication.
    users: RwLock<Arc<Vec<User>>>,
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
    /// Loads the state held in `kv`; `local_root` serves `/` unless a replicated mount does.
    pub fn open(kv: Arc<dyn KvStore>, local_root: Option<MountEntry>) -> Result<Self, ApplyError> {
        let store = Self {
            replicated: replicated(Arc::clone(&kv)),
            kv,
            local_root,
            mounts: RwLock::default(),
            credentials: RwLock::default(),
            cache_nodes: RwLock::default(),
            users: RwLock::default(),
            apply_lock: Mutex::new(()),
        };
        store.reload()?;
        Ok(store)
    }

    /// Refreshes the in-memory views from the KV store.
    fn reload(&self) -> Result<(), ApplyError> {
        let mut mounts = read_mounts(&self.replicated)?;
        if let Some(root) = &self.local_root
            && !mounts.iter().any(|m| m.path.is_empty())
        {
            mounts.insert(0, root.clone());
        }
        *self.mounts.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(mounts);
        let creds = self
            .replicated
            .get(ROOT_CREDENTIALS)?
            .map(|v| decode(&self.replicated, ROOT_CREDENTIALS, &v))
            .transpose()?;
        *self.credentials.write().unwrap_or_else(PoisonError::into_inner) = creds;
        self.reload_users()?;
        self.reload_cache_nodes()
    }

    fn reload_users(&self) -> Result<(), ApplyError> {
        let users = read_users(&self.replicated)?;
        *self.users.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(users);
        Ok(())
    }

    fn reload_cache_nodes(&self) -> Result<(), ApplyError> {
        let nodes = read_cache_nodes(&self.replicated)?
            .into_iter()
            .map(|(id, addr)| CacheNode { id, addr })
            .collect();
        *self.cache_nodes.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(nodes);
        Ok(())
    }

    /// Applies one command.
    pub fn apply(&self, cmd: &MetaCmd) -> Result<(), ApplyError> {
        let _serial = self.apply_lock.lock().unwrap_or_else(PoisonError::into_inner);
        apply_to_kv(&self.replicated, cmd)?;
        // The in-memory views change by the one command, not by re-reading everything.
        match cmd {
            MetaCmd::Mount(entry) => self.edit_mounts(|m| {
                m.retain(|e| e.path != entry.path);
                let at = m.partition_point(|e| e.path < entry.path);
                m.insert(at, entry.clone());
            }),
            MetaCmd::Unmount { path } => self.edit_mounts(|m| {
                m.retain(|e| e.path != *path);
                if let Some(root) = self.local_root.as_ref().filter(|_| path.is_empty()) {
                    m.insert(0, root.clone());
                }
            }),
            MetaCmd::SetRootCredentials(creds) => {
                *self.credentials.write().unwrap_or_else(PoisonError::into_inner) = Some(creds.clone());
            }
            MetaCmd::AddCacheNode { .. } | MetaCmd::RemoveNode { .. } => self.reload_cache_nodes()?,
            MetaCmd::AddUser(_)
            | MetaCmd::RemoveUser { .. }
            | MetaCmd::SetUserSecret { .. }
            | MetaCmd::Grant { .. }
            | MetaCmd::Revoke { .. } => self.reload_users()?,
            _ => {}
        }
        Ok(())
    }

    fn edit_mounts(&self, edit: impl FnOnce(&mut Vec<MountEntry>)) {
        let mut mounts = self.mounts.write().unwrap_or_else(PoisonError::into_inner);
        let mut next = Vec::clone(&mounts);
        edit(&mut next);
        *mounts = Arc::new(next);
    }

    /// Replaces the whole replicated state with `exported` (a snapshot being installed),
    /// in `batch`, which holds what the snapshot covers: one atomic write, so a crash leaves
    /// the old state or the new, never a mix.
    pub(crate) fn replace_all(&self, exported: KvPairs, mut batch: WriteBatch) -> Result<(), ApplyError> {
        let _serial = self.apply_lock.lock().unwrap_or_else(PoisonError::into_inner);
        batch.replace(&self.replicated, exported);
        batch.commit()?;
        self.reload()
    }

    /// The whole replicated state, for a snapshot (with the store's keys).
    pub(crate) fn all_pairs(&self) -> Result<KvPairs, ApplyError> {
        let _serial = self.apply_lock.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(self.replicated.export()?)
    }

    /// The registered cache node at `id`, if any: its address.
    pub fn cache_node_addr(&self, id: u64) -> Option<String> {
        Members::cache_nodes(self)
            .into_iter()
            .find(|n| n.id == id)
            .map(|n| n.addr)
    }

    /// The S3 endpoint (HOST:PORT) of cluster node `id`, once it has registered it.
    pub fn node_s3_addr(&self, id: u64) -> Option<String> {
        let v = self.replicated.get(&node_s3_key(id)).ok()??;
        String::from_utf8(v).ok()
    }

    /// The root credentials, once set.
    pub fn root_credentials(&self) -> Option<RootCredentials> {
        self.credentials.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The user whose access key is `access_key`.
    pub fn user_by_access_key(&self, access_key: &str) -> Option<User> {
        let users = self.users.read().unwrap_or_else(PoisonError::into_inner);
        users.iter().find(|u| u.access_key == access_key).cloned()
    }

    /// Every user, by name.
    pub fn users(&self) -> Arc<Vec<User>> {
        Arc::clone(&self.users.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The underlying KV store (node-local records share it, in their own keyspace).
    pub fn kv(&self) -> Arc<dyn KvStore> {
        Arc::clone(&self.kv)
    }
}

impl Members for MetaStore {
    fn cache_nodes(&self) -> Vec<CacheNode> {
        Vec::clone(&self.cache_nodes.read().unwrap_or_else(PoisonError::into_inner))
    }
}

impl MountTable for MetaStore {
    fn mounts(&self) -> Arc<Vec<MountEntry>> {
        Arc::clone(&self.mounts.read().unwrap_or_else(PoisonError::into_inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arustio_storage::MemKv;

    fn entry(path: &str, uri: &str) -> MountEntry {
        MountEntry {
            path: path.into(),
            uri: uri.into(),
            options: arustio_backends::MountOptions::default(),
            readonly: false,
        }
    }

    #[test]
    fn applied_views_match_a_fresh_read() {
        let kv: Arc<dyn KvStore> = Arc::new(MemKv::default());
        let store = MetaStore::open(Arc::clone(&kv), Some(entry("", "local:///root"))).unwrap();
        for cmd in [
            MetaCmd::Mount(entry("b/x", "mem://1")),
            MetaCmd::Mount(entry("a", "mem://2")),
            MetaCmd::Mount(entry("", "mem://replicated-root")),
            MetaCmd::Mount(entry("c", "mem://3")),
            MetaCmd::Unmount { path: "a".into() },
            MetaCmd::Unmount { path: String::new() },
        ] {
            store.apply(&cmd).unwrap();
            let fresh = MetaStore::open(Arc::clone(&kv), Some(entry("", "local:///root"))).unwrap();
            assert_eq!(*store.mounts(), *fresh.mounts(), "after {cmd:?}");
        }
        let paths: Vec<_> = store.mounts().iter().map(|m| m.uri.clone()).collect();
        assert_eq!(paths, ["local:///root", "mem://1", "mem://3"]);
    }

    #[test]
    fn a_stored_record_that_does_not_decode_stops_the_open() {
        for (key, value) in [
            (&b"meta/mount/lake"[..], &b"{not json"[..]),
            (b"meta/root-credentials", b"[]"),
            (b"meta/cache-node/short", b"n1"),
        ] {
            let kv: Arc<dyn KvStore> = Arc::new(MemKv::default());
            kv.put(key, value).unwrap();
            let e = MetaStore::open(kv, None).expect_err("a record that does not decode");
            let key = String::from_utf8_lossy(key);
            assert!(e.to_string().contains(&*key), "{key}: {e}");
        }
    }
}
