//! CopyObject: server-side within a store, streamed between stores (and within a store that keeps
//! attributes, when the metadata is replaced).

use futures::StreamExt;

use crate::error::{NsError, NsResult};
use crate::info::ObjectInfo;
use crate::read::Conditions;
use crate::write::{PutOptions, Stamp};
use crate::{Namespace, path};

/// What a copy does with the source's metadata.
#[derive(Debug, Clone)]
pub enum MetadataDirective {
    /// Keep the source's content type and user metadata.
    Copy,
    /// Use these instead.
    Replace(Box<PutOptions>),
}

impl Namespace {
    /// Copies `src_bucket/src_key` to `bucket/key`. `source_conditions` are the
    /// `x-amz-copy-source-if-*` headers; any failure is a 412.
    pub async fn copy(
        &self,
        (src_bucket, src_key): (&str, &str),
        (bucket, key): (&str, &str),
        directive: MetadataDirective,
        source_conditions: &Conditions,
    ) -> NsResult<ObjectInfo> {
        let src = self.head(src_bucket, src_key).await?;
        source_conditions.check(&src.info).map_err(|e| match e {
            NsError::NotModified { key, .. } => NsError::PreconditionFailed { key },
            e => e,
        })?;
        let dst = self.resolve_object(bucket, key)?;
        Self::check_writable(&dst, &path::join(bucket, key))?;
        if !self.bucket_exists(bucket).await? {
            return Err(NsError::NoSuchBucket {
                bucket: bucket.to_owned(),
            });
        }
        let src_resolved = self.resolve_object(src_bucket, src_key)?;
        let same_store = src_resolved.backend.id() == dst.backend.id();
        let same_object = same_store && src_resolved.key == dst.key;
        // A store that keeps attributes with the object would carry the source's over a
        // server-side copy, so new metadata is written with the bytes, streamed through.
        let rewrite = matches!(directive, MetadataDirective::Replace(_)) && dst.backend.keeps_attrs();
        let opts = match directive {
            MetadataDirective::Replace(opts) => *opts,
            MetadataDirective::Copy if same_object => {
                return Err(NsError::CopyToSelf { key: key.to_owned() });
            }
            MetadataDirective::Copy => PutOptions {
                content_type: src.info.content_type.clone(),
                user_meta: src.info.user_meta.clone(),
                headers: src.info.headers.clone(),
                ..PutOptions::default()
            },
        };
        if dst.is_marker(key) {
            return self.put(bucket, key, futures::stream::empty().boxed(), opts).await;
        }
        dst.backend.check_key(&dst.key)?;
        if same_object && !rewrite {
            return self.replace_metadata(&dst, key, &src.info, &opts).await;
        }
        if same_store && !rewrite && !src_resolved.is_marker(src_key) {
            return self.copy_within_store(&src_resolved, &dst, key, &src.info, &opts).await;
        }
        let body = self.open(&src, None).await?;
        let body = body.map(|r| r.map_err(NsError::from)).boxed();
        let etag = src.info.etag.clone();
        let opts = PutOptions {
            known_etag: Some(etag.clone()),
            part_sizes: src.info.part_sizes.clone(),
            ..opts
        };
        // The bytes are the source's, so is the ETag (multipart sources keep `md5-N`).
        // The copy's reply carries the new object's time, as the store keeps it.
        self.write_object_with(&dst, key, body, &opts, Stamp::Store, |_| etag)
            .await
    }

    /// A copy inside one store: the store copies the bytes itself.
    async fn copy_within_store(
        &self,
        src: &crate::Resolved,
        dst: &crate::Resolved,
        key: &str,
        info: &ObjectInfo,
        opts: &PutOptions,
    ) -> NsResult<ObjectInfo> {
        let store = dst.backend.id();
        let _guard = self.locks.lock(&store, &dst.key).await;
        dst.backend.copy(&src.key, &dst.key).await?;
        let meta = dst.backend.head(&dst.key).await?;
        let rec = crate::records::ObjectRecord {
            etag: info.etag.clone(),
            size: meta.size,
            store_etag: meta.e_tag.clone(),
            modified_ms: meta.last_modified.timestamp_millis(),
            content_type: opts.content_type.clone(),
            user_meta: opts.user_meta.clone(),
            headers: opts.headers.clone(),
            checksums: info.checksums.clone(),
            part_sizes: info.part_sizes.clone(),
        };
        self.records.put(&store, &dst.key, &rec)?;
        self.invalidate(&dst.backend, &dst.key);
        Ok(ObjectInfo::from_store(key.to_owned(), &store, &meta, Some(rec)))
    }

    async fn replace_metadata(
        &self,
        dst: &crate::Resolved,
        key: &str,
        src: &ObjectInfo,
        opts: &PutOptions,
    ) -> NsResult<ObjectInfo> {
        let store = dst.backend.id();
        let _guard = self.locks.lock(&store, &dst.key).await;
        let meta = dst.backend.head(&dst.key).await?;
        let mut rec = self.records.get(&store, &dst.key)?.unwrap_or_default();
        rec.size = meta.size;
        rec.store_etag = meta.e_tag;
        rec.content_type.clone_from(&opts.content_type);
        rec.user_meta.clone_from(&opts.user_meta);
        rec.headers.clone_from(&opts.headers);
        rec.etag.clone_from(&src.etag);
        self.records.put(&store, &dst.key, &rec)?;
        Ok(ObjectInfo {
            key: key.to_owned(),
            content_type: rec.content_type,
            user_meta: rec.user_meta,
            headers: rec.headers,
            ..src.clone()
        })
    }
}
