//! A whole-object GET through the cache in as few store requests as the mount allows:
//! none on a warm `ttl` mount, one conditional GET on a warm `strict` one (304: the blocks
//! are current), and one GET on a cold read, whose response gives the version.

use arustio_backends::BackendError;
use arustio_cache::ObjectId;

use crate::Namespace;
use crate::error::NsResult;
use crate::read::{ObjectBody, ObjectHandle, ObjectInfo, store_version};

impl Namespace {
    /// The whole object `bucket/key`: its handle (for the response headers and the
    /// client's conditions) and its bytes.
    pub async fn get_whole(&self, bucket: &str, key: &str, bypass: bool) -> NsResult<(ObjectHandle, ObjectBody)> {
        let resolved = self.resolve_object(bucket, key)?;
        let policy = resolved.mount.options.cache_policy(resolved.backend.kind());
        if key.ends_with('/') || resolved.key.is_empty() || !policy.enabled || bypass || !self.cache.enabled() {
            let h = self.head(bucket, key).await?;
            let body = self.open_cached(&h, None, bypass).await?;
            return Ok((h, body));
        }
        let identity = resolved.backend.cache_identity();
        let hint = self.heads.hint(&identity, &resolved.key);
        if let (Some(ttl), Some((age, _))) = (policy.ttl, &hint)
            && *age < ttl
        {
            let h = self.head(bucket, key).await?;
            let body = self.open_cached(&h, None, false).await?;
            return Ok((h, body));
        }
        let shared = !resolved.backend.kind().node_local();
        if hint.is_none() && self.cache.has_peers(shared) {
            // Another node may hold the blocks: learn the version first.
            let h = self.head(bucket, key).await?;
            let body = self.open_cached(&h, None, false).await?;
            return Ok((h, body));
        }
        let known = hint.as_ref().map(|(_, h)| h.version.clone());
        match resolved.backend.get_unless(&resolved.key, known.as_deref()).await {
            Ok(None) => {
                // Not modified: the blocks of the version seen before are current.
                let Some((_, mut h)) = hint else {
                    return Err(BackendError::Precondition { key: key.to_owned() }.into());
                };
                h.info.key = key.to_owned();
                h.resolved = resolved;
                self.heads.put(&identity, &h.resolved.key, h.clone());
                let body = self.open_cached(&h, None, false).await?;
                Ok((h, body))
            }
            Ok(Some((meta, stream))) => {
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
                if hint.is_none() && self.cache.holds(&object).await {
                    // Held from before this node last started: the tiers, not the store.
                    drop(stream);
                    let body = self.open_cached(&h, None, false).await?;
                    return Ok((h, body));
                }
                let read = self.cache.read_fetched(&object, stream);
                Ok((
                    h,
                    ObjectBody {
                        stream: read.stream,
                        sources: read.sources,
                    },
                ))
            }
            Err(BackendError::NotFound { .. }) => Err(self.not_found(bucket, key).await),
            Err(e) => Err(e.into()),
        }
    }
}
