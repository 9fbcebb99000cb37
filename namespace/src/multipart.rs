//! Multipart uploads, staged on local disk under the data dir.
//!
//! Every part is streamed straight to a file (`<staging>/<upload id>/<part>.part`, with its
//! ETag in the same file: see [`crate::staging`]), so an upload holds no part in memory
//! whatever the part size. Complete streams the parts, in order, into one all-or-nothing
//! write; abort and expiry remove the staging directory. Until Complete succeeds no object
//! is visible. A completed upload leaves only a record of its parts and ETag, so that a
//! retried Complete (SDKs retry one that timed out) gets the same answer, as on AWS.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::io::ReaderStream;

use crate::checksum::{self, Hasher, UploadChecksum};
use crate::error::{NsError, NsResult};
use crate::info::ObjectInfo;
use crate::read::ObjectHandle;
use crate::staging::{self, UPLOAD_JSON, io};
use crate::write::{BodyStream, PutCondition, PutOptions, Stamp};
use crate::{Namespace, path};

/// Smallest size of every part but the last.
const MIN_PART: u64 = 5 * 1024 * 1024;
/// Highest part number.
const MAX_PART: i32 = 10_000;
const READ_CHUNK: usize = 1024 * 1024;

/// An upload in flight.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadInfo {
    /// The upload id.
    pub upload_id: String,
    /// Its bucket.
    pub bucket: String,
    /// Its key.
    pub key: String,
    /// When it was created.
    pub initiated: DateTime<Utc>,
    content_type: Option<String>,
    user_meta: std::collections::BTreeMap<String, String>,
    headers: std::collections::BTreeMap<String, String>,
    /// The checksum it was created with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<UploadChecksum>,
}

/// One uploaded part.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartInfo {
    /// Part number, 1 to 10000.
    pub part_number: i32,
    /// The part's MD5, hex.
    pub etag: String,
    /// Its size.
    pub size: u64,
    /// When it was uploaded.
    pub last_modified: DateTime<Utc>,
    /// Its checksum (base64) by the upload's algorithm, when the upload has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

/// What a completed upload leaves in its dir, for a retried Complete.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CompletedUpload {
    upload_id: String,
    bucket: String,
    key: String,
    etag: String,
    /// The `(part number, ETag)` pairs it was completed with, ETags unquoted.
    parts: Vec<(i32, String)>,
    completed: DateTime<Utc>,
    /// The object's checksums, as the first Complete returned them.
    #[serde(default)]
    checksums: std::collections::BTreeMap<String, String>,
}

/// The lock that serialises Completes of one upload (store names never hold a NUL).
const COMPLETING: &str = "\0complete";

impl CompletedUpload {
    pub(crate) fn upload_id(&self) -> &str {
        &self.upload_id
    }
}

fn unquoted(listed: &[(i32, String)]) -> Vec<(i32, String)> {
    listed
        .iter()
        .map(|(n, e)| (*n, e.trim_matches('"').to_owned()))
        .collect()
}

impl Namespace {
    fn upload_dir(&self, upload_id: &str) -> NsResult<PathBuf> {
        let id = uuid::Uuid::try_parse(upload_id).map_err(|_| NsError::NoSuchUpload {
            upload_id: upload_id.to_owned(),
        })?;
        Ok(self.staging.join(id.simple().to_string()))
    }

