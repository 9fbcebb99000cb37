//! What a cached block is: an object's identity and version, and a block's place in it.

use std::fmt;
use std::sync::Arc;

use xxhash_rust::xxh3::xxh3_128;

/// One version of one object in one store: what [`crate::CacheManager::read`] is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectId {
    /// The store's identity: scheme, bucket and prefix, endpoint and account (see
    /// `Backend::cache_identity`), so two stores never share blocks.
    pub store: Arc<str>,
    /// The key in the store, mount-relative.
    pub key: String,
    /// The version the HEAD (or the store's GET) saw: ETag, version id or generation.
    pub version: String,
    /// The object's size in bytes.
    pub size: u64,
}

/// Hashes length-prefixed fields to stable bytes (xxh3 is specified; std `Hash` is not).
fn stable_hash(fields: &[&[u8]]) -> u128 {
    let mut buf = Vec::with_capacity(fields.iter().map(|f| f.len() + 8).sum());
    for f in fields {
        buf.extend_from_slice(&(f.len() as u64).to_le_bytes());
        buf.extend_from_slice(f);
    }
    xxh3_128(&buf)
}

impl ObjectId {
    /// A stable hash of (store, key): every version of the object shares it, so that
    /// `cache free` can drop all of them.
    pub fn path_hash(&self) -> u128 {
        path_hash(&self.store, &self.key)
    }

    /// The key of block `index` when cut in blocks of `block_size`.
    pub fn block(&self, block_size: u64, index: u64) -> BlockKey {
        BlockKey {
            path: self.path_hash(),
            version: stable_hash(&[
                self.version.as_bytes(),
                &self.size.to_le_bytes(),
                &block_size.to_le_bytes(),
            ]),
            index,
        }
    }
}

/// A stable hash of (store, key).
pub fn path_hash(store: &str, key: &str) -> u128 {
    stable_hash(&[store.as_bytes(), key.as_bytes()])
}

/// A block: (store identity, key) hashed, (version, size, block size) hashed, and its
/// index. The block size is part of the key, so a changed block size never serves a block
/// cut another way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockKey {
    /// Hash of the store identity and the key.
    pub path: u128,
    /// Hash of the version, the object size and the block size.
    pub version: u128,
    /// Index of the block in the object.
    pub index: u64,
}

impl BlockKey {
    /// Stable bytes for placing the block on the ring.
    pub fn ring_bytes(&self) -> [u8; 40] {
        let mut out = [0u8; 40];
        out[..16].copy_from_slice(&self.path.to_le_bytes());
        out[16..32].copy_from_slice(&self.version.to_le_bytes());
        out[32..].copy_from_slice(&self.index.to_le_bytes());
        out
    }

    /// Parses [`BlockKey`]'s `Display` form (`path-version-index`, hex).
    pub fn parse(s: &str) -> Option<Self> {
        let mut it = s.split('-');
        let path = u128::from_str_radix(it.next()?, 16).ok()?;
        let version = u128::from_str_radix(it.next()?, 16).ok()?;
        let index = it.next()?.parse().ok()?;
        it.next().is_none().then_some(Self { path, version, index })
    }
}

impl fmt::Display for BlockKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}-{:032x}-{}", self.path, self.version, self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(store: &str, version: &str) -> ObjectId {
        ObjectId {
            store: store.into(),
            key: "k".into(),
            version: version.into(),
            size: 10,
        }
    }

    #[test]
    fn keys_differ_by_store_version_and_block_size() {
        let a = id("s3://b?endpoint=http://one", "v1");
        let b = id("s3://b?endpoint=http://two", "v1");
        assert_ne!(a.block(4, 0), b.block(4, 0));
        assert_ne!(a.block(4, 0), id("s3://b?endpoint=http://one", "v2").block(4, 0));
        assert_ne!(a.block(4, 0), a.block(8, 0));
        assert_eq!(
            a.block(4, 1).path,
            id("s3://b?endpoint=http://one", "v2").block(4, 1).path
        );
        let k = a.block(4, 7);
        assert_eq!(BlockKey::parse(&k.to_string()), Some(k));
        assert_eq!(BlockKey::parse("zz-1-2"), None);
    }

    #[test]
    fn hashes_are_stable() {
        // Pinned: a change here would orphan every disk block and split the ring.
        assert_eq!(
            format!("{:032x}", path_hash("mem://a", "k")),
            "57350e0ee8519d12b4f23a290ec7518a"
        );
        assert_ne!(path_hash("ab", "c"), path_hash("a", "bc"));
    }
}
