//! `apply_to_kv`: the state machine. Small and deterministic.

use arustio_namespace::{KvError, KvStore, MountEntry};
use thiserror::Error;

use crate::MetaCmd;

/// Keys of the cluster-wide state.
pub(crate) const MOUNT_PREFIX: &[u8] = b"meta/mount/";
pub(crate) const ROOT_CREDENTIALS: &[u8] = b"meta/root-credentials";

/// Why a command was not applied.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// A mount already exists at the path.
    #[error("/{path} is already a mount point")]
    AlreadyMounted { path: String },
    /// No mount at the path.
    #[error("/{path} is not a mount point")]
    NotMounted { path: String },
    /// The store failed.
    #[error("metadata store: {0}")]
    Kv(#[from] KvError),
    /// A value could not be encoded or decoded.
    #[error("metadata encoding: {0}")]
    Encoding(#[from] serde_json::Error),
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
                return Err(ApplyError::AlreadyMounted {
                    path: entry.path.clone(),
                });
            }
            kv.put(&key, &serde_json::to_vec(entry)?)?;
        }
        MetaCmd::Unmount { path } => {
            let key = mount_key(path);
            if kv.get(&key)?.is_none() {
                return Err(ApplyError::NotMounted { path: path.clone() });
            }
            kv.delete(&key)?;
        }
        MetaCmd::SetRootCredentials(creds) => kv.put(ROOT_CREDENTIALS, &serde_json::to_vec(creds)?)?,
    }
    Ok(())
}

/// Every mount in `kv`.
pub(crate) fn read_mounts(kv: &dyn KvStore) -> Result<Vec<MountEntry>, ApplyError> {
    let mut out = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = kv.scan(MOUNT_PREFIX, after.as_deref(), 1000)?;
        let done = page.len() < 1000;
        for (k, v) in &page {
            out.push(serde_json::from_slice(v)?);
            after = Some(k.clone());
        }
        if done {
            return Ok(out);
        }
    }
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
            Err(ApplyError::AlreadyMounted { .. })
        ));
        apply_to_kv(&kv, &mount("b/c")).unwrap();
        let paths: Vec<_> = read_mounts(&kv).unwrap().into_iter().map(|m| m.path).collect();
        assert_eq!(paths, ["a", "b/c"]);
        apply_to_kv(&kv, &MetaCmd::Unmount { path: "a".into() }).unwrap();
        assert!(matches!(
            apply_to_kv(&kv, &MetaCmd::Unmount { path: "a".into() }),
            Err(ApplyError::NotMounted { .. })
        ));
        assert_eq!(read_mounts(&kv).unwrap().len(), 1);
    }
}
