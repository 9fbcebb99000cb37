//! Object metadata (HEAD results) trusted for a while on `consistency=ttl:SECONDS` mounts,
//! so a warm GET needs no request to the store, and a hint of the last version seen on
//! strict ones; dropped on every write through the gateway.

use std::time::{Duration, Instant};

use moka::sync::Cache;

use crate::read::ObjectHandle;

/// Entries held at most; the oldest go first.
const MAX_ENTRIES: u64 = 200_000;

/// HEAD results by (store identity, key).
pub(crate) struct HeadCache {
    cache: Cache<(String, String), (Instant, ObjectHandle)>,
}

impl Default for HeadCache {
    fn default() -> Self {
        Self {
            cache: Cache::builder().max_capacity(MAX_ENTRIES).build(),
        }
    }
}

impl HeadCache {
    /// The handle seen less than `ttl` ago.
    pub fn get(&self, store: &str, key: &str, ttl: Duration) -> Option<ObjectHandle> {
        let k = (store.to_owned(), key.to_owned());
        let (at, h) = self.cache.get(&k)?;
        (at.elapsed() < ttl).then_some(h)
    }

    /// The last handle seen, however old, and its age: a hint of the version whose blocks
    /// the cache may hold.
    pub fn hint(&self, store: &str, key: &str) -> Option<(Duration, ObjectHandle)> {
        let (at, h) = self.cache.get(&(store.to_owned(), key.to_owned()))?;
        Some((at.elapsed(), h))
    }

    /// Remembers a HEAD result seen now.
    pub fn put(&self, store: &str, key: &str, h: ObjectHandle) {
        self.cache
            .insert((store.to_owned(), key.to_owned()), (Instant::now(), h));
    }

    /// Forgets the object.
    pub fn drop_key(&self, store: &str, key: &str) {
        self.cache.invalidate(&(store.to_owned(), key.to_owned()));
    }
}
