//! PUT and DELETE: streamed, all-or-nothing writes with an MD5 computed on the way.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use arustio_backends::{BackendError, BackendWriter, ObjectMeta};
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use md5::{Digest, Md5};

use crate::error::{NsError, NsResult};
use crate::info::{EMPTY_MD5, ETAG_ATTR, ObjectInfo};
use crate::mount::Resolved;
use crate::records::ObjectRecord;
use crate::{Namespace, path};

/// A request body as the gateway hands it over.
pub type BodyStream = BoxStream<'static, Result<Bytes, Box<dyn std::error::Error + Send + Sync>>>;

/// Checksums a body stream fills in once it has ended, for the write to keep.
pub type ChecksumSlot = Arc<Mutex<BTreeMap<String, String>>>;

/// Largest total size of user metadata, as S3.
const MAX_USER_META: usize = 2048;

/// A conditional PUT.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PutCondition {
    /// Write unconditionally.
    #[default]
    None,
    /// `If-None-Match: *`: create only if absent.
    IfNoneMatchAny,
    /// `If-Match`: overwrite only if the current ETag is listed.
    IfMatch(Vec<String>),
}

/// Options of a write.
#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    /// Content-Type.
    pub content_type: Option<String>,
    /// User metadata.
    pub user_meta: BTreeMap<String, String>,
    /// Other headers to keep (Content-Encoding, Cache-Control, ...).
    pub headers: BTreeMap<String, String>,
    /// The condition the write depends on.
    pub condition: PutCondition,
    /// Content-MD5, decoded; a mismatch fails the write with BadDigest.
    pub content_md5: Option<[u8; 16]>,
    /// Checksums, filled in by the body stream once it has ended successfully, and kept.
    pub checksums: Option<ChecksumSlot>,
    /// The checksum algorithms the client declared, known before the body arrives (a store
    /// that keeps checksums of bodies sent in parts must be told at the start).
    pub checksum_algorithms: Vec<String>,
    /// The ETag, when it is known before the bytes are (a multipart Complete, a copy).
    pub known_etag: Option<String>,
    /// A multipart object's part sizes, in order, kept for `?partNumber=` reads.
    pub part_sizes: Vec<u64>,
    /// Checksums for the record only, not for the store (a multipart upload's COMPOSITE
    /// checksum, which no store takes for a body it is sent whole).
    pub kept_checksums: BTreeMap<String, String>,
}

impl PutOptions {
    /// Content-Type, stored headers and user metadata as store attributes.
    fn attrs(&self) -> arustio_backends::Attrs {
        let mut a: arustio_backends::Attrs = self.headers.clone();
        if let Some(ct) = &self.content_type {
            a.insert("content-type".to_owned(), ct.clone());
        }
        for (k, v) in &self.user_meta {
            a.insert(format!("meta:{k}"), v.clone());
        }
        if let Some(etag) = &self.known_etag {
            a.insert(ETAG_ATTR.to_owned(), etag.clone());
        }
        a
    }

    fn record(&self, etag: String) -> ObjectRecord {
        let mut checksums = self
            .checksums
            .as_ref()
            .map(|c| c.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .unwrap_or_default();
        checksums.extend(self.kept_checksums.clone());
        ObjectRecord {
            etag,
            content_type: self.content_type.clone(),
            user_meta: self.user_meta.clone(),
            headers: self.headers.clone(),
            checksums,
            part_sizes: self.part_sizes.clone(),
            modified_ms: chrono::Utc::now().timestamp_millis(),
            ..ObjectRecord::default()
        }
    }
}

impl PutCondition {
    fn check(&self, key: &str, existing: Option<&ObjectInfo>) -> NsResult<()> {
        match (self, existing) {
            (Self::None, _) | (Self::IfNoneMatchAny, None) => Ok(()),
            (Self::IfNoneMatchAny, Some(_)) => Err(NsError::PreconditionFailed { key: key.to_owned() }),
            (Self::IfMatch(_), None) => Err(NsError::NoSuchKey {
                bucket: String::new(),
                key: key.to_owned(),
            }),
            (Self::IfMatch(list), Some(info)) => {
                let ok = list.iter().any(|e| e == "*" || e.trim_matches('"') == info.etag);
                if ok {
                    Ok(())
                } else {
                    Err(NsError::PreconditionFailed { key: key.to_owned() })
                }
            }
        }
    }
}

/// What a finished write hashed.
pub(crate) struct Written {
    pub md5: [u8; 16],
}

/// The modification time a write reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stamp {
    /// The time of the commit, as the gateway saw it, where the store's reply names the
    /// ETag (no S3 reply to a PUT or a Complete carries a time, so no client sees it);
    /// else the store's, read back.
    Commit,
    /// The store's, read back (a copy's reply carries it).
    Store,
}

