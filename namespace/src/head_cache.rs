//! Object metadata (HEAD results) trusted for a while on `consistency=ttl:SECONDS` mounts,
//! so a warm GET needs no request to the store, and a hint of the last version seen on
//! strict ones; dropped on every write through the gateway.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moka::sync::Cache;

use crate::read::ObjectHandle;

/// Entries held at most; the oldest go first.
const MAX_ENTRIES: u64 = 200_000;

/// A HEAD result and when the store last confirmed it. A confirmation (a 304 on a strict
/// GET) only moves `seen`: no cache write, no copy of the handle.
pub(crate) struct Seen {
    /// Nanoseconds after the cache's epoch.
    seen: AtomicU64,
    /// The handle, as the request that saw it resolved it.
    pub handle: ObjectHandle,
}

/// HEAD results by (store identity, key).
pub(crate) struct HeadCache {
    cache: Cache<(String, String), Arc<Seen>>,
    epoch: Instant,
}

impl Default for HeadCache {
    fn default() -> Self {
        Self {
            cache: Cache::builder().max_capacity(MAX_ENTRIES).build(),
            epoch: Instant::now(),
        }
    }
}

impl HeadCache {
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// How long ago the store last confirmed `s`.
    fn age(&self, s: &Seen) -> Duration {
        Duration::from_nanos(self.now().saturating_sub(s.seen.load(Ordering::Relaxed)))
    }

    /// The handle seen less than `ttl` ago.
    pub(crate) fn get(&self, store: &str, key: &str, ttl: Duration) -> Option<ObjectHandle> {
        let s = self.cache.get(&(store.to_owned(), key.to_owned()))?;
        (self.age(&s) < ttl).then(|| s.handle.clone())
    }

    /// The last handle seen, however old, and its age: a hint of the version whose blocks
    /// the cache may hold.
    pub(crate) fn hint(&self, store: &str, key: &str) -> Option<(Duration, Arc<Seen>)> {
        let s = self.cache.get(&(store.to_owned(), key.to_owned()))?;
        Some((self.age(&s), s))
    }

    /// Remembers a HEAD result seen now.
    pub(crate) fn put(&self, store: &str, key: &str, handle: ObjectHandle) {
        let seen = AtomicU64::new(self.now());
        self.cache
            .insert((store.to_owned(), key.to_owned()), Arc::new(Seen { seen, handle }));
    }

    /// The store confirmed `s` (a 304 to a GET naming its version) now.
    pub(crate) fn confirm(&self, s: &Seen) {
        s.seen.fetch_max(self.now(), Ordering::Relaxed);
    }

    /// Forgets the object.
    pub(crate) fn drop_key(&self, store: &str, key: &str) {
        self.cache.invalidate(&(store.to_owned(), key.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;
    use crate::{Namespace, PutOptions};

    #[tokio::test]
    async fn a_confirmation_renews_the_age_of_the_same_entry() {
        let dir = tempfile::tempdir().unwrap();
        let ns = Namespace::for_tests(dir.path());
        ns.create_bucket("b").await.unwrap();
        let body = futures::stream::empty().boxed();
        ns.put("b", "k", body, PutOptions::default()).await.unwrap();
        let h = ns.head("b", "k").await.unwrap();
        let heads = HeadCache::default();
        heads.put("s", "k", h);
        std::thread::sleep(Duration::from_millis(20));
        let (age, s) = heads.hint("s", "k").unwrap();
        assert!(age >= Duration::from_millis(20));
        assert!(heads.get("s", "k", Duration::from_millis(10)).is_none());
        heads.confirm(&s);
        let (age, again) = heads.hint("s", "k").unwrap();
        assert!(age < Duration::from_millis(20), "{age:?}");
        assert!(Arc::ptr_eq(&s, &again));
        assert!(heads.get("s", "k", Duration::from_millis(10)).is_some());
        heads.drop_key("s", "k");
        assert!(heads.hint("s", "k").is_none());
    }
}
