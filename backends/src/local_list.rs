//! Sorted, bounded-memory listing of a local directory tree.
//!
//! `object_store`'s local listing walks in directory order, not key order, and fails the
//! whole listing on one odd file name. S3 listings need key order (for pagination), so this
//! walker visits each directory's entries sorted as keys (a directory `d` sorts as `d/`),
//! skips what it cannot represent with a warning, and holds one directory level per depth.

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use futures::stream::{BoxStream, StreamExt};

use crate::keys::check_segment;
use crate::{BackendError, ObjectMeta, StoreKind};

const BATCH: usize = 1000;

struct Frame {
    base: String,
    entries: VecDeque<(String, Entry)>,
}

/// A directory entry the walk may visit.
enum Entry {
    File,
    /// A directory, with its real path (a symlink's target).
    Dir(PathBuf),
}

struct SortedWalk {
    root: PathBuf,
    /// The root's real path: nothing outside it is listed.
    real_root: PathBuf,
    prefix: String,
    offset: Option<String>,
    stack: Vec<Frame>,
}

impl SortedWalk {
    fn new(root: PathBuf, prefix: String, offset: Option<String>) -> Self {
        let base = prefix.rsplit_once('/').map_or(String::new(), |(d, _)| format!("{d}/"));
        let real_root = fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
        let mut walk = Self {
            root,
            real_root,
            prefix,
            offset,
            stack: Vec::new(),
        };
        // A prefix no key can start with (`a//`, `/etc/`, `../`) lists nothing: joined to
        // the root, an absolute or dotted path would reach outside it.
        let start_ok = base
            .strip_suffix('/')
            .is_none_or(|dirs| dirs.split('/').all(|s| check_segment(StoreKind::Local, s).is_ok()));
        if start_ok
            && let Some(real) = walk.contained(&walk.root.join(&base))
            && let Some(entries) = walk.read_dir(&base, &real)
        {
            walk.stack.push(Frame { base, entries });
        }
        walk
    }

    /// The real path of `path` when it lies inside the root.
    fn contained(&self, path: &Path) -> Option<PathBuf> {
        let real = fs::canonicalize(path).ok()?;
        real.starts_with(&self.real_root).then_some(real)
    }

    /// The entries of the directory at `base` (whose real path is `real`), sorted as keys.
    /// A symlink is followed only to a file or directory inside the root, and never to a
    /// directory that holds this one (a loop).
    fn read_dir(&self, base: &str, real: &Path) -> Option<VecDeque<(String, Entry)>> {
        let dir = self.root.join(base);
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "skipping unreadable directory in listing");
                return None;
            }
        };
        let mut entries: Vec<(String, Entry)> = rd
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let Ok(name) = entry.file_name().into_string() else {
                    tracing::warn!(path = %entry.path().display(), "skipping non-UTF-8 file name in listing");
                    return None;
                };
                if check_segment(StoreKind::Local, &name).is_err() {
                    tracing::debug!(name, "skipping a name that is not a valid key segment");
                    return None;
                }
                let kind = entry.file_type().ok()?;
                if kind.is_dir() {
                    return Some((name, Entry::Dir(real.join(entry.file_name()))));
                }
                if !kind.is_symlink() {
                    return kind.is_file().then_some((name, Entry::File));
                }
                let Some(target) = self.contained(&entry.path()) else {
                    tracing::debug!(name, "skipping a symlink that leads outside the root");
                    return None;
                };
                if !target.is_dir() {
                    return Some((name, Entry::File));
                }
                if real.starts_with(&target) {
                    tracing::debug!(name, "skipping a symlink to a directory that holds it");
                    return None;
                }
                Some((name, Entry::Dir(target)))
            })
            .collect();
        entries.sort_by_key(sort_key);
        Some(entries.into())
    }

    fn skip_dir(&self, dkey: &str) -> bool {
        let relevant = dkey.starts_with(&self.prefix) || self.prefix.starts_with(dkey);
        let before_offset = self.offset.as_deref().is_some_and(|o| o > dkey && !o.starts_with(dkey));
        !relevant || before_offset
    }

    fn file_meta(&self, key: String, path: &Path) -> Option<ObjectMeta> {
        let md = fs::metadata(path).ok()?;
        if !md.is_file() {
            return None;
        }
        Some(ObjectMeta {
            key,
            size: md.len(),
            last_modified: mtime(&md),
            e_tag: Some(local_etag(&md)),
            attrs: None,
        })
    }
}

