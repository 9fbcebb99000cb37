//! HEAD and GET: object metadata, conditions, and reads through the cache.

use std::collections::BTreeMap;

use arustio_backends::{BackendError, ByteStream, ObjectMeta, ReadRange};
use arustio_cache::{ObjectId, ReadOptions, SourceMix};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use md5::{Digest, Md5};

use crate::Namespace;
use crate::error::{NsError, NsResult};
use crate::mount::Resolved;
use crate::records::ObjectRecord;

/// What S3 reports about an object.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObjectInfo {
    /// The key within its bucket.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The ETag, unquoted.
    pub etag: String,
    /// Last modification.
    pub last_modified: DateTime<Utc>,
    /// Content-Type, if known.
    pub content_type: Option<String>,
    /// User metadata.
    pub user_meta: BTreeMap<String, String>,
    /// Other stored headers.
    pub headers: BTreeMap<String, String>,
    /// Whole-object checksums.
    pub checksums: BTreeMap<String, String>,
    /// A multipart object's part sizes, in order; empty when it is one part or unknown.
    pub part_sizes: Vec<u64>,
}

impl ObjectInfo {
    /// Builds the info of an object from the store's metadata and its record, ignoring a
    /// record that no longer matches the store's version.
    pub(crate) fn from_store(key: String, store: &str, meta: &ObjectMeta, rec: Option<ObjectRecord>) -> Self {
        match rec.filter(|r| r.matches(meta)) {
            Some(r) => Self {
                key,
                size: meta.size,
                etag: r.etag,
                last_modified: meta.last_modified,
                content_type: r.content_type,
                user_meta: r.user_meta,
                headers: r.headers,
                checksums: r.checksums,
                part_sizes: r.part_sizes,
            },
            None => {
                // What the store keeps with the object, where it keeps anything.
                let attrs = meta.attrs.clone().unwrap_or_default();
                let get = |k: &str| attrs.get(k).cloned();
                let headers = [
                    "cache-control",
                    "content-disposition",
                    "content-encoding",
                    "content-language",
                ]
                .into_iter()
                .filter_map(|h| get(h).map(|v| (h.to_owned(), v)))
                .collect();
                let user_meta = attrs
                    .iter()
                    .filter(|(k, _)| k.as_str() != crate::write::ETAG_ATTR)
                    .filter_map(|(k, v)| k.strip_prefix("meta:").map(|n| (n.to_owned(), v.clone())))
                    .collect();
                Self {
                    key,
                    size: meta.size,
                    etag: get(crate::write::ETAG_ATTR).unwrap_or_else(|| derived_etag(store, meta)),
                    last_modified: meta.last_modified,
                    content_type: get("content-type"),
                    user_meta,
                    headers,
                    // What the store verified and keeps (S3, with checksum mode).
                    checksums: attrs
                        .iter()
                        .filter_map(|(k, v)| k.strip_prefix("checksum:").map(|a| (a.to_owned(), v.clone())))
                        .collect(),
                    part_sizes: Vec::new(),
                }
            }
        }
    }

    pub(crate) fn from_marker(key: String, rec: ObjectRecord) -> Self {
        let last_modified = rec.modified();
        Self {
            key,
            size: 0,
            etag: rec.etag,
            last_modified,
            content_type: rec.content_type,
            user_meta: rec.user_meta,
            headers: rec.headers,
            checksums: rec.checksums,
            part_sizes: rec.part_sizes,
        }
    }
}

/// MD5 of nothing: the ETag of an empty object, and of directory markers.
pub(crate) const EMPTY_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

/// A stable ETag for an object the gateway did not write: derived from the store's
/// version, and shaped `<16 hex>-1` so that no client takes it for an MD5.
pub(crate) fn derived_etag(store: &str, meta: &ObjectMeta) -> String {
    let mut h = Md5::new();
    h.update(store.as_bytes());
    h.update([0]);
    match &meta.e_tag {
        Some(t) => h.update(t.as_bytes()),
        None => h.update(format!("{}-{}", meta.size, meta.last_modified.timestamp_micros()).as_bytes()),
    }
    let digest = hex::encode(h.finalize());
    format!("{}-1", &digest[..16])
}

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

    #[test]
    fn derived_etags_are_not_md5_shaped() {
        let meta = ObjectMeta {
            key: "k".into(),
            size: 1,
            last_modified: DateTime::default(),
            e_tag: Some("v1".into()),
            attrs: None,
        };
        let e = derived_etag("mem://a", &meta);
        assert_eq!(e.len(), 18);
        assert!(e.ends_with("-1"));
        assert_eq!(e, derived_etag("mem://a", &meta));
    }
}
