//! Node-local object records: what a local or memory store cannot hold itself.
//!
//! A record sits beside the object, keyed by the store's identity and the key, and
//! remembers the store's version tag and size at write time. When the file is changed or
//! deleted behind the gateway, the tag no longer matches and the record is ignored, so
//! stale metadata is never served. `dir/` markers live only here, in their own keyspace
//! so listings can merge them cheaply.

use std::collections::BTreeMap;
use std::sync::Arc;

use arustio_backends::ObjectMeta;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use arustio_storage::{Keyspace, KvError, KvStore};

use crate::error::NsResult;

/// What the gateway knows about one object beyond what the store holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRecord {
    /// The S3 ETag, unquoted: the MD5, or `md5-N` for multipart.
    pub etag: String,
    /// Size in bytes when written.
    pub size: u64,
    /// The store's version tag when written.
    pub store_etag: Option<String>,
    /// Last modification, in milliseconds since the epoch (used for markers).
    pub modified_ms: i64,
    /// Content-Type.
    pub content_type: Option<String>,
    /// `x-amz-meta-*` values, by lowercase name without the prefix.
    pub user_meta: BTreeMap<String, String>,
    /// Other stored headers (Content-Encoding, Cache-Control, ...).
    pub headers: BTreeMap<String, String>,
    /// Whole-object checksums, by algorithm name (`crc32`, `sha256`, ...), base64.
    pub checksums: BTreeMap<String, String>,
    /// The sizes of a multipart object's parts, in order (for `?partNumber=`); empty for
    /// an object written in one piece, and in records written before parts were kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_sizes: Vec<u64>,
}

impl ObjectRecord {
    /// Whether the record still describes the object the store holds now.
    pub fn matches(&self, meta: &ObjectMeta) -> bool {
        self.size == meta.size && self.store_etag.is_some() && self.store_etag == meta.e_tag
    }

    /// The modification time of a marker.
    pub fn modified(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.modified_ms).unwrap_or_default()
    }
}

/// The keyspace of the records, in the node's store.
const KEYSPACE: &str = "obj";

#[derive(Debug, Clone)]
pub(crate) struct Records {
    kv: Keyspace,
}

const OBJECT: u8 = b'o';
const MARKER: u8 = b'd';
const SCAN_PAGE: usize = 1000;

fn record_key(space: u8, store: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(store.len() + key.len() + 3);
    k.push(space);
    k.push(0);
    k.extend_from_slice(store.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

fn decode(bytes: &[u8]) -> Result<ObjectRecord, KvError> {
    serde_json::from_slice(bytes).map_err(|e| KvError(format!("corrupt object record: {e}")))
}

fn encode(rec: &ObjectRecord) -> Result<Vec<u8>, KvError> {
    serde_json::to_vec(rec).map_err(|e| KvError(e.to_string()))
}

impl Records {
    pub(crate) fn new(kv: Arc<dyn KvStore>) -> Self {
        Self {
            kv: Keyspace::new(kv, KEYSPACE),
        }
    }

    fn space(key: &str) -> u8 {
        if key.ends_with('/') { MARKER } else { OBJECT }
    }

    /// The record of `key` (an object, or a marker when it ends in `/`).
    pub(crate) fn get(&self, store: &str, key: &str) -> NsResult<Option<ObjectRecord>> {
        let raw = self.kv.get(&record_key(Self::space(key), store, key))?;
        Ok(raw.map(|r| decode(&r)).transpose()?)
    }

    pub(crate) fn put(&self, store: &str, key: &str, rec: &ObjectRecord) -> NsResult<()> {
        Ok(self.kv.put(&record_key(Self::space(key), store, key), &encode(rec)?)?)
    }

    pub(crate) fn delete(&self, store: &str, key: &str) -> NsResult<()> {
        Ok(self.kv.delete(&record_key(Self::space(key), store, key))?)
    }

    /// Up to a page of markers of `store` starting with `prefix`, after `after`.
    pub(crate) fn markers(
        &self,
        store: &str,
        prefix: &str,
        after: Option<&str>,
    ) -> NsResult<Vec<(String, ObjectRecord)>> {
        let scan_prefix = record_key(MARKER, store, prefix);
        let base_len = record_key(MARKER, store, "").len();
        let after = after.map(|a| record_key(MARKER, store, a));
        let rows = self.kv.scan(&scan_prefix, after.as_deref(), SCAN_PAGE)?;
        rows.into_iter()
            .map(|(k, v)| {
                let key = String::from_utf8_lossy(&k[base_len..]).into_owned();
                Ok((key, decode(&v)?))
            })
            .collect()
    }
}
