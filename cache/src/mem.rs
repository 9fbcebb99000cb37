//! The in-process tier: blocks in moka, weighted in bytes, with an LRU policy so that
//! newly fetched (and read-ahead) blocks are admitted into a full cache.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use moka::future::Cache;
use moka::notification::RemovalCause;
use moka::policy::EvictionPolicy;

use crate::BlockKey;

/// Blocks in memory, at most `capacity` bytes (moka evicts lazily: the size may overshoot
/// for a moment; the manager bounds the bytes in flight itself).
#[derive(Clone)]
pub(crate) struct MemTier {
    cache: Cache<BlockKey, Bytes>,
    capacity: u64,
    evictions: Arc<AtomicU64>,
}

impl std::fmt::Debug for MemTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemTier")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl MemTier {
    /// A tier of `capacity` bytes.
    pub(crate) fn new(capacity: u64) -> Self {
        let evictions = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&evictions);
        let cache = Cache::builder()
            .max_capacity(capacity)
            .weigher(|_k: &BlockKey, v: &Bytes| u32::try_from(v.len()).unwrap_or(u32::MAX).max(1))
            .eviction_policy(EvictionPolicy::lru())
            .support_invalidation_closures()
            .eviction_listener(move |_k, _v, cause| {
                if cause == RemovalCause::Size {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build();
        Self {
            cache,
            capacity,
            evictions,
        }
    }

    /// The block, if held.
    pub(crate) async fn get(&self, key: &BlockKey) -> Option<Bytes> {
        self.cache.get(key).await
    }

    /// Holds the block.
    pub(crate) async fn insert(&self, key: BlockKey, data: Bytes) {
        self.cache.insert(key, data).await;
    }

    /// Drops every block of one object path (all versions); moka applies it in the
    /// background, and no read gets a dropped block meanwhile.
    pub(crate) fn remove_path(&self, path: u128) {
        // Closures are registered when supported; the builder enables them.
        let _ = self.cache.invalidate_entries_if(move |k, _| k.path == path);
    }

    /// (capacity, bytes held, blocks held, evictions).
    pub(crate) async fn usage(&self) -> (u64, u64, u64, u64) {
        self.cache.run_pending_tasks().await;
        (
            self.capacity,
            self.cache.weighted_size(),
            self.cache.entry_count(),
            self.evictions.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u64) -> BlockKey {
        BlockKey {
            path: 1,
            version: 2,
            index: i,
        }
    }

    #[tokio::test]
    async fn new_blocks_are_admitted_into_a_full_tier_and_the_size_is_bounded() {
        let t = MemTier::new(32 * 1024);
        for i in 0..32 {
            t.insert(key(i), Bytes::from(vec![0u8; 1024])).await;
        }
        // 32 new one-shot blocks (as readahead brings) into the full tier.
        for i in 100..132 {
            t.insert(key(i), Bytes::from(vec![1u8; 1024])).await;
        }
        let (_, used, _, evictions) = t.usage().await;
        assert!(used <= 32 * 1024, "used {used}");
        assert!(evictions >= 16, "evictions {evictions}");
        let mut kept = 0;
        for i in 100..132 {
            kept += usize::from(t.get(&key(i)).await.is_some());
        }
        assert!(kept >= 24, "kept {kept} of 32 new blocks");
    }

    #[tokio::test]
    async fn remove_path_drops_one_object() {
        let t = MemTier::new(1 << 20);
        t.insert(key(0), Bytes::from_static(b"a")).await;
        let other = BlockKey { path: 9, ..key(0) };
        t.insert(other, Bytes::from_static(b"b")).await;
        t.remove_path(1);
        t.cache.run_pending_tasks().await;
        assert!(t.get(&key(0)).await.is_none());
        assert!(t.get(&other).await.is_some());
    }
}