impl Namespace {
    /// Writes `bucket/key` from `body`. Nothing is visible unless the whole body arrived
    /// and every check passed.
    pub async fn put(&self, bucket: &str, key: &str, body: BodyStream, opts: PutOptions) -> NsResult<ObjectInfo> {
        let resolved = self.resolve_object(bucket, key)?;
        Self::check_writable(&resolved, &path::join(bucket, key))?;
        let meta_len: usize = opts.user_meta.iter().map(|(k, v)| k.len() + v.len()).sum();
        if meta_len > MAX_USER_META {
            return Err(NsError::MetadataTooLarge { len: meta_len });
        }
        if !self.bucket_exists(bucket).await? {
            return Err(NsError::NoSuchBucket {
                bucket: bucket.to_owned(),
            });
        }
        if resolved.key.is_empty() && !key.ends_with('/') {
            return Err(NsError::InvalidKey {
                key: key.to_owned(),
                reason: format!("/{} is a mount point, so it is a directory", path::join(bucket, key)),
            });
        }
        if resolved.is_marker(key) {
            return self.put_marker(&resolved, key, body, &opts).await;
        }
        resolved.backend.check_key(&resolved.key)?;
        let body = body.map(|r| r.map_err(|source| NsError::Body { source })).boxed();
        self.write_object(&resolved, key, body, &opts).await
    }

    /// Streams `body` into the object `resolved` names under its key lock, checking the
    /// condition first and the MD5 last, and records what the store cannot hold.
    pub(crate) async fn write_object(
        &self,
        resolved: &Resolved,
        key: &str,
        body: BoxStream<'static, NsResult<Bytes>>,
        opts: &PutOptions,
    ) -> NsResult<ObjectInfo> {
        self.write_object_with(resolved, key, body, opts, Stamp::Commit, |w| hex::encode(w.md5))
            .await
    }

    /// [`Self::write_object`] with the ETag `etag` gives and the modification time `stamp`
    /// asks for. What it returns has the store's size and ETag.
    pub(crate) async fn write_object_with(
        &self,
        resolved: &Resolved,
        key: &str,
        body: BoxStream<'static, NsResult<Bytes>>,
        opts: &PutOptions,
        stamp: Stamp,
        etag: impl FnOnce(&Written) -> String,
    ) -> NsResult<ObjectInfo> {
        let (backend, rel, store) = (&resolved.backend, resolved.key.as_str(), resolved.backend.id());
        let mut writer = backend.writer(rel)?;
        if backend.keeps_attrs() {
            writer = writer.with_attrs(opts.attrs());
        }
        if !opts.checksum_algorithms.is_empty() {
            writer = writer.with_checksums(&opts.checksum_algorithms);
        }
        // Each write stages on its own (a multipart upload in the store, a temp file, a
        // buffer) and takes the key's lock only to commit: no writer waits on another's
        // body, the last to commit wins, and a condition is checked at the commit.
        let (writer, late, etag, size) = stream_body(writer, body, opts, etag).await?;
        let _guard = self.locks.lock(&store, rel).await;
        let writer = match self.at_commit(resolved, key, opts, writer).await {
            Ok(writer) => writer,
            Err((writer, e)) => {
                writer.abort().await;
                return Err(e);
            }
        };
        let meta = match (writer.finish_with(late).await?, stamp) {
            // The store named what it committed: no HEAD (a round trip per PUT).
            (Some(e_tag), Stamp::Commit) => ObjectMeta {
                key: rel.to_owned(),
                size,
                last_modified: chrono::Utc::now(),
                e_tag: Some(e_tag),
                attrs: None,
            },
            _ => backend.head(rel).await?,
        };
        let mut rec = opts.record(etag);
        rec.size = meta.size;
        rec.store_etag.clone_from(&meta.e_tag);
        self.records.put(&store, rel, &rec)?;
        self.invalidate(backend, rel);
        let policy = resolved.mount.options.cache_policy(backend.kind());
        if policy.enabled && policy.on_write {
            // `cache_on_write`: the new version's blocks, read back in the background.
            let object = arustio_cache::ObjectId {
                store: backend.cache_identity().into(),
                key: rel.to_owned(),
                version: crate::read::store_version(&meta),
                size: meta.size,
            };
            self.cache
                .warm(backend, object, crate::read::read_options(resolved, true));
        }
        Ok(ObjectInfo::from_store(key.to_owned(), &store, &meta, Some(rec)))
    }

