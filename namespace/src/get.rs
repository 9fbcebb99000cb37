//! A GET through the cache in as few store requests as the mount allows: none on a warm
//! `ttl` mount, one conditional GET on a warm `strict` one (304: the blocks are current),
//! and one GET on a cold read, whose response gives the version.

use arustio_backends::{BackendError, GetSpan, ReadRange};
use arustio_cache::ObjectId;

use crate::Namespace;
use crate::error::NsResult;
use crate::info::ObjectInfo;
use crate::read::{Conditions, ObjectBody, ObjectHandle, store_version};

/// The bytes a GET asks for, as its Range header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteSpan {
    /// From the first byte to the last, inclusive (to the end without a last).
    From(u64, Option<u64>),
    /// The last N bytes.
    Suffix(u64),
}

/// A GET as the client asked it.
#[derive(Debug)]
pub struct GetRequest<'a> {
    /// The bucket.
    pub bucket: &'a str,
    /// The key.
    pub key: &'a str,
    /// The Range, if any.
    pub span: Option<ByteSpan>,
    /// If-Match and the like.
    pub conditions: &'a Conditions,
}

/// `span` of an object of `size` bytes; `None` when it is not satisfiable.
fn span_range(span: ByteSpan, size: u64) -> Option<ReadRange> {
    match span {
        ByteSpan::From(from, to) => {
            let end = to.map_or(size, |t| t.saturating_add(1).min(size));
            (from < size).then_some(from..end)
        }
        ByteSpan::Suffix(n) => (n > 0 && size > 0).then(|| size.saturating_sub(n)..size),
    }
}

/// What to ask the store for: the whole blocks of block size `bs` that `span` touches,
/// or (a suffix, before the size is known) the span itself.
fn aligned(span: Option<ByteSpan>, bs: u64) -> GetSpan {
    match span {
        None => GetSpan::All,
        Some(ByteSpan::From(from, None)) => GetSpan::From(from / bs * bs),
        Some(ByteSpan::From(from, Some(to))) => {
            GetSpan::Bounded(from / bs * bs, to.saturating_add(1).div_ceil(bs).saturating_mul(bs))
        }
        Some(ByteSpan::Suffix(n)) => GetSpan::Suffix(n),
    }
}

impl Namespace {
    /// The head path: a HEAD (perhaps a cached one), the client's conditions, then the
    /// bytes through the cache.
    async fn head_then_read(&self, get: &GetRequest<'_>, bypass: bool) -> NsResult<(ObjectHandle, ObjectBody)> {
        let h = self.head(get.bucket, get.key).await?;
        get.conditions.check(&h.info)?;
        self.read_held(h, get.span, bypass).await
    }

    /// The bytes of `h` through the cache; a span past the end reads nothing (the caller
    /// answers InvalidRange).
    async fn read_held(
        &self,
        h: ObjectHandle,
        span: Option<ByteSpan>,
        bypass: bool,
    ) -> NsResult<(ObjectHandle, ObjectBody)> {
        let range = span.map(|s| span_range(s, h.info.size).unwrap_or(0..0));
        let body = self.open_cached(&h, range, bypass).await?;
        Ok((h, body))
    }

