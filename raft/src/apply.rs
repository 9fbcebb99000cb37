//! `apply_to_kv`: the state machine. Small and deterministic.

use arustio_namespace::{KvError, KvOp, KvPairs, KvStore, MountEntry};
use thiserror::Error;

use crate::MetaCmd;
use crate::types::Refusal;

/// Keys of the cluster-wide state.
pub(crate) const MOUNT_PREFIX: &[u8] = b"meta/mount/";
pub(crate) const ROOT_CREDENTIALS: &[u8] = b"meta/root-credentials";
pub(crate) const CACHE_NODE_PREFIX: &[u8] = b"meta/cache-node/";
pub(crate) const NODE_S3_PREFIX: &[u8] = b"meta/node-s3/";
/// Everything under this prefix is replicated state (and goes into snapshots).
pub(crate) const META_PREFIX: &[u8] = b"meta/";

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
    Undecodable { key: String, reason: String },
}

/// `value`, the record at `key`, decoded.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(key: &[u8], value: &[u8]) -> Result<T, ApplyError> {
    serde_json::from_slice(value).map_err(|e| undecodable(key, &e))
}

fn undecodable(key: &[u8], reason: &dyn std::fmt::Display) -> ApplyError {
    ApplyError::Undecodable {
        key: String::from_utf8_lossy(key).into_owned(),
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

/// Applies `cmd` to `kv`. The same command on the same state always gives the same
/// result, on every node.
pub fn apply_to_kv(kv: &dyn KvStore, cmd: &MetaCmd) -> Result<(), ApplyError> {
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
            kv.write_batch(&[KvOp::Delete(cache_node_key(*id)), KvOp::Delete(node_s3_key(*id))])?
        }
        MetaCmd::SetNodeEndpoint { id, s3_addr } => kv.put(&node_s3_key(*id), s3_addr.as_bytes())?,
    }
    Ok(())
}

/// Every key and value under `prefix`, in order.
pub(crate) fn scan_all(kv: &dyn KvStore, prefix: &[u8]) -> Result<KvPairs, KvError> {
    let mut out: KvPairs = Vec::new();
    loop {
        let page = kv.scan(prefix, out.last().map(|(k, _)| k.as_slice()), 1000)?;
        let done = page.len() < 1000;
        out.extend(page);
        if done {
            return Ok(out);
        }
    }
}

/// Every mount in `kv`.
pub(crate) fn read_mounts(kv: &dyn KvStore) -> Result<Vec<MountEntry>, ApplyError> {
    scan_all(kv, MOUNT_PREFIX)?.iter().map(|(k, v)| decode(k, v)).collect()
}

/// The cache nodes in `kv`: (id, address).
pub(crate) fn read_cache_nodes(kv: &dyn KvStore) -> Result<Vec<(u64, String)>, ApplyError> {
    scan_all(kv, CACHE_NODE_PREFIX)?
        .into_iter()
        .map(|(k, v)| {
            let id = k[CACHE_NODE_PREFIX.len()..]
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| undecodable(&k, &"the node id is not 8 bytes"))?;
            let addr = String::from_utf8(v).map_err(|e| undecodable(&k, &e))?;
            Ok((id, addr))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arustio_namespace::MemKv;

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
        let kv = MemKv::default();
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
        let kv = MemKv::default();
        for id in [1, 2] {
            let addr = format!("n{id}");
            apply_to_kv(&kv, &MetaCmd::AddCacheNode { id, addr: addr.clone() }).unwrap();
            apply_to_kv(&kv, &MetaCmd::SetNodeEndpoint { id, s3_addr: addr }).unwrap();
        }
        apply_to_kv(&kv, &MetaCmd::RemoveNode { id: 2 }).unwrap();
        let keys: Vec<_> = scan_all(&kv, META_PREFIX)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, [cache_node_key(1), node_s3_key(1)]);
    }

    #[test]
    fn remove_node_reads_as_written_before_its_rename() {
        let old: MetaCmd = serde_json::from_str(r#"{"RemoveCacheNode":{"id":3}}"#).unwrap();
        assert_eq!(old, MetaCmd::RemoveNode { id: 3 });
    }
}
