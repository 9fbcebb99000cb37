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
        options.validate(parsed.kind)?;
        let id = parsed.to_string();
        let mut built = self.built.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(b) = built.get(&id) {
            return Ok(Arc::clone(b));
        }
        let backend = Arc::new(build(parsed)?);
        built.insert(id, Arc::clone(&backend));
        Ok(backend)
    }
}

fn build(uri: MountUri) -> Result<Backend, BackendError> {
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
                .with_automatic_cleanup(true);
            Ok(Backend::new(uri, Arc::new(store), Some(root)))
        }
        StoreKind::Memory => Ok(Backend::new(uri, Arc::new(InMemory::new()), None)),
    }
}
