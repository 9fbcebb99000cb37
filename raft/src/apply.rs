//! `apply_to_kv`: the state machine. Small and deterministic.

use std::sync::Arc;

use arustio_namespace::MountEntry;
use arustio_storage::{Keyspace, KvError, KvStore};
use thiserror::Error;

use crate::MetaCmd;
use crate::types::Refusal;
use crate::users::User;

/// The keyspace of the replicated state: all of it goes into snapshots.
const REPLICATED: &str = "meta";
/// Keys in it.
const MOUNT_PREFIX: &[u8] = b"mount/";
pub(crate) const ROOT_CREDENTIALS: &[u8] = b"root-credentials";
const CACHE_NODE_PREFIX: &[u8] = b"cache-node/";
const NODE_S3_PREFIX: &[u8] = b"node-s3/";
const USER_PREFIX: &[u8] = b"user/";

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

fn user_key(name: &str) -> Vec<u8> {
    [USER_PREFIX, name.as_bytes()].concat()
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
        MetaCmd::AddUser(user) => {
            let users = read_users(kv)?;
            if users.iter().any(|u| u.name == user.name) {
                return Err(Refusal::Users(format!("user {} exists", user.name)).into());
            }
            if users.iter().any(|u| u.access_key == user.access_key) {
                return Err(Refusal::Users(format!("access key {} is taken", user.access_key)).into());
            }
            kv.put(&user_key(&user.name), &serde_json::to_vec(user)?)?;
        }
        MetaCmd::RemoveUser { name } => {
            read_user(kv, name)?;
            kv.delete(&user_key(name))?;
        }
        MetaCmd::SetUserSecret { name, sealed_secret } => {
            edit_user(kv, name, |u| {
                u.sealed_secret.clone_from(sealed_secret);
                Ok(())
            })?;
        }
        MetaCmd::Grant { name, grant } => edit_user(kv, name, |u| {
            match u
                .grants
                .iter_mut()
                .find(|g| g.bucket == grant.bucket && g.prefix == grant.prefix)
            {
                Some(held) => held.access = grant.access,
                None => u.grants.push(grant.clone()),
            }
            Ok(())
        })?,
        MetaCmd::Revoke { name, bucket, prefix } => edit_user(kv, name, |u| {
            let before = u.grants.len();
            u.grants.retain(|g| !(g.bucket == *bucket && g.prefix == *prefix));
            if u.grants.len() == before {
                return Err(Refusal::Users(format!("{name} holds no grant on {bucket}/{prefix}")));
            }
            Ok(())
        })?,
    }
    Ok(())
}

fn read_user(kv: &Keyspace, name: &str) -> Result<User, ApplyError> {
    let key = user_key(name);
    match kv.get(&key)? {
        Some(v) => decode(kv, &key, &v),
        None => Err(Refusal::Users(format!("no user {name}")).into()),
    }
}

fn edit_user(kv: &Keyspace, name: &str, edit: impl FnOnce(&mut User) -> Result<(), Refusal>) -> Result<(), ApplyError> {
    let mut user = read_user(kv, name)?;
    edit(&mut user)?;
    kv.put(&user_key(name), &serde_json::to_vec(&user)?)?;
    Ok(())
}

/// Every user in `kv`, by name.
pub(crate) fn read_users(kv: &Keyspace) -> Result<Vec<User>, ApplyError> {
    kv.scan_all(USER_PREFIX)?
        .iter()
        .map(|(k, v)| decode(kv, k, v))
        .collect()
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
    fn users_and_grants() {
        use crate::users::{Access, Grant};
        let kv = space();
        let user = |name: &str, key: &str| {
            MetaCmd::AddUser(User {
                name: name.into(),
                access_key: key.into(),
                sealed_secret: "sealed".into(),
                grants: Vec::new(),
            })
        };
        let grant = |prefix: &str, access| MetaCmd::Grant {
            name: "ann".into(),
            grant: Grant {
                bucket: "b".into(),
                prefix: prefix.into(),
                access,
            },
        };
        apply_to_kv(&kv, &user("ann", "AK1")).unwrap();
        let refused = |cmd: &MetaCmd| matches!(apply_to_kv(&kv, cmd), Err(ApplyError::Refused(Refusal::Users(_))));
        assert!(refused(&user("ann", "AK2")), "the name is taken");
        assert!(refused(&user("bob", "AK1")), "the key is taken");
        apply_to_kv(&kv, &grant("x/", Access::Read)).unwrap();
        apply_to_kv(&kv, &grant("x/", Access::Write)).unwrap();
        apply_to_kv(&kv, &grant("", Access::Read)).unwrap();
        let ann = &read_users(&kv).unwrap()[0];
        assert_eq!(ann.grants.len(), 2, "a grant on the same prefix replaces the one held");
        assert!(ann.may("b", "x/1", Access::Write) && !ann.may("b", "y", Access::Write));
        let revoke = |prefix: &str| MetaCmd::Revoke {
            name: "ann".into(),
            bucket: "b".into(),
            prefix: prefix.into(),
        };
        apply_to_kv(&kv, &revoke("x/")).unwrap();
        assert!(refused(&revoke("x/")), "nothing left to revoke");
        apply_to_kv(
            &kv,
            &MetaCmd::SetUserSecret {
                name: "ann".into(),
                sealed_secret: "resealed".into(),
            },
        )
        .unwrap();
        assert_eq!(read_users(&kv).unwrap()[0].sealed_secret, "resealed");
        apply_to_kv(&kv, &MetaCmd::RemoveUser { name: "ann".into() }).unwrap();
        assert!(refused(&MetaCmd::RemoveUser { name: "ann".into() }));
        assert!(read_users(&kv).unwrap().is_empty());
    }

    #[test]
    fn remove_node_reads_as_written_before_its_rename() {
        let old: MetaCmd = serde_json::from_str(r#"{"RemoveCacheNode":{"id":3}}"#).unwrap();
        assert_eq!(old, MetaCmd::RemoveNode { id: 3 });
    }
}
