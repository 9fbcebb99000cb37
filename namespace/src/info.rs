//! What S3 reports about an object (`ObjectInfo`), from the store's metadata and the
//! gateway's record, and the ETag rules that go with it.

use std::collections::BTreeMap;

use arustio_backends::ObjectMeta;
use chrono::{DateTime, Utc};
use md5::{Digest, Md5};

use crate::records::ObjectRecord;

/// The attribute under which stores that keep attributes keep the S3 ETag.
pub(crate) const ETAG_ATTR: &str = "meta:arustio_etag";

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
                    .filter(|(k, _)| k.as_str() != ETAG_ATTR)
                    .filter_map(|(k, v)| k.strip_prefix("meta:").map(|n| (n.to_owned(), v.clone())))
                    .collect();
                Self {
                    key,
                    size: meta.size,
                    etag: get(ETAG_ATTR).unwrap_or_else(|| derived_etag(store, meta)),
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

#[cfg(test)]
mod tests {
    use super::*;

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