    /// The object `bucket/key`, whole or `span` of it, if it meets the client's
    /// conditions: its handle (for the response headers) and its bytes. `bypass` (a
    /// request's `Cache-Control: no-cache`) reads the store, not the cache.
    pub async fn get_object(&self, get: &GetRequest<'_>, bypass: bool) -> NsResult<(ObjectHandle, ObjectBody)> {
        let resolved = self.resolve_object(get.bucket, get.key)?;
        let policy = resolved.mount.options.cache_policy(resolved.backend.kind());
        let Some(bs) = self.cache.block_size().filter(|_| policy.enabled && !bypass) else {
            return self.head_then_read(get, bypass).await;
        };
        if get.key.ends_with('/') || resolved.key.is_empty() {
            return self.head_then_read(get, false).await;
        }
        let identity = resolved.backend.cache_identity();
        let local = self.heads.hint(&identity, &resolved.key);
        if let (Some(ttl), Some((age, s))) = (policy.ttl, &local)
            && *age < ttl
        {
            // Trusted metadata: no store request (the HEAD path would look it up again).
            let h = s.handle.clone().rebased(get.key, resolved);
            get.conditions.check(&h.info)?;
            return self.read_held(h, get.span, false).await;
        }
        let mut peer = None;
        if local.is_none() && self.cache.has_peers(!resolved.backend.kind().node_local()) {
            // Another node may hold the blocks: the version it saw makes the one store
            // request a conditional one, whose 304 sends this read to the owners.
            peer = self
                .cache
                .peer_lookup(&identity, &resolved.key)
                .await
                .and_then(|(version, meta)| {
                    let info: ObjectInfo = serde_json::from_slice(&meta).ok()?;
                    Some(ObjectHandle::new(info, resolved.clone(), version))
                });
        }
        let seen_before = local.is_some() || peer.is_some();
        let known = local
            .as_ref()
            .map(|(_, s)| &s.handle)
            .or(peer.as_ref())
            .map(|h| h.version.clone());
        let asked = aligned(get.span, bs);
        let fetched = match resolved
            .backend
            .get_unless(&resolved.key, known.as_deref(), asked)
            .await
        {
            Ok(f) => f,
            Err(BackendError::NotFound { .. }) => return Err(self.not_found(get.bucket, get.key).await),
            // A range past the end, or another refusal: the head path says which.
            Err(_) => return self.head_then_read(get, false).await,
        };
        let Some((meta, stream, from)) = fetched else {
            // Not modified: the blocks of the version seen before are current.
            let h = match (local, peer) {
                (Some((_, s)), _) => {
                    // Confirmed: the entry's age renews in place, no cache write.
                    self.heads.confirm(&s);
                    s.handle.clone().rebased(get.key, resolved)
                }
                (None, Some(h)) => {
                    let h = h.rebased(get.key, resolved);
                    self.heads.put(&identity, &h.resolved.key, h.clone());
                    h
                }
                (None, None) => {
                    return Err(BackendError::Precondition {
                        key: get.key.to_owned(),
                    }
                    .into());
                }
            };
            get.conditions.check(&h.info)?;
            return self.read_held(h, get.span, false).await;
        };
        let store = resolved.backend.id();
        let rec = self.records.get(&store, &resolved.key)?;
        let info = ObjectInfo::from_store(get.key.to_owned(), &store, &meta, rec);
        let object = ObjectId {
            store: identity.clone().into(),
            key: resolved.key.clone(),
            version: store_version(&meta),
            size: meta.size,
        };
        let h = ObjectHandle::new(info, resolved, object.version.clone());
        self.heads.put(&identity, &object.key, h.clone());
        // A 304 or 412 for the client: the store's bytes are not needed.
        get.conditions.check(&h.info)?;
        let range = match get.span.map(|s| span_range(s, meta.size)) {
            Some(None) => return self.head_then_read(get, false).await,
            Some(Some(r)) => Some(r),
            None => None,
        };
        if !seen_before && self.cache.holds(&object, range.as_ref().map_or(0, |r| r.start)).await {
            // Held from before this node last started: the tiers, not the store.
            drop(stream);
            return self.read_held(h, get.span, false).await;
        }
        let opts = crate::read::read_options(&h.resolved, true);
        let read = self
            .cache
            .read_fetched(&h.resolved.backend, &object, range, (stream, from), &opts);
        Ok((
            h,
            ObjectBody {
                stream: read.stream,
                sources: read.sources,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_cut_at_the_end() {
        assert_eq!(span_range(ByteSpan::From(0, Some(9)), 100), Some(0..10));
        assert_eq!(span_range(ByteSpan::From(90, Some(200)), 100), Some(90..100));
        assert_eq!(span_range(ByteSpan::From(90, None), 100), Some(90..100));
        assert_eq!(span_range(ByteSpan::From(100, None), 100), None);
        assert_eq!(span_range(ByteSpan::Suffix(10), 100), Some(90..100));
        assert_eq!(span_range(ByteSpan::Suffix(1000), 100), Some(0..100));
        assert_eq!(span_range(ByteSpan::Suffix(0), 100), None);
    }

    #[test]
    fn requests_are_whole_blocks() {
        assert_eq!(aligned(None, 10), GetSpan::All);
        assert_eq!(
            aligned(Some(ByteSpan::From(15, Some(24))), 10),
            GetSpan::Bounded(10, 30)
        );
        assert_eq!(
            aligned(Some(ByteSpan::From(15, Some(19))), 10),
            GetSpan::Bounded(10, 20)
        );
        assert_eq!(aligned(Some(ByteSpan::From(15, None)), 10), GetSpan::From(10));
        assert_eq!(aligned(Some(ByteSpan::Suffix(5)), 10), GetSpan::Suffix(5));
    }
}
