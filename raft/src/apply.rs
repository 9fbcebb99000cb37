//! `apply_to_kv`: the state machine. Small and deterministic.

use std::sync::Arc;

use arustio_namespace::MountEntry;
use arustio_storage::{Keyspace, KvError, KvStore};
use thiserror::Error;

use crate::MetaCmd;
use crate::types::Refusal;

/// The keyspace of the replicated state: all of it goes into snapshots.
const REPLICATED: &str = "meta";
/// Keys in it.
const MOUNT_PREFIX: &[u8] = b"mount/";
pub(crate) const ROOT_CREDENTIALS: &[u8] = b"root-credentials";
const CACHE_NODE_PREFIX: &[u8] = b"cache-node/";
const NODE_S3_PREFIX: &[u8] = b"node-s3/";

/// The replicated keyspace of `kv`.
pub(crate) fn replicated(kv: Arc<dyn KvStore>) -> Keyspace {
    Keyspace::new(kv, REPLICATED)
}

/// Why a command was not applied.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// The command was refused (the same way on every node).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The store failed.
    #[error("metadata store: {0}")]
    Kv(#[from] KvError),
    /// A value could not be encoded or decoded.
    #[error("metadata encoding: {0}")]
    Encoding(#[from] serde_json::Error),
    /// A stored record does not decode: the store is damaged.
    #[error(
        "the stored record {key} does not decode ({reason}): the metadata is corrupt; restore the data dir from a backup"
    )]
    Undecodable {
        /// The object key.
        key: String,
        /// Why, in a few words.
        reason: String,
    },
}

/// `value`, the record at `key`, decoded.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(ks: &Keyspace, key: &[u8], value: &[u8]) -> Result<T, ApplyError> {
    serde_json::from_slice(value).map_err(|e| undecodable(ks, key, &e))
}

fn undecodable(ks: &Keyspace, key: &[u8], reason: &dyn std::fmt::Display) -> ApplyError {
    ApplyError::Undecodable {
        key: ks.display_key(key),
        reason: reason.to_string(),
    }
}

fn cache_node_key(id: u64) -> Vec<u8> {
    [CACHE_NODE_PREFIX, id.to_be_bytes().as_slice()].concat()
}

pub(crate) fn node_s3_key(id: u64) -> Vec<u8> {
    [NODE_S3_PREFIX, id.to_be_bytes().as_slice()].concat()
}

pub(crate) fn mount_key(path: &str) -> Vec<u8> {
    [MOUNT_PREFIX, path.as_bytes()].concat()
}

/// Applies `cmd` to `kv`, the replicated keyspace. The same command on the same state
/// always gives the same result, on every node.
pub fn apply_to_kv(kv: &Keyspace, cmd: &MetaCmd) -> Result<(), ApplyError> {
    match cmd {
        MetaCmd::Mount(entry) => {
            let key = mount_key(&entry.path);
            if kv.get(&key)?.is_some() {
                return Err(Refusal::AlreadyMounted {
                    path: entry.path.clone(),
                }
                .into());
            }
            kv.put(&key, &serde_json::to_vec(entry)?)?;
        }
        MetaCmd::Unmount { path } => {
            let key = mount_key(path);
            if kv.get(&key)?.is_none() {
                return Err(Refusal::NotMounted { path: path.clone() }.into());
            }
            kv.delete(&key)?;
        }
        MetaCmd::SetRootCredentials(creds) => kv.put(ROOT_CREDENTIALS, &serde_json::to_vec(creds)?)?,
        MetaCmd::AddCacheNode { id, addr } => kv.put(&cache_node_key(*id), addr.as_bytes())?,
        MetaCmd::RemoveNode { id } => {
            let mut batch = kv.batch();
            batch.delete(kv, &cache_node_key(*id)).delete(kv, &node_s3_key(*id));
            batch.commit()?
        }
        MetaCmd::SetNodeEndpoint { id, s3_addr } => kv.put(&node_s3_key(*id), s3_addr.as_bytes())?,
    }
    Ok(())
}

/// Every mount in `kv`.
pub(crate) fn read_mounts(kv: &Keyspace) -> Result<Vec<MountEntry>, ApplyError> {
    kv.scan_all(MOUNT_PREFIX)?
        .iter()
        .map(|(k, v)| decode(kv, k, v))
        .collect()
}

/// The cache nodes in `kv`: (id, address).
pub(crate) fn read_cache_nodes(kv: &Keyspace) -> Result<Vec<(u64, String)>, ApplyError> {
    kv.scan_all(CACHE_NODE_PREFIX)?
        .into_iter()
        .map(|(k, v)| {
            let id = k[CACHE_NODE_PREFIX.len()..]
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| undecodable(kv, &k, &"the node id is not 8 bytes"))?;
            let addr = String::from_utf8(v).map_err(|e| undecodable(kv, &k, &e))?;
            Ok((id, addr))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arustio_storage::MemKv;

    fn space() -> Keyspace {
        replicated(Arc::new(MemKv::default()))
    }

    fn mount(path: &str) -> MetaCmd {
        MetaCmd::Mount(MountEntry {
            path: path.into(),
            uri: "mem://x".into(),
            options: arustio_backends::MountOptions::default(),
            readonly: false,
        })
    }

    #[test]
    fn mount_unmount_roundtrip() {
        let kv = space();
        apply_to_kv(&kv, &mount("a")).unwrap();
        assert!(matches!(
            apply_to_kv(&kv, &mount("a")),
            Err(ApplyError::Refused(Refusal::AlreadyMounted { .. }))
        ));
        apply_to_kv(&kv, &mount("b/c")).unwrap();
        let paths: Vec<_> = read_mounts(&kv).unwrap().into_iter().map(|m| m.path).collect();
        assert_eq!(paths, ["a", "b/c"]);
        apply_to_kv(&kv, &MetaCmd::Unmount { path: "a".into() }).unwrap();
        assert!(matches!(
            apply_to_kv(&kv, &MetaCmd::Unmount { path: "a".into() }),
            Err(ApplyError::Refused(Refusal::NotMounted { .. }))
        ));
        assert_eq!(read_mounts(&kv).unwrap().len(), 1);
    }

    #[test]
    fn removing_a_node_forgets_its_cache_node_and_s3_endpoint() {
        let kv = space();
        for id in [1, 2] {
            let addr = format!("n{id}");
            apply_to_kv(&kv, &MetaCmd::AddCacheNode { id, addr: addr.clone() }).unwrap();
            apply_to_kv(&kv, &MetaCmd::SetNodeEndpoint { id, s3_addr: addr }).unwrap();
        }
        apply_to_kv(&kv, &MetaCmd::RemoveNode { id: 2 }).unwrap();
        let keys: Vec<_> = kv.scan_all(b"").unwrap().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, [cache_node_key(1), node_s3_key(1)]);
    }

    #[test]
    fn remove_node_reads_as_written_before_its_rename() {
        let old: MetaCmd = serde_json::from_str(r#"{"RemoveCacheNode":{"id":3}}"#).unwrap();
        assert_eq!(old, MetaCmd::RemoveNode { id: 3 });
    }
}
