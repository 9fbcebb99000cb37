//! What the cache counts, and the snapshot `arustio cache stats` shows.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::DiskStats;

/// Where the bytes of one block of a read came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The memory or disk tier of this node.
    Hit,
    /// The store.
    Miss,
    /// The block's owner node.
    Peer,
    /// Not through the cache at all.
    Bypass,
}

/// The sources of a read's blocks, as the `x-arustio-cache` header shows them: one of
/// `hit`, `miss`, `peer`, `bypass`, or a comma-separated mix in that order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceMix(u8);

impl SourceMix {
    /// Adds a source.
    pub fn add(&mut self, s: Source) {
        self.0 |= 1 << (s as u8);
    }

    /// Whether the mix has `s`.
    pub fn has(self, s: Source) -> bool {
        self.0 & (1 << (s as u8)) != 0
    }

    /// The header value (`hit` for a read of no blocks: nothing went to the store).
    pub fn header(self) -> String {
        let names = [
            (Source::Hit, "hit"),
            (Source::Miss, "miss"),
            (Source::Peer, "peer"),
            (Source::Bypass, "bypass"),
        ];
        let parts: Vec<&str> = names.iter().filter(|(s, _)| self.has(*s)).map(|(_, n)| *n).collect();
        if parts.is_empty() {
            "hit".to_owned()
        } else {
            parts.join(",")
        }
    }
}

/// Counters, updated as reads go.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub mem_hits: AtomicU64,
    pub mem_bytes: AtomicU64,
    pub disk_hits: AtomicU64,
    pub disk_bytes: AtomicU64,
    pub peer_hits: AtomicU64,
    pub peer_bytes: AtomicU64,
    pub misses: AtomicU64,
    pub store_bytes: AtomicU64,
    pub fallbacks: AtomicU64,
    pub bypasses: AtomicU64,
    pub served_to_peers: AtomicU64,
    pub readahead_blocks: AtomicU64,
    pub fills_dropped: AtomicU64,
    pub coalesced: AtomicU64,
    pub handed: AtomicU64,
    pub received: AtomicU64,
}

impl Counters {
    pub(crate) fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// One tier's figures.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TierStats {
    /// Bytes it may hold.
    pub capacity: u64,
    /// Bytes it holds.
    pub used: u64,
    /// Blocks it holds.
    pub blocks: u64,
    /// Blocks served from it.
    pub hits: u64,
    /// Bytes served from it (whole blocks read).
    pub bytes_served: u64,
    /// Blocks evicted to stay within the capacity.
    pub evictions: u64,
}

/// A node's cache figures (`arustio cache stats`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CacheStats {
    /// The node.
    pub node: u64,
    /// The block size.
    pub block_size: u64,
    /// The cache nodes this node sees on the ring (ids).
    pub ring: Vec<u64>,
    /// The memory tier.
    pub memory: TierStats,
    /// The disk tier, if configured.
    pub disk: Option<TierStats>,
    /// Disk blocks found corrupt (and dropped).
    pub disk_corrupt: u64,
    /// Disk writes that failed (a full disk).
    pub disk_write_errors: u64,
    /// Blocks fetched from their owner node.
    pub peer_hits: u64,
    /// Bytes fetched from owner nodes.
    pub peer_bytes: u64,
    /// Blocks read from the store.
    pub misses: u64,
    /// Bytes read from the store into blocks.
    pub store_bytes: u64,
    /// Blocks read from the store because a tier or a peer failed.
    pub fallbacks: u64,
    /// Reads that bypassed the cache.
    pub bypasses: u64,
    /// Blocks this node served to peers.
    pub served_to_peers: u64,
    /// Blocks fetched ahead of a sequential reader.
    pub readahead_blocks: u64,
    /// Block writes to the disk tier skipped because too many were in flight.
    pub fills_dropped: u64,
    /// Block misses that waited for another reader's fetch instead of asking the store.
    pub coalesced: u64,
    /// Blocks this node read from the store and handed to their owners.
    pub handed_to_owners: u64,
    /// Blocks other nodes handed to this node, their owner.
    pub received_from_peers: u64,
}

impl Counters {
    pub(crate) fn snapshot(
        &self,
        node: u64,
        block_size: u64,
        mem: (u64, u64, u64, u64),
        disk: Option<DiskStats>,
    ) -> CacheStats {
        let g = Self::get;
        CacheStats {
            node,
            block_size,
            ring: Vec::new(),
            memory: TierStats {
                capacity: mem.0,
                used: mem.1,
                blocks: mem.2,
                evictions: mem.3,
                hits: g(&self.mem_hits),
                bytes_served: g(&self.mem_bytes),
            },
            disk: disk.map(|d| TierStats {
                capacity: d.capacity,
                used: d.used,
                blocks: d.blocks,
                evictions: d.evictions,
                hits: g(&self.disk_hits),
                bytes_served: g(&self.disk_bytes),
            }),
            disk_corrupt: disk.map_or(0, |d| d.corrupt),
            disk_write_errors: disk.map_or(0, |d| d.write_errors),
            peer_hits: g(&self.peer_hits),
            peer_bytes: g(&self.peer_bytes),
            misses: g(&self.misses),
            store_bytes: g(&self.store_bytes),
            fallbacks: g(&self.fallbacks),
            bypasses: g(&self.bypasses),
            served_to_peers: g(&self.served_to_peers),
            readahead_blocks: g(&self.readahead_blocks),
            fills_dropped: g(&self.fills_dropped),
            coalesced: g(&self.coalesced),
            handed_to_owners: g(&self.handed),
            received_from_peers: g(&self.received),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_the_mix_in_order() {
        let mut m = SourceMix::default();
        assert_eq!(m.header(), "hit");
        m.add(Source::Miss);
        assert_eq!(m.header(), "miss");
        m.add(Source::Hit);
        m.add(Source::Peer);
        assert_eq!(m.header(), "hit,miss,peer");
    }
}
