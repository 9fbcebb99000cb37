//! The block cache between the namespace and the stores; for now a pass-through seam.
//!
//! Every read of object bytes goes through [`CacheManager::read`]. Later, blocks of
//! `CHUNK_SIZE` keyed by the object's version will be served from memory, disk and peers
//! here; the store stays the source of truth.

use std::sync::Arc;

use arustio_backends::{Backend, BackendError, ByteStream, ObjectMeta, ReadRange};

/// Reads object bytes, pinned to one version of the object.
#[derive(Debug, Default, Clone)]
pub struct CacheManager {}

impl CacheManager {
    /// A cache that passes every read through to the store.
    pub fn passthrough() -> Self {
        Self {}
    }

    /// Reads `range` of `key` from `backend`. `pin` is the store version the caller saw
    /// in its HEAD; a changed object fails with `Precondition` rather than mixing versions.
    pub async fn read(
        &self,
        backend: &Arc<Backend>,
        key: &str,
        range: Option<ReadRange>,
        pin: Option<&str>,
    ) -> Result<(ObjectMeta, ByteStream), BackendError> {
        backend.get(key, range, pin).await
    }

    /// Drops whatever is cached for `key` on `backend` after a write or delete.
    pub fn invalidate(&self, _backend: &Backend, _key: &str) {}
}
