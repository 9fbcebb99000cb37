//! The unified namespace: mount resolution, virtual buckets, merged listings and the
//! object operations, over stores reached through the cache.

mod bucket;
pub mod checksum;
mod copy;
mod error;
mod fs;
mod get;
mod head_cache;
mod info;
mod list;
mod locks;
mod mount;
mod multipart;
#[cfg(test)]
mod multipart_tests;
mod path;
mod read;
mod records;
mod resolver;
mod staging;
mod write;

use std::path::PathBuf;
use std::sync::Arc;

use arustio_backends::Registry;
use arustio_cache::CacheManager;
use arustio_storage::{KvStore, MemKv};

pub use bucket::BucketInfo;
pub use copy::MetadataDirective;
pub use error::{NsError, NsResult, StoreFault};
pub use fs::FsEntry;
pub use get::{ByteSpan, GetRequest};
pub use info::ObjectInfo;
pub use list::{ListEntry, ListPage, ListRequest};
pub use mount::{MountEntry, MountTable, Resolved, StaticMounts, longest_mount};
pub use multipart::{PartInfo, UploadInfo};
pub use path::{check_bucket_name, check_key, check_mount_path, normalize_path};
pub use read::{Conditions, ObjectBody, ObjectHandle};
pub use records::ObjectRecord;
pub use write::{BodyStream, ChecksumSlot, PutCondition, PutOptions};

/// The namespace: every S3 and CLI operation on objects goes through it.
pub struct Namespace {
    mounts: Arc<dyn MountTable>,
    registry: Arc<Registry>,
    records: records::Records,
    cache: CacheManager,
    heads: head_cache::HeadCache,
    resolver: resolver::Resolver,
    locks: locks::KeyLocks,
    staging: PathBuf,
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace")
            .field("staging", &self.staging)
            .finish_non_exhaustive()
    }
}

impl Namespace {
    /// A namespace over `mounts`, building stores with `registry`, keeping node-local
    /// object records in `kv` and staging multipart parts under `staging`.
    pub fn new(
        mounts: Arc<dyn MountTable>,
        registry: Arc<Registry>,
        kv: Arc<dyn KvStore>,
        cache: CacheManager,
        staging: PathBuf,
    ) -> Self {
        Self {
            mounts,
            registry,
            records: records::Records::new(kv),
            cache,
            heads: head_cache::HeadCache::default(),
            resolver: resolver::Resolver::default(),
            locks: locks::KeyLocks::default(),
            staging,
        }
    }

    /// A namespace over a fixed mount table, with node-local records in memory and no
    /// cache: for examples and tests.
    pub fn in_memory(mounts: Vec<MountEntry>, staging: PathBuf) -> Self {
        Self::new(
            Arc::new(StaticMounts::new(mounts)),
            Arc::new(Registry::new()),
            Arc::new(MemKv::default()),
            CacheManager::passthrough(),
            staging,
        )
    }

    /// A namespace with one memory store, `mem://t`, at the root: for this crate's tests.
    #[cfg(test)]
    pub(crate) fn for_tests(staging: &std::path::Path) -> Self {
        let root = MountEntry {
            path: String::new(),
            uri: "mem://t".into(),
            options: arustio_backends::MountOptions::default(),
            readonly: false,
        };
        Self::in_memory(vec![root], staging.to_owned())
    }

    /// Resolves a normalised path to its mount, store and key.
    pub fn resolve(&self, path: &str) -> NsResult<Resolved> {
        self.resolver.resolve(self.mounts.mounts(), &self.registry, path)
    }

    /// Resolves `bucket/key` after checking the key rules.
    fn resolve_object(&self, bucket: &str, key: &str) -> NsResult<Resolved> {
        check_key(key)?;
        self.resolve(&path::join(bucket, key))
    }

    /// After a write or delete through this node: forgets the object's metadata here, and
    /// tells the other nodes to do the same.
    fn invalidate(&self, backend: &arustio_backends::Backend, key: &str) {
        self.heads.drop_key(&backend.cache_identity(), key);
        self.cache.invalidate(backend, key);
    }

    /// Another node wrote or deleted (`store`, `key`): forgets its metadata, and with
    /// `blocks` (a `cache free`) its blocks.
    pub fn drop_cached(&self, store: &str, key: &str, blocks: bool) {
        self.heads.drop_key(store, key);
        if blocks {
            self.cache.drop_local(store, key);
        }
    }

    /// The version and metadata (as JSON) of (`store`, `key`) this node saw last, for a
    /// peer that has not seen the object.
    pub fn last_seen(&self, store: &str, key: &str) -> Option<(String, Vec<u8>)> {
        let (_, s) = self.heads.hint(store, key)?;
        let meta = serde_json::to_vec(&s.handle.info).ok()?;
        Some((s.handle.version.clone(), meta))
    }

    /// The mount point that serves `bucket/key` (`/data/lake`; `/` for the root mount),
    /// for per-mount figures.
    pub fn mount_point(&self, bucket: &str, key: &str) -> Option<String> {
        let mounts = self.mounts.mounts();
        longest_mount(&mounts, &path::join(bucket, key)).map(MountEntry::display_path)
    }

    /// The cache, for its admin operations.
    pub fn cache(&self) -> &CacheManager {
        &self.cache
    }

    /// Fails when the resolved mount is read-only.
    fn check_writable(resolved: &Resolved, path: &str) -> NsResult<()> {
        if resolved.mount.readonly {
            return Err(NsError::ReadOnly {
                path: format!("/{path}"),
                mount: resolved.mount.display_path(),
            });
        }
        Ok(())
    }
}
