//! The block cache between the namespace and the stores: blocks of `CHUNK_SIZE` keyed by
//! the object's version, in memory and on disk, owned by nodes on a hash ring and fetched
//! from peers; the store stays the source of truth.

mod block;
mod disk;
mod error;
mod fetch;
mod key;
mod manager;
mod mem;
mod peer;
mod readahead;
mod ring;
mod stats;
mod suspects;

pub use block::{BlockAccessor, BlockSlice, CHUNK_SIZE};
pub use disk::{DiskStats, DiskTier};
pub use error::CacheError;
pub use key::{BlockKey, ObjectId, path_hash};
pub use manager::{CacheConfig, CacheManager, CachedRead, ReadOptions};
pub use peer::{BlockRequest, PeerTransport};
pub use ring::{CacheNode, Members, owner};
pub use stats::{CacheStats, Source, SourceMix, TierStats};
