//! [`Registry`]: builds each store once and hands out shared [`Backend`]s.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;

use crate::{Backend, BackendError, MountOptions, MountUri, StoreKind, UpstreamMetrics};

/// Builds stores from mount URIs and options. `mem://NAME` names one store per registry
/// (one per node), so the same name at two paths is the same store.
#[derive(Debug, Default)]
pub struct Registry {
    built: Mutex<HashMap<String, Arc<Backend>>>,
    guard: LocalGuard,
    upstream: UpstreamMetrics,
}

/// Directories a local store may neither contain nor lie inside (the node's data dir:
/// its RocksDB holds the secrets), but for the `allowed` ones within them.
#[derive(Debug, Default, Clone)]
struct LocalGuard {
    protected: Vec<PathBuf>,
    allowed: Vec<PathBuf>,
}

impl LocalGuard {
    fn check(&self, root: &Path) -> Result<(), String> {
        if self.allowed.iter().any(|a| root.starts_with(a)) {
            return Ok(());
        }
        match self
            .protected
            .iter()
            .find(|p| root.starts_with(p) || p.starts_with(root))
        {
            Some(p) => Err(format!(
                "{} overlaps {}, which holds this node's state",
                root.display(),
                p.display()
            )),
            None => Ok(()),
        }
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry whose local stores may neither contain nor lie inside any of the
    /// `protected` directories, except inside an `allowed` one.
    pub fn protecting(protected: &[PathBuf], allowed: &[PathBuf]) -> Self {
        let real = |ps: &[PathBuf]| {
            ps.iter()
                .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
                .collect()
        };
        Self {
            built: Mutex::default(),
            upstream: UpstreamMetrics::default(),
            guard: LocalGuard {
                protected: real(protected),
                allowed: real(allowed),
            },
        }
    }

    /// This registry, counting its stores' requests in `upstream`.
    #[must_use]
    pub fn with_upstream_metrics(mut self, upstream: UpstreamMetrics) -> Self {
        self.upstream = upstream;
        self
    }

    /// The series of every request to this registry's stores.
    pub fn upstream_metrics(&self) -> &UpstreamMetrics {
        &self.upstream
    }

    /// The backend for `uri` with `options`, built on first use.
    pub fn backend(&self, uri: &str, options: &MountOptions) -> Result<Arc<Backend>, BackendError> {
        let parsed = MountUri::parse(uri)?;
        let options = options.canonical(parsed.kind)?;
        // A memory store is its name; a remote store is its URI with its options (two
        // mounts of one bucket may use different credentials).
        let id = match parsed.kind {
            StoreKind::Memory | StoreKind::Local => parsed.to_string(),
            _ => format!("{parsed}\0{:?}", options.0),
        };
        let mut built = self.built.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(b) = built.get(&id) {
            return Ok(Arc::clone(b));
        }
        let identity = match parsed.kind {
            StoreKind::Memory | StoreKind::Local => parsed.to_string(),
            _ => format!("{parsed}?{}", options.identity_part()),
        };
        let backend = Arc::new(
            build(parsed, &options, &self.guard)?
                .with_identity(identity)
                .with_metrics(self.upstream.clone()),
        );
        built.insert(id, Arc::clone(&backend));
        Ok(backend)
    }
}

fn build(uri: MountUri, options: &MountOptions, guard: &LocalGuard) -> Result<Backend, BackendError> {
    match uri.kind {
        StoreKind::Local => {
            let root = PathBuf::from(&uri.location);
            // Keys are checked against the real path of the root (see `local_path`).
            let root = match std::fs::canonicalize(&root) {
                Ok(real) if real.is_dir() => real,
                _ => {
                    return Err(BackendError::InvalidUri {
                        uri: uri.to_string(),
                        reason: format!("{} is not an existing directory", root.display()),
                    });
                }
            };
            guard.check(&root).map_err(|reason| BackendError::InvalidUri {
                uri: uri.to_string(),
                reason,
            })?;
            let store = LocalFileSystem::new_with_prefix(&root)
                .map_err(|e| BackendError::InvalidUri {
                    uri: uri.to_string(),
                    reason: e.to_string(),
                })?
                .with_automatic_cleanup(true)
                // An acknowledged write survives a power loss, as on a cloud store: the
                // file, then the directories whose entries changed, are synced first.
                .with_fsync(true);
            Ok(Backend::new(uri, Arc::new(store), Some(root)))
        }
        StoreKind::Memory => Ok(Backend::new(uri, Arc::new(InMemory::new()), None)),
        StoreKind::S3 => {
            let store = crate::s3::build(&uri, options)?;
            Ok(Backend::s3(uri, store))
        }
        StoreKind::Azure => {
            let store = crate::cloud::build_azure(&uri, options)?;
            Ok(Backend::new(uri, store, None))
        }
        StoreKind::Gcs => {
            let store = crate::cloud::build_gcs(&uri, options)?;
            Ok(Backend::new(uri, store, None))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_stores_keep_out_of_the_data_dir() {
        let base = tempfile::tempdir().unwrap();
        let data = base.path().join("data");
        for d in ["data/root/sub", "data/meta", "elsewhere"] {
            std::fs::create_dir_all(base.path().join(d)).unwrap();
        }
        let reg = Registry::protecting(std::slice::from_ref(&data), &[data.join("root")]);
        let opts = MountOptions::default();
        let uri = |p: &str| format!("local://{}", base.path().join(p).display());
        for refused in ["data", "data/meta", ""] {
            let e = reg.backend(&uri(refused), &opts).unwrap_err().to_string();
            assert!(e.contains("holds this node's state"), "{refused:?}: {e}");
        }
        for allowed in ["data/root", "data/root/sub", "elsewhere"] {
            assert!(reg.backend(&uri(allowed), &opts).is_ok(), "{allowed:?}");
        }
        std::os::unix::fs::symlink(&data, base.path().join("elsewhere/link")).unwrap();
        assert!(
            reg.backend(&uri("elsewhere/link/meta"), &opts).is_err(),
            "through a symlink"
        );
    }

    /// A PUT on a local store (in one request, or streamed in parts as a multipart
    /// completion writes) is acknowledged only once the file and its directory are synced:
    /// object_store's `with_fsync`, which the store's Debug shows.
    #[test]
    fn local_stores_sync_every_write_before_it_is_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let uri = format!("local://{}", dir.path().display());
        let backend = Registry::new().backend(&uri, &MountOptions::default()).unwrap();
        let shown = format!("{backend:?}");
        assert!(shown.contains("fsync: true"), "{shown}");
    }
}
