//! The cache's figures ([`CacheStats`]) to and from their admin API message.

use arustio_cache::{CacheStats, TierStats};
use arustio_proto::admin as pb;

fn tier_pb(t: TierStats) -> pb::TierStats {
    pb::TierStats {
        capacity: t.capacity,
        used: t.used,
        blocks: t.blocks,
        hits: t.hits,
        bytes_served: t.bytes_served,
        evictions: t.evictions,
    }
}

fn tier(t: pb::TierStats) -> TierStats {
    TierStats {
        capacity: t.capacity,
        used: t.used,
        blocks: t.blocks,
        hits: t.hits,
        bytes_served: t.bytes_served,
        evictions: t.evictions,
    }
}

/// `s` as its message.
pub(crate) fn stats_pb(s: CacheStats) -> pb::CacheStats {
    pb::CacheStats {
        node: s.node,
        block_size: s.block_size,
        ring: s.ring,
        memory: Some(tier_pb(s.memory)),
        disk: s.disk.map(tier_pb),
        disk_corrupt: s.disk_corrupt,
        disk_write_errors: s.disk_write_errors,
        peer_hits: s.peer_hits,
        peer_bytes: s.peer_bytes,
        misses: s.misses,
        store_bytes: s.store_bytes,
        fallbacks: s.fallbacks,
        bypasses: s.bypasses,
        served_to_peers: s.served_to_peers,
        readahead_blocks: s.readahead_blocks,
        fills_dropped: s.fills_dropped,
        coalesced: s.coalesced,
        handed_to_owners: s.handed_to_owners,
        received_from_peers: s.received_from_peers,
    }
}

/// The figures a message carries.
pub(crate) fn stats(s: pb::CacheStats) -> CacheStats {
    CacheStats {
        node: s.node,
        block_size: s.block_size,
        ring: s.ring,
        memory: s.memory.map(tier).unwrap_or_default(),
        disk: s.disk.map(tier),
        disk_corrupt: s.disk_corrupt,
        disk_write_errors: s.disk_write_errors,
        peer_hits: s.peer_hits,
        peer_bytes: s.peer_bytes,
        misses: s.misses,
        store_bytes: s.store_bytes,
        fallbacks: s.fallbacks,
        bypasses: s.bypasses,
        served_to_peers: s.served_to_peers,
        readahead_blocks: s.readahead_blocks,
        fills_dropped: s.fills_dropped,
        coalesced: s.coalesced,
        handed_to_owners: s.handed_to_owners,
        received_from_peers: s.received_from_peers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_survive_their_message() {
        let figures = CacheStats {
            node: 3,
            block_size: 4 << 20,
            ring: vec![1, 3],
            memory: TierStats {
                capacity: 10,
                used: 4,
                blocks: 1,
                hits: 7,
                bytes_served: 28,
                evictions: 2,
            },
            disk: Some(TierStats::default()),
            disk_corrupt: 1,
            misses: 5,
            received_from_peers: 9,
            ..CacheStats::default()
        };
        let json = |s: &CacheStats| serde_json::to_string(s).unwrap_or_default();
        assert_eq!(json(&stats(stats_pb(figures.clone()))), json(&figures));
    }
}
