//! [`S3Writer`]: an all-or-nothing write to S3: one PutObject for a small body, a multipart
//! upload for a large one. Either way the condition (`If-None-Match: *`, `If-Match`) goes
//! to the store with the request that makes the object visible, so the store decides it.

use aws_sdk_s3::primitives::ByteStream as SdkStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumType, CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::task::JoinHandle;

use super::S3Store;
use super::error::map;
use crate::Attrs;
use crate::BackendError;
use crate::writer::{Held, WRITE_CHUNK, WRITE_CONCURRENCY};

/// The condition the commit carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Condition {
    #[default]
    None,
    /// Only if no object is there.
    Absent,
    /// Only over this ETag.
    Over(String),
}

impl Condition {
    fn if_none_match(&self) -> Option<String> {
        (*self == Self::Absent).then(|| "*".to_owned())
    }
    fn if_match(&self) -> Option<String> {
        match self {
            Self::Over(e) => Some(e.clone()),
            _ => None,
        }
    }
}

/// The checksum algorithms by the names the gateway keeps them under.
pub(crate) const ALGORITHMS: [(&str, ChecksumAlgorithm); 5] = [
    ("crc32", ChecksumAlgorithm::Crc32),
    ("crc32c", ChecksumAlgorithm::Crc32C),
    ("crc64nvme", ChecksumAlgorithm::Crc64Nvme),
    ("sha1", ChecksumAlgorithm::Sha1),
    ("sha256", ChecksumAlgorithm::Sha256),
];

/// Sets the checksum values kept in `attrs` (as `checksum:<name>`) on a request.
macro_rules! with_checksums {
    ($req:expr, $attrs:expr) => {{
        let sum = |alg: &str| $attrs.get(&format!("checksum:{alg}")).cloned();
        $req.set_checksum_crc32(sum("crc32"))
            .set_checksum_crc32_c(sum("crc32c"))
            .set_checksum_crc64_nvme(sum("crc64nvme"))
            .set_checksum_sha1(sum("sha1"))
            .set_checksum_sha256(sum("sha256"))
    }};
}

/// `{checksum:<name>: value}`: the checksum of `body` by `algorithm`, for a request that
/// names an algorithm (the SDK, set to compute checksums only where S3 requires them, would
/// send the name alone, which a store refuses on the parts of an upload made with one).
fn computed(algorithm: Option<&ChecksumAlgorithm>, body: &[u8]) -> Attrs {
    algorithm
        .and_then(|a| ALGORITHMS.iter().find(|(_, x)| x == a))
        .and_then(|(name, _)| Some((format!("checksum:{name}"), crate::checksum::of(name, body)?)))
        .into_iter()
        .collect()
}

/// A multipart upload under way.
struct Upload {
    id: String,
    next: i32,
    buf: BytesMut,
    done: Vec<CompletedPart>,
    inflight: FuturesUnordered<JoinHandle<Result<CompletedPart, BackendError>>>,
}

/// An all-or-nothing streamed write of one S3 key.
pub(crate) struct S3Writer {
    store: S3Store,
    full: String,
    key: String,
    held: Held,
    upload: Option<Upload>,
    attrs: Attrs,
    condition: Condition,
    /// The CRC the store keeps as the whole object's checksum when the body goes out in
    /// parts (S3 keeps a SHA of parts only as a composite, not the value the client sent).
    full_object: Option<(&'static str, ChecksumAlgorithm)>,
}

/// Sets what the store keeps with the object on a PutObject or CreateMultipartUpload.
macro_rules! with_attrs {
    ($req:expr, $store:expr, $attrs:expr) => {{
        let a = $attrs;
        let get = |k: &str| a.get(k).cloned();
        let meta: std::collections::HashMap<String, String> = a
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("meta:").map(|n| (n.to_owned(), v.clone())))
            .collect();
        let e = &$store.encryption;
        $req.set_content_type(get("content-type"))
            .set_cache_control(get("cache-control"))
            .set_content_disposition(get("content-disposition"))
            .set_content_encoding(get("content-encoding"))
            .set_content_language(get("content-language"))
            .set_metadata((!meta.is_empty()).then_some(meta))
            .set_server_side_encryption(e.mode.clone())
            .set_ssekms_key_id(e.kms_key_id.clone())
            .set_bucket_key_enabled(e.bucket_key)
    }};
}
pub(crate) use with_attrs;

impl S3Writer {
    pub(crate) fn new(store: S3Store, full: String, key: &str) -> Self {
        Self {
            store,
            full,
            key: key.to_owned(),
            held: Held::default(),
            upload: None,
            attrs: Attrs::new(),
            condition: Condition::None,
            full_object: None,
        }
    }

