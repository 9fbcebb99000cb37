//! The multipart staging dir on disk: durable commits, part files that carry their own
//! ETag, and reclaiming what an interrupted run left.
//!
//! A part is one file, `<upload id>/<part>.part`: its bytes, then its [`PartInfo`] as JSON,
//! the JSON's length (u32, little-endian) and [`MAGIC`]. It is written under a temp name,
//! synced and renamed into place, so two uploads of one part number cannot pair one's
//! bytes with the other's ETag: whichever rename lands last wins for both.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;

use crate::error::{NsError, NsResult};
use crate::multipart::{CompletedUpload, PartInfo, UploadInfo};

/// The last bytes of every committed part file.
const MAGIC: &[u8; 8] = b"ARPART01";
/// The length and the magic after a part's JSON.
const TAIL: u64 = 4 + MAGIC.len() as u64;
/// The record of an upload in its dir.
pub(crate) const UPLOAD_JSON: &str = "upload.json";
/// The record a completed upload leaves in its dir, in place of the upload and its parts.
const COMPLETED_JSON: &str = "completed.json";

pub(crate) fn io(path: &Path) -> impl Fn(std::io::Error) -> NsError + '_ {
    move |e| NsError::io(path, e)
}

/// The committed file of part `number`.
pub(crate) fn part_path(dir: &Path, number: i32) -> PathBuf {
    dir.join(format!("{number:05}.part"))
}

/// A fresh temp name in `dir` for a file that will become `stem`.
pub(crate) fn temp_path(dir: &Path, stem: &str) -> PathBuf {
    dir.join(format!("{stem}.{}.tmp", uuid::Uuid::new_v4().simple()))
}

/// Syncs `dir`, so that the entries just made in it survive a crash.
pub(crate) async fn sync_dir(dir: &Path) -> NsResult<()> {
    let d = tokio::fs::File::open(dir).await.map_err(io(dir))?;
    d.sync_all().await.map_err(io(dir))
}

/// Makes the temp file `tmp`, written through `file`, durable as `dest`: syncs it,
/// renames it and syncs the directory.
pub(crate) async fn commit(file: tokio::fs::File, tmp: &Path, dest: &Path) -> NsResult<()> {
    file.sync_all().await.map_err(io(tmp))?;
    drop(file);
    tokio::fs::rename(tmp, dest).await.map_err(io(dest))?;
    sync_dir(dest.parent().unwrap_or(Path::new("."))).await
}

/// Writes `bytes` to `dest` all or nothing, durably (a temp file, sync, rename, sync).
pub(crate) async fn write_atomic(dest: &Path, bytes: &[u8]) -> NsResult<()> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let stem = dest
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let tmp = temp_path(dir, &stem);
    let written = async {
        let mut file = tokio::fs::File::create(&tmp).await.map_err(io(&tmp))?;
        file.write_all(bytes).await.map_err(io(&tmp))?;
        commit(file, &tmp, dest).await
    }
    .await;
    if written.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    written
}

/// Appends the part's record after its bytes, making the file a part file.
pub(crate) async fn append_record(file: &mut tokio::fs::File, tmp: &Path, part: &PartInfo) -> NsResult<()> {
    let json = serde_json::to_vec(part).map_err(|e| NsError::io(tmp, std::io::Error::other(e)))?;
    let len = u32::try_from(json.len()).map_err(|e| NsError::io(tmp, std::io::Error::other(e)))?;
    let mut record = json;
    record.extend_from_slice(&len.to_le_bytes());
    record.extend_from_slice(MAGIC);
    file.write_all(&record).await.map_err(io(tmp))?;
    file.flush().await.map_err(io(tmp))
}

/// The record of the part file `path`, read through `file` (left at its start), when the
/// file is a whole part file of part `number`.
fn read_record(file: &mut std::fs::File, number: i32) -> Option<PartInfo> {
    let len = file.metadata().ok()?.len();
    let tail_at = len.checked_sub(TAIL)?;
    file.seek(SeekFrom::Start(tail_at)).ok()?;
    let mut tail = [0u8; TAIL as usize];
    file.read_exact(&mut tail).ok()?;
    let (json_len, magic) = tail.split_at(4);
    if magic != MAGIC {
        return None;
    }
    let json_len = u64::from(u32::from_le_bytes(json_len.try_into().ok()?));
    let json_at = tail_at.checked_sub(json_len)?;
    file.seek(SeekFrom::Start(json_at)).ok()?;
    let mut json = vec![0u8; usize::try_from(json_len).ok()?];
    file.read_exact(&mut json).ok()?;
    file.seek(SeekFrom::Start(0)).ok()?;
    let part: PartInfo = serde_json::from_slice(&json).ok()?;
    (part.size == json_at && part.part_number == number).then_some(part)
}

