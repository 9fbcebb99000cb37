//! [`BackendWriter`]: an all-or-nothing streamed write, in one request when the body is
//! small and in parts when it is not. Memory stays bounded by a few parts, and a body
//! sent in tiny chunks costs linear time: small chunks are copied together, and the
//! buffered length is kept, never re-summed.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use object_store::path::Path;
use object_store::{
    Attributes, ObjectStore, PutMode, PutMultipartOptions, PutOptions, PutPayload, UpdateVersion, WriteMultipart,
};

use crate::BackendError;
use crate::attrs::{Attrs, to_store_attrs};
use crate::backend::ErrorMapper;

/// Part size for streamed writes, and the largest body written in one request.
pub(crate) const WRITE_CHUNK: usize = 8 * 1024 * 1024;
/// Parts of one streamed write in flight at once.
pub(crate) const WRITE_CONCURRENCY: usize = 2;
/// Chunks smaller than this are copied into one buffer instead of kept one by one.
const SMALL: usize = 64 * 1024;

/// The body held before it is known to need parts.
#[derive(Default)]
pub(crate) struct Held {
    chunks: Vec<Bytes>,
    /// Small chunks, copied together until they make one of at least [`SMALL`].
    small: BytesMut,
    pub(crate) len: usize,
}

impl Held {
    pub(crate) fn push(&mut self, bytes: Bytes) {
        self.len += bytes.len();
        if bytes.len() < SMALL {
            self.small.extend_from_slice(&bytes);
            if self.small.len() >= SMALL {
                self.chunks.push(self.small.split().freeze());
            }
            return;
        }
        if !self.small.is_empty() {
            self.chunks.push(self.small.split().freeze());
        }
        self.chunks.push(bytes);
    }

    pub(crate) fn into_chunks(mut self) -> Vec<Bytes> {
        if !self.small.is_empty() {
            self.chunks.push(self.small.freeze());
        }
        self.chunks
    }
}

enum WriteState {
    Buffer(Held),
    Multipart(WriteMultipart),
}

/// An all-or-nothing write: nothing is visible until [`BackendWriter::finish`].
pub struct BackendWriter(Inner, Option<Observed>);

/// The upstream series a write is counted in, and when it began.
struct Observed {
    metrics: crate::upstream::UpstreamMetrics,
    labels: crate::upstream::Labels,
    start: std::time::Instant,
}

enum Inner {
    Os(OsWriter),
    S3(crate::s3::S3Writer),
}

impl BackendWriter {
    pub(crate) fn s3(w: crate::s3::S3Writer) -> Self {
        Self(Inner::S3(w), None)
    }

    pub(crate) fn os(w: OsWriter) -> Self {
        Self(Inner::Os(w), None)
    }

    /// Counts the write in `metrics` when it is finished, timed from now.
    pub(crate) fn observed(
        mut self,
        metrics: crate::upstream::UpstreamMetrics,
        labels: crate::upstream::Labels,
    ) -> Self {
        self.1 = Some(Observed {
            metrics,
            labels,
            start: std::time::Instant::now(),
        });
        self
    }

    fn map(self, os: impl FnOnce(OsWriter) -> OsWriter, s3: impl FnOnce(&mut crate::s3::S3Writer)) -> Self {
        let inner = match self.0 {
            Inner::Os(w) => Inner::Os(os(w)),
            Inner::S3(mut w) => {
                s3(&mut w);
                Inner::S3(w)
            }
        };
        Self(inner, self.1)
    }

    /// Attributes for the store to keep with the object (stores that keep none ignore them).
    #[must_use]
    pub fn with_attrs(self, attrs: Attrs) -> Self {
        let for_s3 = attrs.clone();
        self.map(|w| w.with_attrs(attrs), |w| w.set_attrs(for_s3))
    }

    /// The checksum algorithms the client declared for the body (`crc32`, `sha256`, ...).
    /// An S3 store keeps a CRC of a body sent in parts as the whole object's checksum
    /// (`FULL_OBJECT`); other stores keep no checksums and ignore them.
    #[must_use]
    pub fn with_checksums(self, algorithms: &[String]) -> Self {
        self.map(|w| w, |w| w.set_full_object_checksum(algorithms))
    }

    /// Makes the write conditional in the store itself: only if absent (`None`), or only
    /// over the version `Some(e_tag)`. On S3 the condition goes with the request that makes
    /// the object visible, whatever the size; on other stores, bodies that go out in parts
    /// stay guarded by the caller's lock only (see [`crate::Backend::conditional_multipart`]).
    #[must_use]
    pub fn only_over(self, version: Option<String>) -> Self {
        let condition = match &version {
            None => crate::s3::Condition::Absent,
            Some(e) => crate::s3::Condition::Over(e.clone()),
        };
        self.map(|w| w.only_over(version), |w| w.set_condition(condition))
    }

    /// Appends bytes; memory stays bounded by a few parts.
    pub async fn write(&mut self, bytes: Bytes) -> Result<(), BackendError> {
        match &mut self.0 {
            Inner::Os(w) => w.write(bytes).await,
            Inner::S3(w) => w.write(bytes).await,
        }
    }

    /// Makes the object visible.
    pub async fn finish(self) -> Result<(), BackendError> {
        self.finish_with(Attrs::new()).await.map(drop)
    }

