//! HEAD and GET: object metadata, conditions, and reads through the cache.

use arustio_backends::{BackendError, ByteStream, ObjectMeta, ReadRange};
use arustio_cache::{ObjectId, ReadOptions, SourceMix};
use chrono::{DateTime, Utc};
use futures::StreamExt;

use crate::Namespace;
use crate::error::{NsError, NsResult};
use crate::info::{EMPTY_MD5, ObjectInfo};
use crate::mount::Resolved;
use crate::records::ObjectRecord;

/// HTTP conditional request headers, already parsed.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    /// If-Match ETags (unquoted); `*` matches any.
    pub if_match: Option<Vec<String>>,
    /// If-None-Match ETags (unquoted); `*` matches any.
    pub if_none_match: Option<Vec<String>>,
    /// If-Modified-Since.
    pub if_modified_since: Option<DateTime<Utc>>,
    /// If-Unmodified-Since.
    pub if_unmodified_since: Option<DateTime<Utc>>,
}

fn etag_listed(list: &[String], etag: &str) -> bool {
    list.iter()
        .any(|e| e == "*" || e.trim_start_matches("W/").trim_matches('"') == etag)
}

impl Conditions {
    /// Evaluates the conditions as S3 does (RFC 9110 order): a failed If-Match or
    /// If-Unmodified-Since is 412; a matching If-None-Match or an unmodified
    /// If-Modified-Since is 304.
    pub fn check(&self, info: &ObjectInfo) -> NsResult<()> {
        let modified = info.last_modified.timestamp();
        let key = || info.key.clone();
        let not_modified = || NsError::NotModified {
            key: info.key.clone(),
            etag: info.etag.clone(),
            last_modified: info.last_modified,
        };
        if let Some(list) = &self.if_match {
            if !etag_listed(list, &info.etag) {
                return Err(NsError::PreconditionFailed { key: key() });
            }
        } else if let Some(t) = self.if_unmodified_since
            && modified > t.timestamp()
        {
            return Err(NsError::PreconditionFailed { key: key() });
        }
        if let Some(list) = &self.if_none_match {
            if etag_listed(list, &info.etag) {
                return Err(not_modified());
            }
        } else if let Some(t) = self.if_modified_since
            && modified <= t.timestamp()
        {
            return Err(not_modified());
        }
        Ok(())
    }
}

/// An object found by [`Namespace::head`], ready to be read.
#[derive(Debug, Clone)]
pub struct ObjectHandle {
    /// What S3 reports about it.
    pub info: ObjectInfo,
    pub(crate) resolved: Resolved,
    /// The store's version the HEAD saw (its ETag, else size and time).
    pub(crate) version: String,
    marker: bool,
}

impl ObjectHandle {
    /// A remembered handle of the object, as `key` under `resolved` names it (perhaps
    /// through another mount or bucket name of the same store).
    pub(crate) fn rebased(mut self, key: &str, resolved: Resolved) -> Self {
        key.clone_into(&mut self.info.key);
        self.resolved = resolved;
        self
    }

    pub(crate) fn new(info: ObjectInfo, resolved: Resolved, version: String) -> Self {
        Self {
            info,
            resolved,
            version,
            marker: false,
        }
    }
}

/// The bytes of a GET and where the cache found them.
pub struct ObjectBody {
    /// The bytes.
    pub stream: ByteStream,
    /// Where its blocks came from (`x-arustio-cache`).
    pub sources: SourceMix,
}

/// How a read of `r` uses the cache: peers only for shared stores, which find the object
/// again by its namespace path.
pub(crate) fn read_options(r: &Resolved, cache: bool) -> ReadOptions {
    let locator = if r.mount.path.is_empty() {
        r.key.clone()
    } else {
        format!("{}/{}", r.mount.path, r.key)
    };
    ReadOptions {
        cache,
        shared: !r.backend.kind().node_local(),
        locator,
    }
}

/// The version to pin reads to: the store's ETag, else its size and modification time.
pub(crate) fn store_version(meta: &ObjectMeta) -> String {
    meta.e_tag
        .clone()
        .unwrap_or_else(|| format!("{}-{}", meta.size, meta.last_modified.timestamp_micros()))
}

impl Namespace {
    /// Metadata of `bucket/key`. A key ending in `/` is a directory marker.
    pub async fn head(&self, bucket: &str, key: &str) -> NsResult<ObjectHandle> {
        let resolved = self.resolve_object(bucket, key)?;
        let store = resolved.backend.id();
        if resolved.key.is_empty() && !key.ends_with('/') {
            // The mount point itself: a directory, not an object.
            return Err(self.not_found(bucket, key).await);
        }
        if resolved.is_marker(key) {
            let rec = if resolved.key.is_empty() {
                Some(ObjectRecord {
                    etag: EMPTY_MD5.to_owned(),
                    ..ObjectRecord::default()
                })
            } else {
                self.records.get(&store, &resolved.key)?
            };
            return match rec {
                Some(rec) => Ok(ObjectHandle {
                    info: ObjectInfo::from_marker(key.to_owned(), rec),
                    resolved,
                    version: String::new(),
                    marker: true,
                }),
                None => Err(self.not_found(bucket, key).await),
            };
        }
        let policy = resolved.mount.options.cache_policy(resolved.backend.kind());
        let identity = resolved.backend.cache_identity();
        let ttl = policy.ttl.filter(|_| policy.enabled);
        if let Some(ttl) = ttl
            && let Some(h) = self.heads.get(&identity, &resolved.key, ttl)
        {
            return Ok(h.rebased(key, resolved));
        }
        let meta = match resolved.backend.head(&resolved.key).await {
            Ok(meta) => meta,
            Err(BackendError::NotFound { .. }) => return Err(self.not_found(bucket, key).await),
            Err(e) => return Err(e.into()),
        };
        let rec = self.records.get(&store, &resolved.key)?;
        let version = store_version(&meta);
        let info = ObjectInfo::from_store(key.to_owned(), &store, &meta, rec);
        let handle = ObjectHandle::new(info, resolved, version);
        if policy.enabled {
            self.heads.put(&identity, &handle.resolved.key, handle.clone());
        }
        Ok(handle)
    }

