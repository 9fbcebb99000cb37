//! Buckets: the namespace's top-level directories.

use chrono::{DateTime, Utc};
use futures::StreamExt;

use crate::Namespace;
use crate::error::{NsError, NsResult};
use crate::info::EMPTY_MD5;
use crate::list::{ListEntry, ListRequest};
use crate::path::check_bucket_name;
use crate::records::ObjectRecord;

/// Most buckets ListBuckets returns.
const MAX_BUCKETS: usize = 10_000;

/// A bucket as ListBuckets shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketInfo {
    /// The bucket name.
    pub name: String,
    /// When it was created, where known.
    pub created: DateTime<Utc>,
}

impl Namespace {
    /// Whether `bucket` exists: a mount point, the parent of mount points, or a
    /// top-level directory (marker or non-empty) of the mount that holds it.
    pub async fn bucket_exists(&self, bucket: &str) -> NsResult<bool> {
        if bucket.is_empty() || bucket.contains('/') {
            return Ok(false);
        }
        let mounts = self.mounts.mounts();
        if mounts
            .iter()
            .any(|m| m.path == bucket || m.path.starts_with(&format!("{bucket}/")))
        {
            return Ok(true);
        }
        let Ok(resolved) = self.resolve(bucket) else {
            return Ok(false);
        };
        let dir = format!("{}/", resolved.key);
        if self.records.get(&resolved.backend.id(), &dir)?.is_some() {
            return Ok(true);
        }
        match resolved.backend.list(&dir, None).next().await {
            Some(Ok(_)) => Ok(true),
            None => Ok(false),
            Some(Err(e)) => Err(e.into()),
        }
    }

    /// Every bucket, by name.
    pub async fn list_buckets(&self) -> NsResult<Vec<BucketInfo>> {
        let req = ListRequest {
            delimiter: Some("/".to_owned()),
            max_keys: MAX_BUCKETS,
            ..ListRequest::default()
        };
        let page = self.list(&req).await?;
        let mut out = Vec::new();
        for entry in page.entries {
            if let ListEntry::Prefix(p) = entry {
                let name = p.trim_end_matches('/').to_owned();
                if check_bucket_name(&name).is_err() {
                    continue;
                }
                let created = self.bucket_created(&name).unwrap_or_default();
                out.push(BucketInfo { name, created });
            }
        }
        Ok(out)
    }

    fn bucket_created(&self, bucket: &str) -> Option<DateTime<Utc>> {
        let resolved = self.resolve(bucket).ok()?;
        let rec = self
            .records
            .get(&resolved.backend.id(), &format!("{}/", resolved.key))
            .ok()??;
        Some(rec.modified())
    }

    /// Makes a top-level directory on the mount that holds `bucket`.
    pub async fn create_bucket(&self, bucket: &str) -> NsResult<()> {
        check_bucket_name(bucket)?;
        if self.bucket_exists(bucket).await? {
            return Err(NsError::BucketExists {
                bucket: bucket.to_owned(),
            });
        }
        let resolved = self.resolve(bucket)?;
        Self::check_writable(&resolved, bucket)?;
        let rec = ObjectRecord {
            etag: EMPTY_MD5.to_owned(),
            modified_ms: Utc::now().timestamp_millis(),
            ..ObjectRecord::default()
        };
        self.records
            .put(&resolved.backend.id(), &format!("{}/", resolved.key), &rec)
    }

    /// Removes an empty bucket. A mount point is refused, and so is a directory that
    /// holds mount points or objects.
    pub async fn delete_bucket(&self, bucket: &str) -> NsResult<()> {
        if !self.bucket_exists(bucket).await? {
            return Err(NsError::NoSuchBucket {
                bucket: bucket.to_owned(),
            });
        }
        let mounts = self.mounts.mounts();
        if mounts.iter().any(|m| m.path == bucket) {
            return Err(NsError::BucketIsMount {
                bucket: bucket.to_owned(),
            });
        }
        if let Some(m) = mounts.iter().find(|m| m.path.starts_with(&format!("{bucket}/"))) {
            return Err(NsError::BucketNotEmpty {
                bucket: bucket.to_owned(),
                reason: format!("it holds the mount point {}", m.display_path()),
            });
        }
        let req = ListRequest {
            bucket: Some(bucket.to_owned()),
            max_keys: 1,
            ..ListRequest::default()
        };
        if !self.list(&req).await?.entries.is_empty() {
            return Err(NsError::BucketNotEmpty {
                bucket: bucket.to_owned(),
                reason: "it holds objects".to_owned(),
            });
        }
        let resolved = self.resolve(bucket)?;
        Self::check_writable(&resolved, bucket)?;
        self.records
            .delete(&resolved.backend.id(), &format!("{}/", resolved.key))
    }
}
