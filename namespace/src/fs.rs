//! File-system style operations on namespace paths, for the admin CLI: ls, stat, mkdir,
//! rm, mv, and the checks a new mount must pass.

use chrono::{DateTime, Utc};
use futures::StreamExt;

use crate::error::{NsError, NsResult};
use crate::info::ObjectInfo;
use crate::list::{ListEntry, ListRequest};
use crate::mount::MountEntry;
use crate::path::{check_mount_path, normalize_path};
use crate::write::PutOptions;
use crate::{MetadataDirective, Namespace};

/// A file or directory as the CLI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsEntry {
    /// The full path, `/a/b`.
    pub path: String,
    /// A directory (bucket, prefix, marker or mount point).
    pub is_dir: bool,
    /// Size in bytes (0 for directories).
    pub size: u64,
    /// Last modification, where known.
    pub modified: DateTime<Utc>,
    /// The mount point the path lives on.
    pub mount: String,
    /// The ETag of a file.
    pub etag: String,
    /// The Content-Type of a file.
    pub content_type: Option<String>,
    /// The path is itself a mount point.
    pub is_mount_point: bool,
}

/// Splits a normalised path into bucket and key.
fn split(norm: &str) -> (&str, &str) {
    norm.split_once('/').unwrap_or((norm, ""))
}

fn shown(norm: &str) -> String {
    format!("/{norm}")
}

impl Namespace {
    fn mount_point_of(&self, norm: &str) -> String {
        crate::longest_mount(&self.mounts.mounts(), norm)
            .map(MountEntry::display_path)
            .unwrap_or_default()
    }

    fn is_mount_point(&self, norm: &str) -> bool {
        self.mounts.mounts().iter().any(|m| m.path == norm)
    }

    fn dir_entry(&self, norm: &str, modified: DateTime<Utc>) -> FsEntry {
        FsEntry {
            path: shown(norm),
            is_dir: true,
            size: 0,
            modified,
            mount: self.mount_point_of(norm),
            etag: String::new(),
            content_type: None,
            is_mount_point: self.is_mount_point(norm),
        }
    }

    fn file_entry(&self, norm: &str, o: ObjectInfo) -> FsEntry {
        FsEntry {
            path: shown(norm),
            is_dir: false,
            size: o.size,
            modified: o.last_modified,
            mount: self.mount_point_of(norm),
            etag: o.etag,
            content_type: o.content_type,
            is_mount_point: false,
        }
    }

    /// Whether `norm` is a directory: the root, a bucket, a mount point, a marker, or a
    /// prefix with objects under it.
    async fn is_dir(&self, norm: &str) -> NsResult<bool> {
        let (bucket, key) = split(norm);
        if norm.is_empty()
            || self
                .mounts
                .mounts()
                .iter()
                .any(|m| m.path == norm || m.path.starts_with(&format!("{norm}/")))
        {
            return Ok(true);
        }
        if key.is_empty() {
            return self.bucket_exists(bucket).await;
        }
        if !self.bucket_exists(bucket).await? {
            return Ok(false);
        }
        let req = ListRequest {
            bucket: Some(bucket.to_owned()),
            prefix: format!("{key}/"),
            max_keys: 1,
            ..ListRequest::default()
        };
        Ok(!self.list(&req).await?.entries.is_empty())
    }

