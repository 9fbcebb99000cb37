//! What the cache needs from the network: fetching a block from its owner and telling
//! peers that an object changed. The gateway implements it over gRPC.

use async_trait::async_trait;
use bytes::Bytes;

use crate::{CacheError, CacheNode, ObjectId};

/// A block asked of its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRequest {
    /// Where the owner finds the object: opaque to the cache (the namespace path).
    pub locator: String,
    /// The object and version.
    pub object: ObjectId,
    /// The block size the asker cuts with.
    pub block_size: u64,
    /// The block's index.
    pub index: u64,
}

/// The transport to other cache nodes.
#[async_trait]
pub trait PeerTransport: Send + Sync {
    /// The whole block from `node`.
    async fn get_block(&self, node: &CacheNode, req: &BlockRequest) -> Result<Bytes, CacheError>;
    /// Tells `node` that the object at (`store`, `key`) changed: it forgets its metadata,
    /// and with `blocks` its blocks too.
    async fn invalidate(&self, node: &CacheNode, store: &str, key: &str, blocks: bool) -> Result<(), CacheError>;
    /// Hands `node`, the block's owner, a block this node read from the store.
    async fn put_block(&self, node: &CacheNode, req: &BlockRequest, data: Bytes) -> Result<(), CacheError>;
    /// The version and metadata (opaque bytes) of (`store`, `key`) that `node` saw last.
    async fn lookup(&self, node: &CacheNode, store: &str, key: &str) -> Result<Option<(String, Vec<u8>)>, CacheError>;
}
