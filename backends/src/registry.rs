//! [`Registry`]: builds each store once and hands out shared [`Backend`]s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;

use crate::{Backend, BackendError, MountOptions, MountUri, StoreKind};

/// Builds stores from mount URIs and options. `mem://NAME` names one store per registry
/// (one per node), so the same name at two paths is the same store.
#[derive(Debug, Default)]
pub struct Registry {
    built: Mutex<HashMap<String, Arc<Backend>>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
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
        let backend = Arc::new(build(parsed, &options)?.with_identity(identity));
        built.insert(id, Arc::clone(&backend));
        Ok(backend)
    }
}

fn build(uri: MountUri, options: &MountOptions) -> Result<Backend, BackendError> {
    match uri.kind {
        StoreKind::Local => {
            let root = std::path::PathBuf::from(&uri.location);
            if !root.is_dir() {
                return Err(BackendError::InvalidUri {
                    uri: uri.to_string(),
                    reason: format!("{} is not an existing directory", root.display()),
                });
            }
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
            let store = crate::cloud::build_s3(&uri, options)?;
            Ok(Backend::new(uri, store, None))
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