    /// A file or directory.
    pub async fn fs_stat(&self, path: &str) -> NsResult<FsEntry> {
        let norm = normalize_path(path)?;
        let (bucket, key) = split(&norm);
        if !key.is_empty() && crate::path::check_key(key).is_ok() {
            match self.head(bucket, key).await {
                Ok(h) => return Ok(self.file_entry(&norm, h.info)),
                Err(NsError::NoSuchKey { .. } | NsError::NoSuchBucket { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if self.is_dir(&norm).await? {
            let modified = if key.is_empty() {
                DateTime::<Utc>::default()
            } else {
                self.head(bucket, &format!("{key}/"))
                    .await
                    .map(|h| h.info.last_modified)
                    .unwrap_or_default()
            };
            return Ok(self.dir_entry(&norm, modified));
        }
        Err(NsError::NotFound { path: shown(&norm) })
    }

    /// One page of the directory `path` (or the file itself), after `after`.
    pub async fn fs_list(
        &self,
        path: &str,
        after: Option<(String, bool)>,
        limit: usize,
    ) -> NsResult<(Vec<FsEntry>, bool)> {
        let norm = normalize_path(path)?;
        let entry = self.fs_stat(path).await?;
        if !entry.is_dir {
            return Ok((vec![entry], false));
        }
        let (bucket, key) = split(&norm);
        let prefix = if key.is_empty() {
            String::new()
        } else {
            format!("{key}/")
        };
        let base = if norm.is_empty() {
            String::new()
        } else {
            format!("{bucket}/")
        };
        let (after, after_is_prefix) = match after {
            Some((name, is_dir)) => (Some(format!("{prefix}{name}{}", if is_dir { "/" } else { "" })), is_dir),
            None => (None, false),
        };
        let req = ListRequest {
            bucket: (!norm.is_empty()).then(|| bucket.to_owned()),
            prefix: prefix.clone(),
            delimiter: Some("/".to_owned()),
            after,
            after_is_prefix,
            max_keys: limit,
        };
        let page = self.list(&req).await?;
        let mut out = Vec::with_capacity(page.entries.len());
        for e in page.entries {
            match e {
                ListEntry::Prefix(p) => {
                    let child = format!("{base}{}", p.trim_end_matches('/'));
                    out.push(self.dir_entry(&child, DateTime::<Utc>::default()));
                }
                ListEntry::Object(o) if o.key == prefix => {}
                ListEntry::Object(o) => {
                    let child = format!("{base}{}", o.key);
                    out.push(self.file_entry(&child, o));
                }
            }
        }
        Ok((out, page.truncated))
    }

    /// Makes the directory `path`; with `parents`, its missing parents too, and an
    /// existing directory is no error.
    pub async fn fs_mkdir(&self, path: &str, parents: bool) -> NsResult<FsEntry> {
        let norm = normalize_path(path)?;
        match self.fs_stat(path).await {
            Ok(e) if e.is_dir && parents => return Ok(e),
            Ok(e) if e.is_dir => {
                return Err(NsError::FsRefused {
                    path: e.path,
                    reason: "directory exists".to_owned(),
                });
            }
            Ok(e) => {
                return Err(NsError::FsRefused {
                    path: e.path,
                    reason: "a file exists at that path".to_owned(),
                });
            }
            Err(NsError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        let (bucket, key) = split(&norm);
        if norm.is_empty() {
            return self.fs_stat("/").await;
        }
        if key.is_empty() {
            self.create_bucket(bucket).await?;
            return self.fs_stat(path).await;
        }
        let parent = norm.rsplit_once('/').map_or("", |(p, _)| p);
        if !self.is_dir(parent).await? {
            if !parents {
                return Err(NsError::FsRefused {
                    path: shown(&norm),
                    reason: format!("parent /{parent} does not exist (use -p)"),
                });
            }
            Box::pin(self.fs_mkdir(&shown(parent), true)).await?;
        }
        self.put(
            bucket,
            &format!("{key}/"),
            futures::stream::empty().boxed(),
            PutOptions::default(),
        )
        .await?;
        self.fs_stat(path).await
    }

    /// Mount points strictly below `norm`.
    fn mounts_below(&self, norm: &str) -> Vec<String> {
        self.mounts
            .mounts()
            .iter()
            .filter(|m| !m.path.is_empty() && (norm.is_empty() || m.path.starts_with(&format!("{norm}/"))))
            .map(MountEntry::display_path)
            .collect()
    }

    /// Every object key (bucket-relative) under the directory `norm`, a page at a time.
    async fn keys_under(&self, norm: &str, after: Option<String>) -> NsResult<(Vec<String>, bool)> {
        let (bucket, key) = split(norm);
        let prefix = if key.is_empty() {
            String::new()
        } else {
            format!("{key}/")
        };
        let req = ListRequest {
            bucket: Some(bucket.to_owned()),
            prefix,
            after,
            max_keys: 1000,
            ..ListRequest::default()
        };
        let page = self.list(&req).await?;
        Ok((
            page.entries.iter().map(|e| e.key().to_owned()).collect(),
            page.truncated,
        ))
    }

    /// Removes a file, or with `recursive` a directory and everything in it. Returns how
    /// many objects went.
    pub async fn fs_remove(&self, path: &str, recursive: bool) -> NsResult<u64> {
        let entry = self.fs_stat(path).await?;
        let norm = normalize_path(path)?;
        let (bucket, key) = split(&norm);
        if entry.is_mount_point || norm.is_empty() {
            return Err(NsError::FsRefused {
                path: entry.path,
                reason: "is a mount point; use `arustio fs unmount`".to_owned(),
            });
        }
        if !entry.is_dir {
            self.delete(bucket, key).await?;
            return Ok(1);
        }
        if !recursive {
            return Err(NsError::FsRefused {
                path: entry.path,
                reason: "is a directory (use -r)".to_owned(),
            });
        }
        if let Some(m) = self.mounts_below(&norm).first() {
            return Err(NsError::FsRefused {
                path: entry.path,
                reason: format!("holds the mount point {m}; unmount it first"),
            });
        }
        let mut removed = 0u64;
        let mut previous: Option<String> = None;
        loop {
            let (keys, _) = self.keys_under(&norm, None).await?;
            if keys.is_empty() {
                break;
            }
            Self::check_progress(&norm, &mut previous, &keys)?;
            for k in keys {
                self.delete(bucket, &k).await?;
                removed += 1;
            }
        }
        if key.is_empty() {
            self.delete_bucket(bucket).await?;
        } else {
            self.delete(bucket, &format!("{key}/")).await?;
        }
        Ok(removed)
    }

    /// Moves a file or directory. Within one store a file is renamed by the store; across
    /// stores it is copied, then deleted.
    pub async fn fs_rename(&self, src: &str, dst: &str) -> NsResult<FsEntry> {
        let entry = self.fs_stat(src).await?;
        let (from, to) = (normalize_path(src)?, normalize_path(dst)?);
        if entry.is_mount_point || from.is_empty() || !self.mounts_below(&from).is_empty() {
            return Err(NsError::FsRefused {
                path: entry.path,
                reason: "holds or is a mount point; unmount it first".to_owned(),
            });
        }
        if to == from || to.starts_with(&format!("{from}/")) {
            return Err(NsError::FsRefused {
                path: shown(&to),
                reason: "cannot move a path into itself".to_owned(),
            });
        }
        if self.fs_stat(dst).await.is_ok() {
            return Err(NsError::FsRefused {
                path: shown(&to),
                reason: "already exists".to_owned(),
            });
        }
        let (sb, sk) = split(&from);
        let (db, dk) = split(&to);
        if dk.is_empty() || sk.is_empty() {
            return Err(NsError::FsRefused {
                path: shown(&from),
                reason: "buckets cannot be moved; move what is in them".to_owned(),
            });
        }
        if !entry.is_dir {
            self.move_object((sb, sk), (db, dk)).await?;
            return self.fs_stat(dst).await;
        }
        let mut previous: Option<String> = None;
        loop {
            let (keys, _) = self.keys_under(&from, None).await?;
            if keys.is_empty() {
                break;
            }
            Self::check_progress(&from, &mut previous, &keys)?;
            for k in keys {
                let rest = &k[sk.len()..];
                self.move_object((sb, &k), (db, &format!("{dk}{rest}"))).await?;
            }
        }
        if self.head(sb, &format!("{sk}/")).await.is_ok() {
            self.move_object((sb, &format!("{sk}/")), (db, &format!("{dk}/")))
                .await?;
        }
        self.fs_stat(dst).await
    }

    /// Stops a remove/move loop whose store keeps listing what it was told to remove.
    fn check_progress(norm: &str, previous: &mut Option<String>, keys: &[String]) -> NsResult<()> {
        if previous.as_deref() == keys.first().map(String::as_str) {
            return Err(NsError::FsRefused {
                path: shown(norm),
                reason: format!("the store still lists {} after removing it", keys[0]),
            });
        }
        *previous = keys.first().cloned();
        Ok(())
    }

    async fn move_object(&self, (sb, sk): (&str, &str), (db, dk): (&str, &str)) -> NsResult<()> {
        let src = self.resolve_object(sb, sk)?;
        let dst = self.resolve_object(db, dk)?;
        Self::check_writable(&src, &shown(&crate::path::join(sb, sk)))?;
        Self::check_writable(&dst, &shown(&crate::path::join(db, dk)))?;
        let same_store = src.backend.id() == dst.backend.id();
        if same_store && !src.is_marker(sk) && !src.key.is_empty() && !dst.key.is_empty() {
            dst.backend.check_key(&dst.key)?;
            let store = src.backend.id();
            let rec = self.records.get(&store, &src.key)?;
            src.backend.rename(&src.key, &dst.key).await?;
            self.records.delete(&store, &src.key)?;
            if let Some(mut rec) = rec {
                let meta = dst.backend.head(&dst.key).await?;
                rec.size = meta.size;
                rec.store_etag = meta.e_tag;
                self.records.put(&store, &dst.key, &rec)?;
            }
            self.invalidate(&src.backend, &src.key);
            self.invalidate(&dst.backend, &dst.key);
            return Ok(());
        }
        self.copy(
            (sb, sk),
            (db, dk),
            MetadataDirective::Copy,
            &crate::Conditions::default(),
        )
        .await?;
        self.delete(sb, sk).await
    }

    /// Checks a new mount: a valid path that is not a mount point yet, a store that answers
    /// (when `probe`), not inside a read-only mount, and (unless `shadow`) not hiding
    /// objects of the parent's store.
    pub async fn check_new_mount(&self, entry: &MountEntry, shadow: bool, probe: bool) -> NsResult<()> {
        let refuse = |reason: String| NsError::MountRefused {
            path: entry.display_path(),
            reason,
        };
        let norm = check_mount_path(&entry.display_path())?;
        let mounts = self.mounts.mounts();
        if let Some(existing) = mounts.iter().find(|m| m.path == norm) {
            return Err(refuse(format!("it is already a mount point (of {})", existing.uri)));
        }
        let backend = self
            .registry
            .backend(&entry.uri, &entry.options)
            .map_err(|e| refuse(e.to_string()))?;
        if probe {
            backend.probe().await.map_err(|e| match e {
                arustio_backends::BackendError::UnlistableKey { reason } => {
                    refuse(format!("{} cannot be listed: {reason}", entry.uri))
                }
                e => refuse(format!("{} does not answer: {}", entry.uri, e.summary())),
            })?;
        }
        let Some(parent) = crate::longest_mount(&mounts, &norm) else {
            return Ok(());
        };
        if parent.readonly {
            return Err(refuse(format!(
                "it is inside the read-only mount {}",
                parent.display_path()
            )));
        }
        if !shadow {
            let backend = self.registry.backend(&parent.uri, &parent.options)?;
            let rel = parent.relative(&norm);
            let hidden = backend.head(rel).await.is_ok()
                || self.records.get(&backend.id(), &format!("{rel}/"))?.is_some()
                || matches!(backend.list(&format!("{rel}/"), None).next().await, Some(Ok(_)));
            if hidden {
                return Err(refuse(format!(
                    "objects exist at that path on {}, which the mount would hide; pass --shadow to mount anyway",
                    parent.display_path()
                )));
            }
        }
        Ok(())
    }

    /// Multipart uploads in flight at or under the namespace path `norm`.
    pub async fn uploads_under(&self, norm: &str) -> NsResult<Vec<crate::UploadInfo>> {
        let all = self.all_uploads().await?;
        Ok(all
            .into_iter()
            .filter(|u| {
                let p = crate::path::join(&u.bucket, &u.key);
                norm.is_empty() || p == norm || p.starts_with(&format!("{norm}/"))
            })
            .collect())
    }
}
