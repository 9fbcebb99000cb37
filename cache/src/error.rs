//! [`CacheError`]: what can go wrong inside the cache. None of it reaches a client: a read
//! falls back to the store.

/// A failure of a cache tier or a peer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// The disk tier's directory or one of its files.
    #[error("disk cache {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A block file that failed its checksum or was cut short.
    #[error("disk cache block {path} is corrupt: {reason}")]
    Corrupt {
        /// The block file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// A peer did not give the block.
    #[error("peer {node}: {reason}")]
    Peer {
        /// The peer's node id.
        node: u64,
        /// Why.
        reason: String,
    },
}