/// The part number a committed part file's name gives.
fn part_number(name: &str) -> Option<i32> {
    let digits = name.strip_suffix(".part")?;
    (digits.len() == 5 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// Committed part `number` of the upload in `dir`: its file, at the start of its bytes,
/// and its record. `None` when there is no such part.
pub(crate) async fn open_part(dir: &Path, number: i32) -> NsResult<Option<(tokio::fs::File, PartInfo)>> {
    let path = part_path(dir, number);
    blocking(move || {
        let mut file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(NsError::io(&path, e)),
        };
        Ok(read_record(&mut file, number).map(|part| (tokio::fs::File::from_std(file), part)))
    })
    .await
}

/// The committed parts of the upload in `dir`, by part number.
pub(crate) async fn parts(dir: &Path) -> NsResult<Vec<PartInfo>> {
    let dir = dir.to_owned();
    blocking(move || {
        let mut parts: Vec<PartInfo> = std::fs::read_dir(&dir)
            .map_err(io(&dir))?
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let number = part_number(entry.file_name().to_str()?)?;
                read_record(&mut std::fs::File::open(entry.path()).ok()?, number)
            })
            .collect();
        parts.sort_by_key(|p| p.part_number);
        Ok(parts)
    })
    .await
}

/// Leaves only `done` in the dir of the upload just completed: the record first, so that a
/// crash in between leaves an upload that is either whole or completed.
pub(crate) async fn retire(dir: &Path, done: &CompletedUpload) -> NsResult<()> {
    let json = serde_json::to_vec(done).map_err(|e| NsError::io(dir, std::io::Error::other(e)))?;
    write_atomic(&dir.join(COMPLETED_JSON), &json).await?;
    tokio::fs::remove_file(dir.join(UPLOAD_JSON)).await.map_err(io(dir))?;
    let dir = dir.to_owned();
    blocking(move || {
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))?.flatten() {
            if entry.file_name() != COMPLETED_JSON {
                remove(&entry.path(), entry.file_type().is_ok_and(|t| t.is_dir()));
            }
        }
        Ok(())
    })
    .await
}

/// The record of the completed upload whose dir is `dir`, if it is one.
pub(crate) async fn completed(dir: &Path) -> Option<CompletedUpload> {
    let raw = tokio::fs::read(dir.join(COMPLETED_JSON)).await.ok()?;
    parse_completed(dir, &raw)
}

fn parse_completed(dir: &Path, raw: &[u8]) -> Option<CompletedUpload> {
    let done: CompletedUpload = serde_json::from_slice(raw).ok()?;
    (dir.file_name()? == done.upload_id()).then_some(done)
}

/// Every completed upload's dir and record in `staging`.
pub(crate) async fn all_completed(staging: &Path) -> Vec<(PathBuf, CompletedUpload)> {
    let staging = staging.to_owned();
    blocking(move || {
        let Ok(entries) = std::fs::read_dir(&staging) else {
            return Ok(Vec::new());
        };
        Ok(entries
            .flatten()
            .filter_map(|entry| {
                let dir = entry.path();
                let raw = std::fs::read(dir.join(COMPLETED_JSON)).ok()?;
                parse_completed(&dir, &raw).map(|done| (dir, done))
            })
            .collect())
    })
    .await
    .unwrap_or_default()
}

/// Runs file work that blocks off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> NsResult<T> + Send + 'static) -> NsResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| NsError::io(Path::new("multipart staging"), std::io::Error::other(e)))?
}

/// The upload whose dir is `dir`, from the `raw` bytes of its record, if that is whole
/// and names the dir.
pub(crate) fn parse_upload(dir: &Path, raw: &[u8]) -> Option<UploadInfo> {
    let info: UploadInfo = serde_json::from_slice(raw).ok()?;
    (dir.file_name()? == info.upload_id.as_str()).then_some(info)
}

/// Removes from `staging` what no upload holds: stray files, dirs with neither a whole
/// `upload.json` nor a completed upload's record, and within the others every temp file
/// and part file that is not whole.
/// Only for a start, when no write is in flight. Returns how many entries went.
pub(crate) fn reclaim(staging: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(staging) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let live = is_dir
            && std::fs::read(path.join(UPLOAD_JSON))
                .ok()
                .and_then(|raw| parse_upload(&path, &raw))
                .is_some();
        let completed = !live
            && is_dir
            && std::fs::read(path.join(COMPLETED_JSON))
                .ok()
                .and_then(|raw| parse_completed(&path, &raw))
                .is_some();
        if live || completed {
            removed += reclaim_upload(&path);
        } else if remove(&path, is_dir) {
            removed += 1;
        }
    }
    removed
}

/// Within the dir of a live or completed upload, removes all but its records and its whole
/// parts.
fn reclaim_upload(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let whole = name == UPLOAD_JSON
            || name == COMPLETED_JSON
            || part_number(&name).is_some_and(|n| {
                std::fs::File::open(&path)
                    .ok()
                    .and_then(|mut f| read_record(&mut f, n))
                    .is_some()
            });
        if !whole && remove(&path, entry.file_type().is_ok_and(|t| t.is_dir())) {
            removed += 1;
        }
    }
    removed
}

fn remove(path: &Path, is_dir: bool) -> bool {
    let done = if is_dir {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match done {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "could not remove a leftover of multipart staging");
            false
        }
    }
}
