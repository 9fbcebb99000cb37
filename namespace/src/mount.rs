//! The mount table seen by the namespace, and longest-prefix resolution.

use std::sync::Arc;

use arustio_backends::{Backend, MountOptions};
use serde::{Deserialize, Serialize};

/// One mount: a store mounted at a namespace path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountEntry {
    /// The mount point, normalised (`""` for `/`, `data/lake` for `/data/lake`).
    pub path: String,
    /// The store's URI.
    pub uri: String,
    /// Store options (secrets included; never show them unmasked).
    pub options: MountOptions,
    /// Whether every write is refused.
    pub readonly: bool,
}

impl MountEntry {
    /// The mount point as users write it (`/data/lake`).
    pub fn display_path(&self) -> String {
        format!("/{}", self.path)
    }

    /// Whether `path` (normalised) lies at or under this mount point.
    pub fn covers(&self, path: &str) -> bool {
        self.path.is_empty() || path == self.path || path.strip_prefix(&self.path).is_some_and(|r| r.starts_with('/'))
    }

    /// The part of `path` below this mount point (`""` for the mount point itself).
    pub fn relative<'a>(&self, path: &'a str) -> &'a str {
        if self.path.is_empty() {
            path
        } else {
            path.strip_prefix(&self.path)
                .map_or("", |r| r.strip_prefix('/').unwrap_or(r))
        }
    }
}

/// The source of the mount table: the raft crate implements it over the replicated
/// state; tests use [`StaticMounts`].
pub trait MountTable: Send + Sync {
    /// A snapshot of every mount, in no particular order.
    fn mounts(&self) -> Arc<Vec<MountEntry>>;
}

/// A fixed mount table, for tests and examples.
#[derive(Debug, Default)]
pub struct StaticMounts(pub std::sync::RwLock<Arc<Vec<MountEntry>>>);

impl StaticMounts {
    /// A table holding `mounts`.
    pub fn new(mounts: Vec<MountEntry>) -> Self {
        Self(std::sync::RwLock::new(Arc::new(mounts)))
    }
}

impl MountTable for StaticMounts {
    fn mounts(&self) -> Arc<Vec<MountEntry>> {
        Arc::clone(&self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

/// A path resolved to the mount and store that hold it.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The mount whose point is the longest prefix of the path.
    pub mount: Arc<MountEntry>,
    /// Its store.
    pub backend: Arc<Backend>,
    /// The path relative to the mount point (the key in the store).
    pub key: String,
}

impl Resolved {
    /// Whether `key` (the client's, as asked) names a directory marker the gateway keeps
    /// itself: a key ending in `/`, unless the store holds such keys as objects (S3), and
    /// the mount point itself.
    pub fn is_marker(&self, key: &str) -> bool {
        key.ends_with('/') && (self.key.is_empty() || !self.backend.holds_markers())
    }
}

/// The mount whose point is the longest segment-prefix of `path`.
pub fn longest_mount<'a>(mounts: &'a [MountEntry], path: &str) -> Option<&'a MountEntry> {
    longest_index(mounts, path).map(|i| &mounts[i])
}

/// The index in `mounts` of [`longest_mount`]'s answer.
pub(crate) fn longest_index(mounts: &[MountEntry], path: &str) -> Option<usize> {
    (0..mounts.len())
        .filter(|&i| mounts[i].covers(path))
        .max_by_key(|&i| mounts[i].path.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(path: &str) -> MountEntry {
        MountEntry {
            path: path.into(),
            uri: format!("mem://{path}x"),
            options: MountOptions::default(),
            readonly: false,
        }
    }

    #[test]
    fn longest_prefix_by_segment() {
        let mounts = vec![m(""), m("data"), m("data/lake")];
        assert_eq!(longest_mount(&mounts, "data/lake/x").unwrap().path, "data/lake");
        assert_eq!(longest_mount(&mounts, "data/lakehouse/x").unwrap().path, "data");
        assert_eq!(longest_mount(&mounts, "other").unwrap().path, "");
        assert_eq!(m("data/lake").relative("data/lake/a/b"), "a/b");
        assert_eq!(m("data/lake").relative("data/lake"), "");
        assert_eq!(m("").relative("data/x"), "data/x");
    }
}