    /// Starts an upload of `bucket/key`, whose parts are checksummed by `checksum`.
    pub async fn create_upload(
        &self,
        bucket: &str,
        key: &str,
        opts: &PutOptions,
        checksum: Option<UploadChecksum>,
    ) -> NsResult<UploadInfo> {
        let resolved = self.resolve_object(bucket, key)?;
        Self::check_writable(&resolved, &path::join(bucket, key))?;
        if !resolved.is_marker(key) {
            resolved.backend.check_key(&resolved.key)?;
        }
        if !self.bucket_exists(bucket).await? {
            return Err(NsError::NoSuchBucket {
                bucket: bucket.to_owned(),
            });
        }
        let initiated = Utc::now();
        let info = UploadInfo {
            upload_id: time_ordered_id(initiated),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            initiated,
            content_type: opts.content_type.clone(),
            user_meta: opts.user_meta.clone(),
            headers: opts.headers.clone(),
            checksum,
        };
        let dir = self.staging.join(&info.upload_id);
        tokio::fs::create_dir_all(&dir).await.map_err(io(&dir))?;
        staging::sync_dir(&self.staging).await?;
        let json = serde_json::to_vec(&info).map_err(|e| NsError::io(&dir, std::io::Error::other(e)))?;
        staging::write_atomic(&dir.join(UPLOAD_JSON), &json).await?;
        Ok(info)
    }

    /// The upload `upload_id`, which must be for `bucket/key`.
    pub async fn upload(&self, bucket: &str, key: &str, upload_id: &str) -> NsResult<UploadInfo> {
        let dir = self.upload_dir(upload_id)?;
        let missing = || NsError::NoSuchUpload {
            upload_id: upload_id.to_owned(),
        };
        let raw = tokio::fs::read(dir.join(UPLOAD_JSON)).await.map_err(|_| missing())?;
        let info = staging::parse_upload(&dir, &raw).ok_or_else(missing)?;
        if info.bucket != bucket || info.key != key {
            return Err(missing());
        }
        Ok(info)
    }

    /// Stores part `part_number` of an upload from a request body.
    pub async fn upload_part(
        &self,
        upload: &UploadInfo,
        part_number: i32,
        body: BodyStream,
        content_md5: Option<[u8; 16]>,
    ) -> NsResult<PartInfo> {
        let body = body.map(|r| r.map_err(|source| NsError::Body { source })).boxed();
        self.write_part(upload, part_number, body, content_md5).await
    }

    /// Stores part `part_number` from `range` of an existing object (UploadPartCopy).
    pub async fn upload_part_copy(
        &self,
        upload: &UploadInfo,
        part_number: i32,
        source: &ObjectHandle,
        range: Option<arustio_backends::ReadRange>,
    ) -> NsResult<PartInfo> {
        let body = self
            .open(source, range)
            .await?
            .map(|r| r.map_err(NsError::from))
            .boxed();
        self.write_part(upload, part_number, body, None).await
    }