    /// The algorithms the client declared: the first CRC among them is kept by the store
    /// for a body sent in parts.
    pub(crate) fn set_full_object_checksum(&mut self, algorithms: &[String]) {
        self.full_object = ALGORITHMS
            .iter()
            .find(|(name, _)| name.starts_with("crc") && algorithms.iter().any(|a| a == name))
            .cloned();
    }

    /// The algorithm parts are checksummed with: the client's CRC, else the mount's.
    fn part_algorithm(&self) -> Option<ChecksumAlgorithm> {
        self.full_object
            .as_ref()
            .map(|(_, a)| a.clone())
            .or_else(|| self.store.checksum.clone())
    }

    pub(crate) fn set_attrs(&mut self, attrs: Attrs) {
        self.attrs = attrs;
    }

    pub(crate) fn set_condition(&mut self, condition: Condition) {
        self.condition = condition;
    }

    fn err<E>(&self, e: aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> BackendError
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        map(&self.store.name, &self.key, e)
    }

    /// Appends bytes; memory stays bounded by a few parts.
    pub(crate) async fn write(&mut self, bytes: Bytes) -> Result<(), BackendError> {
        if self.upload.is_none() {
            self.held.push(bytes);
            if self.held.len < WRITE_CHUNK {
                return Ok(());
            }
            let req = self
                .store
                .client
                .create_multipart_upload()
                .bucket(&self.store.bucket)
                .key(&self.full)
                .set_checksum_algorithm(self.part_algorithm())
                .set_checksum_type(self.full_object.as_ref().map(|_| ChecksumType::FullObject));
            let out = with_attrs!(req, self.store, &self.attrs)
                .send()
                .await
                .map_err(|e| self.err(e))?;
            let id = out.upload_id().unwrap_or_default().to_owned();
            let mut buf = BytesMut::with_capacity(WRITE_CHUNK);
            for c in std::mem::take(&mut self.held).into_chunks() {
                buf.extend_from_slice(&c);
            }
            self.upload = Some(Upload {
                id,
                next: 1,
                buf,
                done: Vec::new(),
                inflight: FuturesUnordered::new(),
            });
        } else if let Some(u) = &mut self.upload {
            u.buf.extend_from_slice(&bytes);
        }
        while self.upload.as_ref().is_some_and(|u| u.buf.len() >= WRITE_CHUNK) {
            self.send_part(false).await?;
        }
        Ok(())
    }

