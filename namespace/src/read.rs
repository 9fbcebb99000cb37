//! HEAD and GET: object metadata, conditions, and reads through the cache.

use std::collections::BTreeMap;

use arustio_backends::{BackendError, ByteStream, ObjectMeta, ReadRange};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use md5::{Digest, Md5};

use crate::Namespace;
use crate::error::{NsError, NsResult};
use crate::mount::Resolved;
use crate::records::ObjectRecord;

/// What S3 reports about an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
                    checksums: BTreeMap::new(),
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
                return Err(NsError::NotModified { key: key() });
            }
        } else if let Some(t) = self.if_modified_since
            && modified <= t.timestamp()
        {
            return Err(NsError::NotModified { key: key() });
        }
        Ok(())
    }
}

/// An object found by [`Namespace::head`], ready to be read.
#[derive(Debug, Clone)]
pub struct ObjectHandle {
    /// What S3 reports about it.
    pub info: ObjectInfo,
    resolved: Resolved,
    pin: Option<String>,
    marker: bool,
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
        if key.ends_with('/') {
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
                    pin: None,
                    marker: true,
                }),
                None => Err(self.not_found(bucket, key).await),
            };
        }
        let meta = match resolved.backend.head(&resolved.key).await {
            Ok(meta) => meta,
            Err(BackendError::NotFound { .. }) => return Err(self.not_found(bucket, key).await),
            Err(e) => return Err(e.into()),
        };
        let rec = self.records.get(&store, &resolved.key)?;
        let pin = meta.e_tag.clone();
        let info = ObjectInfo::from_store(key.to_owned(), &store, &meta, rec);
        Ok(ObjectHandle {
            info,
            resolved,
            pin,
            marker: false,
        })
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
        if handle.marker || range.as_ref().is_some_and(|r| r.start >= r.end) {
            return Ok(futures::stream::empty().boxed());
        }
        let r = &handle.resolved;
        match self.cache.read(&r.backend, &r.key, range, handle.pin.as_deref()).await {
            Ok((_, stream)) => Ok(stream),
            Err(BackendError::Precondition { .. } | BackendError::NotFound { .. }) => Err(NsError::Changed {
                key: handle.info.key.clone(),
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