    async fn write_part(
        &self,
        upload: &UploadInfo,
        part_number: i32,
        mut body: BoxStream<'static, NsResult<Bytes>>,
        content_md5: Option<[u8; 16]>,
    ) -> NsResult<PartInfo> {
        if !(1..=MAX_PART).contains(&part_number) {
            return Err(NsError::InvalidArgument(format!(
                "part number must be 1 to {MAX_PART}, not {part_number}"
            )));
        }
        let dir = self.upload_dir(&upload.upload_id)?;
        let tmp = staging::temp_path(&dir, &format!("{part_number:05}"));
        let written = async {
            let mut file = tokio::fs::File::create(&tmp).await.map_err(io(&tmp))?;
            let mut md5 = Md5::new();
            let mut sum = upload.checksum.as_ref().and_then(|c| Hasher::new(&c.algorithm));
            let mut size = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = chunk?;
                md5.update(&chunk);
                if let Some(h) = &mut sum {
                    h.update(&chunk);
                }
                size += chunk.len() as u64;
                file.write_all(&chunk).await.map_err(io(&tmp))?;
            }
            let digest: [u8; 16] = md5.finalize().into();
            if content_md5.is_some_and(|m| m != digest) {
                return Err(NsError::BadDigest);
            }
            let part = PartInfo {
                part_number,
                etag: hex::encode(digest),
                size,
                last_modified: Utc::now(),
                checksum: sum.map(Hasher::finish),
            };
            // One file holds the bytes and their ETag; one rename commits both.
            staging::append_record(&mut file, &tmp, &part).await?;
            staging::commit(file, &tmp, &staging::part_path(&dir, part_number)).await?;
            Ok(part)
        }
        .await;
        if written.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        written
    }

    /// The uploaded parts of an upload, in order.
    pub async fn list_parts(&self, upload: &UploadInfo) -> NsResult<Vec<PartInfo>> {
        staging::parts(&self.upload_dir(&upload.upload_id)?).await
    }

    /// Completes the upload `upload_id` of `bucket/key` from the listed `(part number,
    /// ETag)` pairs. A Complete of an upload already completed with the same parts (a
    /// retry) gets the same ETag; one Complete of an upload runs at a time.
    pub async fn complete_upload_id(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        listed: &[(i32, String)],
        condition: PutCondition,
    ) -> NsResult<ObjectInfo> {
        let _one_at_a_time = self.locks.lock(COMPLETING, upload_id).await;
        let dir = self.upload_dir(upload_id)?;
        if let Some(done) = staging::completed(&dir).await
            && done.bucket == bucket
            && done.key == key
        {
            if done.parts != unquoted(listed) {
                return Err(NsError::InvalidPart {
                    reason: "the upload was completed with other parts".to_owned(),
                });
            }
            return Ok(ObjectInfo {
                key: key.to_owned(),
                etag: done.etag,
                last_modified: done.completed,
                checksums: done.checksums,
                ..ObjectInfo::default()
            });
        }
        let upload = self.upload(bucket, key, upload_id).await?;
        self.complete_upload(&upload, listed, condition).await
    }

    /// Completes an upload from the listed `(part number, ETag)` pairs.
    pub async fn complete_upload(
        &self,
        upload: &UploadInfo,
        listed: &[(i32, String)],
        condition: PutCondition,
    ) -> NsResult<ObjectInfo> {
        if listed.is_empty() {
            return Err(NsError::InvalidPart {
                reason: "you must specify at least one part".to_owned(),
            });
        }
        if listed.windows(2).any(|w| w[0].0 > w[1].0) {
            return Err(NsError::InvalidPartOrder);
        }
        let stored = self.list_parts(upload).await?;
        // A number listed more than once (a part sent again while its first send was in
        // flight, both ETags listed) is the part stored last, if it is one of those listed.
        let runs: Vec<&[(i32, String)]> = listed.chunk_by(|a, b| a.0 == b.0).collect();
        let mut chosen = Vec::with_capacity(runs.len());
        for (i, run) in runs.iter().enumerate() {
            let number = run[0].0;
            let part = stored
                .binary_search_by_key(&number, |p| p.part_number)
                .ok()
                .map(|at| &stored[at])
                .filter(|p| run.iter().any(|(_, e)| e.trim_matches('"') == p.etag))
                .ok_or_else(|| NsError::InvalidPart {
                    reason: format!("part {number} with ETag {} was not uploaded", run[run.len() - 1].1),
                })?;
            if i + 1 < runs.len() && part.size < MIN_PART {
                return Err(NsError::EntityTooSmall {
                    part: number,
                    size: part.size,
                });
            }
            chosen.push(part.clone());
        }
        let resolved = self.resolve_object(&upload.bucket, &upload.key)?;
        Self::check_writable(&resolved, &path::join(&upload.bucket, &upload.key))?;
        let dir = self.upload_dir(&upload.upload_id)?;
        let mut all = Md5::new();
        for p in &chosen {
            all.update(hex::decode(&p.etag).unwrap_or_default());
        }
        let etag = format!("{}-{}", hex::encode(all.finalize()), chosen.len());
        let part_sizes: Vec<u64> = chosen.iter().map(|p| p.size).collect();
        // The upload's checksum: COMPOSITE from its parts' checksums; FULL_OBJECT over the
        // bytes as they stream to the store, which is given it to check and keep too.
        let mut kept_checksums = std::collections::BTreeMap::new();
        let mut full_object = None;
        match &upload.checksum {
            Some(c) if c.full_object => full_object = Some(c.algorithm.clone()),
            Some(c) => {
                let sums: Option<Vec<&str>> = chosen.iter().map(|p| p.checksum.as_deref()).collect();
                if let Some(v) = sums.and_then(|s| checksum::composite(&c.algorithm, &s)) {
                    kept_checksums.insert(c.algorithm.clone(), v);
                }
            }
            None => {}
        }
        let parts_dir = dir.clone();
        let body = stream::iter(chosen)
            .then(move |p| {
                let dir = parts_dir.clone();
                async move {
                    // The bytes come from the file whose own record has the chosen ETag.
                    let (file, held) = staging::open_part(&dir, p.part_number)
                        .await?
                        .ok_or_else(|| replaced(&p))?;
                    if held.etag != p.etag || held.size != p.size {
                        return Err(replaced(&p));
                    }
                    let path = staging::part_path(&dir, p.part_number);
                    Ok(ReaderStream::with_capacity(file.take(p.size), READ_CHUNK)
                        .map_err(move |e| NsError::io(&path, e)))
                }
            })
            .try_flatten()
            .boxed();
        let (body, checksums) = match &full_object {
            Some(alg) => {
                let (body, slot) = hashed(body, alg);
                (body, Some(slot))
            }
            None => (body, None),
        };
        let opts = PutOptions {
            content_type: upload.content_type.clone(),
            user_meta: upload.user_meta.clone(),
            headers: upload.headers.clone(),
            condition,
            known_etag: Some(etag.clone()),
            part_sizes,
            checksums,
            checksum_algorithms: full_object.into_iter().collect(),
            kept_checksums,
            ..PutOptions::default()
        };
        let info = if resolved.is_marker(&upload.key) {
            self.put(&upload.bucket, &upload.key, stream::empty().boxed(), opts)
                .await?
        } else {
            self.write_object_with(&resolved, &upload.key, body, &opts, Stamp::Commit, |_| etag)
                .await?
        };
        let done = CompletedUpload {
            upload_id: upload.upload_id.clone(),
            bucket: upload.bucket.clone(),
            key: upload.key.clone(),
            etag: info.etag.clone(),
            parts: unquoted(listed),
            completed: Utc::now(),
            checksums: info.checksums.clone(),
        };
        if let Err(e) = staging::retire(&dir, &done).await {
            tracing::warn!(upload_id = %upload.upload_id, error = %e, "could not clear a completed upload's parts");
        }
        Ok(info)
    }

    /// Aborts an upload, dropping its parts.
    pub async fn abort_upload(&self, upload: &UploadInfo) -> NsResult<()> {
        let dir = self.upload_dir(&upload.upload_id)?;
        tokio::fs::remove_dir_all(&dir).await.map_err(io(&dir))
    }

    /// Uploads in flight in `bucket` whose key starts with `prefix`, by key then upload id
    /// (which on one node is by time).
    pub async fn list_uploads(&self, bucket: &str, prefix: &str) -> NsResult<Vec<UploadInfo>> {
        let mut out: Vec<UploadInfo> = self
            .all_uploads()
            .await?
            .into_iter()
            .filter(|u| u.bucket == bucket && u.key.starts_with(prefix))
            .collect();
        out.sort_by(|a, b| (&a.key, &a.upload_id).cmp(&(&b.key, &b.upload_id)));
        Ok(out)
    }

    pub(crate) async fn all_uploads(&self) -> NsResult<Vec<UploadInfo>> {
        let mut out = Vec::new();
        let mut rd = match tokio::fs::read_dir(&self.staging).await {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(NsError::io(&self.staging, e)),
        };
        while let Some(entry) = rd.next_entry().await.map_err(io(&self.staging))? {
            let dir = entry.path();
            if let Ok(raw) = tokio::fs::read(dir.join(UPLOAD_JSON)).await
                && let Some(info) = staging::parse_upload(&dir, &raw)
            {
                out.push(info);
            }
        }
        Ok(out)
    }

    /// Removes uploads older than `max_age`, returning how many, and the records of
    /// uploads completed longer ago.
    pub async fn expire_uploads(&self, max_age: Duration) -> NsResult<usize> {
        // An age past what a date can hold (a huge ARUSTIO_MULTIPART_EXPIRY_SECS) expires nothing.
        let Some(cutoff) = chrono::Duration::from_std(max_age)
            .ok()
            .and_then(|age| Utc::now().checked_sub_signed(age))
        else {
            return Ok(0);
        };
        let mut n = 0;
        for u in self.all_uploads().await? {
            if u.initiated < cutoff {
                let dir = self.staging.join(&u.upload_id);
                tokio::fs::remove_dir_all(&dir).await.map_err(io(&dir))?;
                tracing::info!(upload_id = %u.upload_id, bucket = %u.bucket, key = %u.key, "expired an unfinished multipart upload");
                n += 1;
            }
        }
        for (dir, done) in staging::all_completed(&self.staging).await {
            if done.completed < cutoff {
                tokio::fs::remove_dir_all(&dir).await.map_err(io(&dir))?;
            }
        }
        Ok(n)
    }

    /// Removes what an interrupted run left in the staging dir: temp files, parts never
    /// committed, dirs without a whole upload record. For a start, before any request.
    pub async fn reclaim_staging(&self) -> usize {
        let dir = self.staging.clone();
        let removed = tokio::task::spawn_blocking(move || staging::reclaim(&dir))
            .await
            .unwrap_or_default();
        if removed > 0 {
            tracing::info!(removed, staging = %self.staging.display(), "reclaimed leftovers of interrupted multipart uploads");
        }
        removed
    }
}

