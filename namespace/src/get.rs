//! A GET through the cache in as few store requests as the mount allows: none on a warm
//! `ttl` mount, one conditional GET on a warm `strict` one (304: the blocks are current),
//! and one GET on a cold read, whose response gives the version.

use arustio_backends::{BackendError, ReadRange};
use arustio_cache::ObjectId;

use crate::Namespace;
use crate::error::NsResult;
use crate::read::{ObjectBody, ObjectHandle, ObjectInfo, store_version};

/// The bytes a GET asks for: `from` to `to` inclusive (to the end without `to`).
pub type ByteSpan = (u64, Option<u64>);

/// `span` of an object of `size` bytes; `None` when it starts past the end.
fn span_range(span: ByteSpan, size: u64) -> Option<ReadRange> {
    let (from, to) = span;
    let end = to.map_or(size, |t| t.saturating_add(1).min(size));
    (from < size).then_some(from..end)
}

impl Namespace {
    /// The head path: a HEAD (perhaps a cached one), then the bytes through the cache.
    async fn head_then_read(
        &self,
        bucket: &str,
        key: &str,
        span: Option<ByteSpan>,
        bypass: bool,
    ) -> NsResult<(ObjectHandle, ObjectBody)> {
        let h = self.head(bucket, key).await?;
        // A span past the end reads nothing; the caller answers InvalidRange.
        let range = span.map(|s| span_range(s, h.info.size).unwrap_or(0..0));
        let body = self.open_cached(&h, range, bypass).await?;
        Ok((h, body))
    }

    /// The object `bucket/key`, whole or `span` of it: its handle (for the response
    /// headers and the client's conditions) and its bytes.
    pub async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        span: Option<ByteSpan>,
        bypass: bool,
    ) -> NsResult<(ObjectHandle, ObjectBody)> {
        let resolved = self.resolve_object(bucket, key)?;
        let policy = resolved.mount.options.cache_policy(resolved.backend.kind());
        let Some(bs) = self.cache.block_size().filter(|_| policy.enabled && !bypass) else {
            return self.head_then_read(bucket, key, span, bypass).await;
        };
        if key.ends_with('/') || resolved.key.is_empty() {
            return self.head_then_read(bucket, key, span, bypass).await;
        }
        let identity = resolved.backend.cache_identity();
        let hint = self.heads.hint(&identity, &resolved.key);
        let fresh = matches!((policy.ttl, &hint), (Some(ttl), Some((age, _))) if *age < ttl);
        // Without a hint, another node may hold the blocks: learn the version first.
        let peers = hint.is_none() && self.cache.has_peers(!resolved.backend.kind().node_local());
        if fresh || peers {
            return self.head_then_read(bucket, key, span, false).await;
        }
        // The whole blocks the span touches.
        let aligned = span.map_or((0, None), |(from, to)| {
            (
                from / bs * bs,
                to.map(|t| t.saturating_add(1).div_ceil(bs).saturating_mul(bs)),
            )
        });
        let known = hint.as_ref().map(|(_, h)| h.version.clone());
        let fetched = match resolved
            .backend
            .get_unless(&resolved.key, known.as_deref(), aligned)
            .await
        {
            Ok(f) => f,
            Err(BackendError::NotFound { .. }) => return Err(self.not_found(bucket, key).await),
            // A range past the end, or another refusal: the head path says which.
            Err(_) => return self.head_then_read(bucket, key, span, false).await,
        };
        let Some((meta, stream)) = fetched else {
            // Not modified: the blocks of the version seen before are current.
            let Some((_, mut h)) = hint else {
                return Err(BackendError::Precondition { key: key.to_owned() }.into());
            };
            h.info.key = key.to_owned();
            h.resolved = resolved;
            self.heads.put(&identity, &h.resolved.key, h.clone());
            let range = span.map(|s| span_range(s, h.info.size).unwrap_or(0..0));
            let body = self.open_cached(&h, range, false).await?;
            return Ok((h, body));
        };
        let store = resolved.backend.id();
        let rec = self.records.get(&store, &resolved.key)?;
        let info = ObjectInfo::from_store(key.to_owned(), &store, &meta, rec);
        let object = ObjectId {
            store: identity.clone().into(),
            key: resolved.key.clone(),
            version: store_version(&meta),
            size: meta.size,
        };
        let h = ObjectHandle::new(info, resolved, object.version.clone());
        self.heads.put(&identity, &object.key, h.clone());
        let range = match span.map(|s| span_range(s, meta.size)) {
            Some(None) => return self.head_then_read(bucket, key, span, false).await,
            Some(Some(r)) => Some(r),
            None => None,
        };
        if hint.is_none() && self.cache.holds(&object, range.as_ref().map_or(0, |r| r.start)).await {
            // Held from before this node last started: the tiers, not the store.
            drop(stream);
            let body = self.open_cached(&h, range, false).await?;
            return Ok((h, body));
        }
        let opts = crate::read::read_options(&h.resolved, true);
        let read = self
            .cache
            .read_fetched(&h.resolved.backend, &object, range, stream, &opts);
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
        assert_eq!(span_range((0, Some(9)), 100), Some(0..10));
        assert_eq!(span_range((90, Some(200)), 100), Some(90..100));
        assert_eq!(span_range((90, None), 100), Some(90..100));
        assert_eq!(span_range((100, None), 100), None);
    }
}