    /// NoSuchKey, or NoSuchBucket when the bucket itself is missing.
    pub(crate) async fn not_found(&self, bucket: &str, key: &str) -> NsError {
        match self.bucket_exists(bucket).await {
            Ok(true) => NsError::NoSuchKey {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            },
            Ok(false) => NsError::NoSuchBucket {
                bucket: bucket.to_owned(),
            },
            Err(e) => e,
        }
    }

    /// Streams `range` (or all) of the object `handle` names, pinned to the version its
    /// HEAD saw: if the object changed since, the read fails rather than mix versions.
    pub async fn open(&self, handle: &ObjectHandle, range: Option<ReadRange>) -> NsResult<ByteStream> {
        Ok(self.open_cached(handle, range, false).await?.stream)
    }

    /// As [`Namespace::open`], through the block cache unless the mount has it off or
    /// `bypass` (a request's `Cache-Control: no-cache`); says where the blocks came from.
    pub async fn open_cached(
        &self,
        handle: &ObjectHandle,
        range: Option<ReadRange>,
        bypass: bool,
    ) -> NsResult<ObjectBody> {
        if handle.marker || range.as_ref().is_some_and(|r| r.start >= r.end) || handle.info.size == 0 {
            return Ok(ObjectBody {
                stream: futures::stream::empty().boxed(),
                sources: SourceMix::default(),
            });
        }
        let r = &handle.resolved;
        let policy = r.mount.options.cache_policy(r.backend.kind());
        let object = ObjectId {
            store: r.backend.cache_identity().into(),
            key: r.key.clone(),
            version: handle.version.clone(),
            size: handle.info.size,
        };
        let opts = read_options(r, policy.enabled && !bypass);
        match self.cache.read(&r.backend, &object, range, &opts).await {
            Ok(read) => Ok(ObjectBody {
                stream: read.stream,
                sources: read.sources,
            }),
            Err(BackendError::Precondition { .. } | BackendError::NotFound { .. }) => {
                // Whatever this node believed about the object is stale.
                self.heads.drop_key(&object.store, &object.key);
                Err(NsError::Changed {
                    key: handle.info.key.clone(),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Reads the object at namespace `path` (`bucket/key`) through the cache and discards
    /// the bytes: `arustio cache load`. Returns the bytes read and where they came from.
    pub async fn load_cached(&self, path: &str) -> NsResult<(u64, SourceMix)> {
        let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
        let handle = self.head(bucket, key).await?;
        let mut body = self.open_cached(&handle, None, false).await?;
        let mut n = 0u64;
        while let Some(chunk) = body.stream.next().await {
            n += chunk?.len() as u64;
        }
        Ok((n, body.sources))
    }

    /// Drops this node's (and, through the cache, every node's) blocks and metadata of the
    /// object at namespace `path` (`bucket/key`): `arustio cache free`.
    pub fn free_cached(&self, path: &str) -> NsResult<()> {
        let r = self.resolve(path)?;
        let store = r.backend.cache_identity();
        self.heads.drop_key(&store, &r.key);
        self.cache.free(&store, &r.key);
        Ok(())
    }

    /// The block a peer asked this node for: `locator` is the namespace path it read.
    pub async fn serve_block(&self, req: &arustio_cache::BlockRequest) -> NsResult<bytes::Bytes> {
        let r = self.resolve(&req.locator)?;
        if *r.backend.cache_identity() != *req.object.store || r.key != req.object.key {
            return Err(NsError::Changed {
                key: req.object.key.clone(),
            });
        }
        match self.cache.serve_block(&r.backend, req).await {
            Ok(b) => Ok(b),
            Err(BackendError::Precondition { .. } | BackendError::NotFound { .. }) => Err(NsError::Changed {
                key: req.object.key.clone(),
            }),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ObjectInfo {
        ObjectInfo {
            etag: "abc".into(),
            last_modified: DateTime::from_timestamp(1_000, 0).unwrap(),
            ..ObjectInfo::default()
        }
    }

    #[test]
    fn conditions_follow_rfc_order() {
        let at = |s| DateTime::from_timestamp(s, 0);
        let c = Conditions {
            if_match: Some(vec!["\"abc\"".into()]),
            if_unmodified_since: at(10),
            ..Default::default()
        };
        assert!(c.check(&info()).is_ok(), "If-Match wins over If-Unmodified-Since");
        let c = Conditions {
            if_match: Some(vec!["x".into()]),
            ..Default::default()
        };
        assert!(matches!(c.check(&info()), Err(NsError::PreconditionFailed { .. })));
        let c = Conditions {
            if_none_match: Some(vec!["*".into()]),
            ..Default::default()
        };
        assert!(matches!(c.check(&info()), Err(NsError::NotModified { .. })));
        let c = Conditions {
            if_none_match: Some(vec!["zzz".into()]),
            if_modified_since: at(5000),
            ..Default::default()
        };
        assert!(c.check(&info()).is_ok(), "If-None-Match wins over If-Modified-Since");
        let c = Conditions {
            if_modified_since: at(1000),
            ..Default::default()
        };
        assert!(matches!(c.check(&info()), Err(NsError::NotModified { .. })));
    }
}