/// A new upload id that sorts after those made before `now` (a UUIDv7: milliseconds, then
/// random bits), so that listing by upload id lists one key's uploads by time.
fn time_ordered_id(now: DateTime<Utc>) -> String {
    let millis = u64::try_from(now.timestamp_millis()).unwrap_or_default();
    let random = uuid::Uuid::new_v4().into_bytes();
    let mut tail = [0u8; 10];
    tail.copy_from_slice(&random[6..]);
    uuid::Builder::from_unix_timestamp_millis(millis, &tail)
        .into_uuid()
        .simple()
        .to_string()
}

/// `body`, hashed by `algorithm` on the way; the checksum lands in the slot once the body
/// has ended.
fn hashed(
    body: BoxStream<'static, NsResult<Bytes>>,
    algorithm: &str,
) -> (BoxStream<'static, NsResult<Bytes>>, crate::write::ChecksumSlot) {
    let slot: crate::write::ChecksumSlot = std::sync::Arc::default();
    let (out, name) = (std::sync::Arc::clone(&slot), algorithm.to_owned());
    let state = (body, Hasher::new(algorithm));
    let stream = stream::unfold(state, move |(mut body, mut h)| {
        let (out, name) = (std::sync::Arc::clone(&out), name.clone());
        async move {
            match body.next().await {
                Some(Ok(chunk)) => {
                    if let Some(h) = &mut h {
                        h.update(&chunk);
                    }
                    Some((Ok(chunk), (body, h)))
                }
                Some(Err(e)) => Some((Err(e), (body, None))),
                None => {
                    if let Some(h) = h.take() {
                        let mut kept = out.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        kept.insert(name, h.finish());
                    }
                    None
                }
            }
        }
    });
    (stream.boxed(), slot)
}

/// A part that another upload of its number replaced after Complete chose it.
fn replaced(p: &PartInfo) -> NsError {
    NsError::InvalidPart {
        reason: format!(
            "part {} was uploaded again while the upload was being completed",
            p.part_number
        ),
    }
}