    /// Sends the next part (all that is buffered when `last`), waiting while too many are
    /// in flight.
    async fn send_part(&mut self, last: bool) -> Result<(), BackendError> {
        let algorithm = self.part_algorithm();
        let Some(u) = self.upload.as_mut() else { return Ok(()) };
        while u.inflight.len() >= WRITE_CONCURRENCY {
            if let Some(done) = u.inflight.next().await {
                u.done.push(joined(&self.key, done)?);
            }
        }
        let take = if last { u.buf.len() } else { WRITE_CHUNK };
        let body = u.buf.split_to(take).freeze();
        let (number, id) = (u.next, u.id.clone());
        u.next += 1;
        let (store, full, key) = (self.store.clone(), self.full.clone(), self.key.clone());
        u.inflight.push(tokio::spawn(async move {
            let sums = computed(algorithm.as_ref(), &body);
            let req = store
                .client
                .upload_part()
                .bucket(&store.bucket)
                .key(&full)
                .upload_id(id)
                .part_number(number)
                .set_checksum_algorithm(algorithm)
                .body(SdkStream::from(body));
            let req = with_checksums!(req, &sums);
            let sent = if store.unsigned_payload {
                req.customize().disable_payload_signing().send().await
            } else {
                req.send().await
            };
            let out = sent.map_err(|e| map(&store.name, &key, e))?;
            Ok(CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag().map(str::to_owned))
                .set_checksum_crc32(out.checksum_crc32().map(str::to_owned))
                .set_checksum_crc32_c(out.checksum_crc32_c().map(str::to_owned))
                .set_checksum_crc64_nvme(out.checksum_crc64_nvme().map(str::to_owned))
                .set_checksum_sha1(out.checksum_sha1().map(str::to_owned))
                .set_checksum_sha256(out.checksum_sha256().map(str::to_owned))
                .build())
        }));
        Ok(())
    }

    /// Makes the object visible: `late` attributes, known only now (an MD5), are kept too
    /// when the body goes out in one request. Returns the ETag the store replied with.
    pub(crate) async fn finish_with(mut self, late: Attrs) -> Result<Option<String>, BackendError> {
        if self.upload.is_none() {
            self.attrs.extend(late);
            let chunks = std::mem::take(&mut self.held).into_chunks();
            let body = match chunks.len() {
                0 => Bytes::new(),
                1 => chunks.into_iter().next().unwrap_or_default(),
                _ => chunks.concat().into(),
            };
            // The algorithm is named too: some stores (moto) keep a checksum only then.
            let named = ALGORITHMS
                .iter()
                .find(|(name, _)| self.attrs.contains_key(&format!("checksum:{name}")))
                .map(|(_, alg)| alg.clone());
            // The client's checksums, else one by the mount's algorithm, computed here.
            let sums = match &named {
                Some(_) => self.attrs.clone(),
                None => computed(self.store.checksum.as_ref(), &body),
            };
            let req = self
                .store
                .client
                .put_object()
                .bucket(&self.store.bucket)
                .key(&self.full)
                .set_if_none_match(self.condition.if_none_match())
                .set_if_match(self.condition.if_match())
                .content_length(i64::try_from(body.len()).unwrap_or(i64::MAX))
                .body(SdkStream::from(body));
            let req = with_attrs!(req, self.store, &self.attrs);
            let req = with_checksums!(req, &sums).set_checksum_algorithm(named.or_else(|| self.store.checksum.clone()));
            let sent = if self.store.unsigned_payload {
                req.customize().disable_payload_signing().send().await
            } else {
                req.send().await
            };
            return sent.map(|out| out.e_tag).map_err(|e| self.err(e));
        }
        let result = self.complete(&late).await;
        if result.is_err() {
            self.abort_upload().await;
        }
        result
    }

    /// Sends the last part and completes the upload, with the whole object's CRC from the
    /// `late` attributes, verified as the body came in, for the store to check and keep.
    async fn complete(&mut self, late: &Attrs) -> Result<Option<String>, BackendError> {
        self.send_part(true).await?;
        let Some(u) = self.upload.as_mut() else { return Ok(None) };
        while let Some(done) = u.inflight.next().await {
            u.done.push(joined(&self.key, done)?);
        }
        let mut parts = std::mem::take(&mut u.done);
        parts.sort_by_key(|p| p.part_number());
        let id = u.id.clone();
        let whole: Attrs = match &self.full_object {
            Some((name, _)) => {
                let k = format!("checksum:{name}");
                late.get(&k).map(|v| (k, v.clone())).into_iter().collect()
            }
            None => Attrs::new(),
        };
        let req = self
            .store
            .client
            .complete_multipart_upload()
            .bucket(&self.store.bucket)
            .key(&self.full)
            .upload_id(&id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .set_if_none_match(self.condition.if_none_match())
            .set_if_match(self.condition.if_match())
            .set_checksum_type(self.full_object.as_ref().map(|_| ChecksumType::FullObject));
        let out = with_checksums!(req, &whole).send().await.map_err(|e| self.err(e))?;
        self.upload = None;
        Ok(out.e_tag)
    }

    /// Drops the upload and every part sent.
    async fn abort_upload(&mut self) {
        if let Some(aborting) = self.stop() {
            aborting.await;
        }
    }

    /// Stops the parts in flight; the request that drops the upload, if one is under way.
    fn stop(&mut self) -> Option<impl Future<Output = ()> + Send + 'static> {
        let u = self.upload.take()?;
        for task in u.inflight.iter() {
            task.abort();
        }
        let (store, full, key) = (self.store.clone(), self.full.clone(), self.key.clone());
        Some(async move {
            let sent = store
                .client
                .abort_multipart_upload()
                .bucket(&store.bucket)
                .key(&full)
                .upload_id(&u.id)
                .send()
                .await;
            if let Err(e) = sent {
                tracing::warn!(key = %key, error = %map(&store.name, &key, e), "aborting a streamed write failed");
            }
        })
    }

    /// Drops everything written.
    pub(crate) async fn abort(mut self) {
        self.abort_upload().await;
    }
}

/// A writer dropped half-way (its request was cancelled) aborts its upload in the
/// background, so the store keeps no parts.
impl Drop for S3Writer {
    fn drop(&mut self) {
        if let Ok(rt) = tokio::runtime::Handle::try_current()
            && let Some(aborting) = self.stop()
        {
            rt.spawn(aborting);
        }
    }
}

fn joined(
    key: &str,
    done: Result<Result<CompletedPart, BackendError>, tokio::task::JoinError>,
) -> Result<CompletedPart, BackendError> {
    done.map_err(|e| BackendError::Store {
        key: key.to_owned(),
        source: Box::new(e),
    })?
}