fn sort_key((name, entry): &(String, Entry)) -> String {
    match entry {
        Entry::Dir(_) => format!("{name}/"),
        Entry::File => name.clone(),
    }
}

impl Iterator for SortedWalk {
    type Item = ObjectMeta;

    fn next(&mut self) -> Option<ObjectMeta> {
        loop {
            let frame = self.stack.last_mut()?;
            let Some((name, entry)) = frame.entries.pop_front() else {
                self.stack.pop();
                continue;
            };
            let key = format!("{}{name}", frame.base);
            if let Entry::Dir(real) = entry {
                let dkey = format!("{key}/");
                if !self.skip_dir(&dkey)
                    && let Some(entries) = self.read_dir(&dkey, &real)
                {
                    self.stack.push(Frame { base: dkey, entries });
                }
                continue;
            }
            if !key.starts_with(&self.prefix) || self.offset.as_deref().is_some_and(|o| key.as_str() <= o) {
                continue;
            }
            let path = self.root.join(&key);
            if let Some(meta) = self.file_meta(key, &path) {
                return Some(meta);
            }
        }
    }
}

/// The same version tag `object_store`'s local store gives (inode, mtime, size).
pub(crate) fn local_etag(md: &fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    let micros = md
        .modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .unwrap_or_default()
        .as_micros();
    format!("\"{:x}-{:x}-{:x}\"", md.ino(), micros, md.len())
}

/// A file's mtime; one before 1970 or past what a date holds shows as 1970.
fn mtime(md: &fs::Metadata) -> DateTime<Utc> {
    md.modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .and_then(|d| DateTime::from_timestamp(i64::try_from(d.as_secs()).ok()?, d.subsec_nanos()))
        .unwrap_or_default()
}

/// Lists `root` in key order: keys starting with `prefix`, after `offset`.
pub(crate) fn list_sorted(
    root: PathBuf,
    prefix: String,
    offset: Option<String>,
) -> BoxStream<'static, Result<ObjectMeta, BackendError>> {
    let init: Option<SortedWalk> = None;
    let state = (init, VecDeque::<ObjectMeta>::new(), root, prefix, offset, false);
    futures::stream::try_unfold(state, |(walk, mut buf, root, prefix, offset, done)| async move {
        if buf.is_empty() && !done {
            let (root2, prefix2, offset2) = (root.clone(), prefix.clone(), offset.clone());
            let (walk, batch) = tokio::task::spawn_blocking(move || {
                let mut walk = walk.unwrap_or_else(|| SortedWalk::new(root2, prefix2, offset2));
                let batch: Vec<ObjectMeta> = walk.by_ref().take(BATCH).collect();
                (walk, batch)
            })
            .await
            .map_err(|e| BackendError::Io {
                path: root.display().to_string(),
                source: std::io::Error::other(e),
            })?;
            let done = batch.len() < BATCH;
            buf.extend(batch);
            return Ok(buf
                .pop_front()
                .map(|m| (m, (Some(walk), buf, root, prefix, offset, done))));
        }
        Ok(buf.pop_front().map(|m| (m, (walk, buf, root, prefix, offset, done))))
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    fn touch(root: &Path, key: &str) {
        let p = root.join(key);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, key).unwrap();
    }

    async fn keys(root: &Path, prefix: &str, offset: Option<&str>) -> Vec<String> {
        let s = list_sorted(root.to_owned(), prefix.into(), offset.map(Into::into));
        s.map_ok(|m| m.key).try_collect().await.unwrap()
    }

    #[tokio::test]
    async fn lists_in_key_order_with_prefix_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        for k in ["a/b", "a-c", "a/a/z", "b", "ab", "a#1", "c d/ü"] {
            touch(dir.path(), k);
        }
        assert_eq!(
            keys(dir.path(), "", None).await,
            ["a-c", "a/a/z", "a/b", "ab", "b", "c d/ü"]
        );
        assert_eq!(keys(dir.path(), "a/", None).await, ["a/a/z", "a/b"]);
        assert_eq!(keys(dir.path(), "a", Some("a/a/z")).await, ["a/b", "ab"]);
        assert_eq!(keys(dir.path(), "a/a", None).await, ["a/a/z"]);
        assert!(keys(dir.path(), "zz/", None).await.is_empty());
    }
}