    /// Checks the write's condition against what the store holds now, under the key's
    /// lock; where the store takes conditions, the commit carries it too, since another
    /// node may write between this check and the commit.
    async fn at_commit(
        &self,
        resolved: &Resolved,
        key: &str,
        opts: &PutOptions,
        writer: BackendWriter,
    ) -> Result<BackendWriter, (BackendWriter, NsError)> {
        if opts.condition == PutCondition::None {
            return Ok(writer);
        }
        let (backend, rel, store) = (&resolved.backend, resolved.key.as_str(), resolved.backend.id());
        let current = match backend.head(rel).await {
            Ok(meta) => Some(meta),
            Err(BackendError::NotFound { .. }) => None,
            Err(e) => return Err((writer, e.into())),
        };
        let existing = match &current {
            Some(meta) => match self.records.get(&store, rel) {
                Ok(rec) => Some(ObjectInfo::from_store(key.to_owned(), &store, meta, rec)),
                Err(e) => return Err((writer, e)),
            },
            None => None,
        };
        if let Err(e) = opts.condition.check(key, existing.as_ref()) {
            return Err((writer, e));
        }
        Ok(if backend.conditional_put() {
            writer.only_over(current.and_then(|m| m.e_tag))
        } else {
            writer
        })
    }

    async fn put_marker(
        &self,
        resolved: &Resolved,
        key: &str,
        mut body: BodyStream,
        opts: &PutOptions,
    ) -> NsResult<ObjectInfo> {
        while let Some(chunk) = body.next().await {
            if !chunk.map_err(|source| NsError::Body { source })?.is_empty() {
                return Err(NsError::MarkerWithBody { key: key.to_owned() });
            }
        }
        if resolved.key.is_empty() {
            // The mount point itself: always a directory.
            return Ok(ObjectInfo {
                key: key.to_owned(),
                etag: EMPTY_MD5.to_owned(),
                ..ObjectInfo::default()
            });
        }
        let store = resolved.backend.id();
        let _guard = self.locks.lock(&store, &resolved.key).await;
        let existing = self
            .records
            .get(&store, &resolved.key)?
            .map(|r| ObjectInfo::from_marker(key.to_owned(), r));
        opts.condition.check(key, existing.as_ref())?;
        let rec = opts.record(EMPTY_MD5.to_owned());
        self.records.put(&store, &resolved.key, &rec)?;
        Ok(ObjectInfo::from_marker(key.to_owned(), rec))
    }

    /// Deletes `bucket/key`; a missing key is not an error, as in S3.
    pub async fn delete(&self, bucket: &str, key: &str) -> NsResult<()> {
        let resolved = self.resolve_object(bucket, key)?;
        Self::check_writable(&resolved, &path::join(bucket, key))?;
        if !self.bucket_exists(bucket).await? {
            return Err(NsError::NoSuchBucket {
                bucket: bucket.to_owned(),
            });
        }
        if resolved.key.is_empty() {
            return Ok(());
        }
        let store = resolved.backend.id();
        let _guard = self.locks.lock(&store, &resolved.key).await;
        if !resolved.is_marker(key) {
            resolved.backend.delete(&resolved.key).await?;
            self.invalidate(&resolved.backend, &resolved.key);
        }
        self.records.delete(&store, &resolved.key)
    }
}

/// Streams `body` into `writer`, hashing; aborts on any failure so nothing is visible.
/// Gives back the writer, ready to commit with the attributes known only now, and the ETag.
async fn stream_body(
    mut writer: BackendWriter,
    mut body: BoxStream<'static, NsResult<Bytes>>,
    opts: &PutOptions,
    etag: impl FnOnce(&Written) -> String,
) -> NsResult<(BackendWriter, arustio_backends::Attrs, String, u64)> {
    let content_md5 = opts.content_md5;
    let mut md5 = Md5::new();
    let mut size = 0u64;
    loop {
        let chunk = match body.next().await {
            None => break,
            Some(Ok(chunk)) => chunk,
            Some(Err(e)) => {
                writer.abort().await;
                return Err(e);
            }
        };
        md5.update(&chunk);
        size += chunk.len() as u64;
        if let Err(e) = writer.write(chunk).await {
            writer.abort().await;
            return Err(e.into());
        }
    }
    let digest: [u8; 16] = md5.finalize().into();
    if content_md5.is_some_and(|want| want != digest) {
        writer.abort().await;
        return Err(NsError::BadDigest);
    }
    let etag = etag(&Written { md5: digest });
    // Stores that keep attributes keep the ETag too, when the body went out in one request,
    // and an S3 store the checksums the client sent (verified as the body came in), which
    // it checks again and returns on a HEAD with checksum mode.
    let mut late: arustio_backends::Attrs = [(ETAG_ATTR.to_owned(), etag.clone())].into_iter().collect();
    if let Some(slot) = &opts.checksums {
        let verified = slot.lock().unwrap_or_else(PoisonError::into_inner).clone();
        late.extend(verified.into_iter().map(|(alg, v)| (format!("checksum:{alg}"), v)));
    }
    Ok((writer, late, etag, size))
}