    /// Makes the object visible; `late` attributes, known only now (an MD5), are kept too
    /// when the body went out in one request. Returns the store's ETag of what it committed
    /// where its reply names one (S3's PUT and Complete do), so the caller needs no HEAD.
    pub async fn finish_with(self, late: Attrs) -> Result<Option<String>, BackendError> {
        let result = match self.0 {
            Inner::Os(w) => w.finish_with(late).await.map(|()| None),
            Inner::S3(w) => w.finish_with(late).await,
        };
        if let Some(o) = self.1 {
            o.metrics.record(&o.labels, o.start, &result);
        }
        result
    }

    /// Drops everything written.
    pub async fn abort(self) {
        match self.0 {
            Inner::Os(w) => w.abort().await,
            Inner::S3(w) => w.abort().await,
        }
    }
}

/// An all-or-nothing write through `object_store`.
pub(crate) struct OsWriter {
    store: Arc<dyn ObjectStore>,
    key: String,
    path: Path,
    state: WriteState,
    mode: PutMode,
    attrs: Attrs,
    /// Whether the store keeps attributes; others are given none (a local store refuses them).
    keeps_attrs: bool,
    /// Azure takes only C#-identifier metadata names.
    identifier_names: bool,
    errs: ErrorMapper,
}

impl OsWriter {
    pub(crate) fn new(
        store: Arc<dyn ObjectStore>,
        key: &str,
        path: Path,
        keeps_attrs: bool,
        identifier_names: bool,
        errs: ErrorMapper,
    ) -> Self {
        Self {
            store,
            key: key.to_owned(),
            path,
            state: WriteState::Buffer(Held::default()),
            mode: PutMode::Overwrite,
            attrs: Attrs::new(),
            keeps_attrs,
            identifier_names,
            errs,
        }
    }

    fn store_attrs(keeps_attrs: bool, identifier_names: bool, attrs: &Attrs) -> Attributes {
        if !keeps_attrs {
            return Attributes::new();
        }
        let identifier = |n: &str| {
            n.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        let kept: Attrs = attrs
            .iter()
            .filter(|(k, _)| !identifier_names || k.strip_prefix("meta:").is_none_or(identifier))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        to_store_attrs(&kept)
    }

    fn with_attrs(mut self, attrs: Attrs) -> Self {
        self.attrs = attrs;
        self
    }

    /// Multipart uploads carry no condition in `object_store`.
    fn only_over(mut self, version: Option<String>) -> Self {
        self.mode = match version {
            None => PutMode::Create,
            Some(e_tag) => PutMode::Update(UpdateVersion {
                e_tag: Some(e_tag),
                version: None,
            }),
        };
        self
    }

    async fn write(&mut self, bytes: Bytes) -> Result<(), BackendError> {
        match &mut self.state {
            WriteState::Buffer(held) => {
                held.push(bytes);
                if held.len >= WRITE_CHUNK {
                    let opts = PutMultipartOptions {
                        attributes: Self::store_attrs(self.keeps_attrs, self.identifier_names, &self.attrs),
                        ..PutMultipartOptions::default()
                    };
                    let upload = self
                        .store
                        .put_multipart_opts(&self.path, opts)
                        .await
                        .map_err(|e| self.errs.err(&self.key, e))?;
                    let mut w = WriteMultipart::new_with_chunk_size(upload, WRITE_CHUNK);
                    for c in std::mem::take(held).into_chunks() {
                        w.put(c);
                    }
                    self.state = WriteState::Multipart(w);
                }
            }
            WriteState::Multipart(w) => {
                w.wait_for_capacity(WRITE_CONCURRENCY)
                    .await
                    .map_err(|e| self.errs.err(&self.key, e))?;
                // `put` keeps each chunk as it is; a tiny one is copied instead.
                if bytes.len() < SMALL {
                    w.write(&bytes);
                } else {
                    w.put(bytes);
                }
            }
        }
        Ok(())
    }

    async fn finish_with(mut self, late: Attrs) -> Result<(), BackendError> {
        let key = self.key;
        match self.state {
            WriteState::Buffer(held) => {
                let payload: PutPayload = held.into_chunks().into_iter().collect();
                self.attrs.extend(late);
                let opts = PutOptions {
                    mode: self.mode,
                    attributes: Self::store_attrs(self.keeps_attrs, self.identifier_names, &self.attrs),
                    ..PutOptions::default()
                };
                self.store
                    .put_opts(&self.path, payload, opts)
                    .await
                    .map_err(|e| self.errs.err(&key, e))?;
            }
            WriteState::Multipart(w) => {
                w.finish().await.map_err(|e| self.errs.err(&key, e))?;
            }
        }
        Ok(())
    }

    async fn abort(self) {
        if let WriteState::Multipart(w) = self.state
            && let Err(e) = w.abort().await
        {
            tracing::warn!(key = %self.key, error = %e, "aborting a streamed write failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_chunks_are_held_together_and_counted_once() {
        let mut held = Held::default();
        for i in 0..200_000u32 {
            held.push(Bytes::from(vec![(i % 251) as u8]));
        }
        held.push(Bytes::from(vec![7u8; SMALL]));
        held.push(Bytes::from_static(b"tail"));
        assert_eq!(held.len, 200_000 + SMALL + 4);
        let chunks = held.into_chunks();
        assert!(chunks.len() <= 200_000 / SMALL + 4, "{} chunks", chunks.len());
        let all: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        assert_eq!(all.len(), 200_000 + SMALL + 4);
        assert!(all[..200_000].iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
        assert_eq!(&all[all.len() - 4..], b"tail");
    }
}
