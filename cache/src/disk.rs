//! [`DiskTier`]: the local disk tier of the block cache. One checksummed file per block, an in-memory LRU index
//! rebuilt from the files at open, and a byte bound kept by evicting the least recently used blocks.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use bytes::Bytes;
use xxhash_rust::xxh3::xxh3_64;

use crate::error::CacheError;
use crate::key::BlockKey;

/// First bytes of every block file; the digits are the format's version.
const MAGIC: &[u8; 8] = b"ARBLK001";
/// Magic, data length (u64 LE), xxh3_64 of the data (u64 LE).
const HEADER_LEN: usize = 24;
/// How temp files end; any left at open are from a crash and removed.
const TMP_SUFFIX: &str = ".tmp";

/// What the disk tier holds and what went wrong, as counted since it was opened.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct DiskStats {
    /// The most data bytes the tier holds.
    pub capacity: u64,
    /// Data bytes held (block file headers not counted).
    pub used: u64,
    /// Blocks held.
    pub blocks: u64,
    /// Blocks removed to stay under the capacity (at open too).
    pub evictions: u64,
    /// Block files found corrupt (bad header, cut short, wrong checksum) and removed.
    pub corrupt: u64,
    /// Puts that failed on an I/O error.
    pub write_errors: u64,
}

/// The index: each block's recency and data length, and blocks by recency.
#[derive(Debug, Default)]
struct Index {
    blocks: HashMap<BlockKey, (u64, u64)>,
    lru: BTreeMap<u64, BlockKey>,
    next_seq: u64,
    used: u64,
}

impl Index {
    /// Adds the block as the most recently used; false if it was held already.
    fn insert(&mut self, key: BlockKey, len: u64) -> bool {
        if self.blocks.contains_key(&key) {
            return false;
        }
        let seq = self.bump();
        self.blocks.insert(key, (seq, len));
        self.lru.insert(seq, key);
        self.used += len;
        true
    }

    /// Marks the block as the most recently used; false if it is not held.
    fn touch(&mut self, key: &BlockKey) -> bool {
        let Some((_, len)) = self.remove(key) else {
            return false;
        };
        self.insert(*key, len)
    }

    /// Drops the block; its recency and length if it was held.
    fn remove(&mut self, key: &BlockKey) -> Option<(u64, u64)> {
        let (seq, len) = self.blocks.remove(key)?;
        self.lru.remove(&seq);
        self.used -= len;
        Some((seq, len))
    }

    /// Drops least recently used blocks until `used <= capacity`; returns them.
    fn evict_to(&mut self, capacity: u64) -> Vec<BlockKey> {
        let mut victims = Vec::new();
        while self.used > capacity
            && let Some((_, &key)) = self.lru.first_key_value()
        {
            self.remove(&key);
            victims.push(key);
        }
        victims
    }

    fn bump(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }
}

/// The local disk tier: blocks as files under one directory, at most `capacity` data bytes of them.
///
/// Layout: `dir/<first 2 hex of path>/<path as 32 hex>/<version as 32 hex>-<index>`, so all versions of one
/// object share a directory. A file is the 24-byte header (magic, data length, xxh3_64 of the data) then the data.
/// Files are not fsynced: a block torn by a power cut fails its checks on read and is dropped, since the store
/// remains the source of truth. File I/O runs on tokio's blocking pool; the index lock is never held across it.
pub struct DiskTier {
    dir: PathBuf,
    capacity: u64,
    index: Mutex<Index>,
    tmp_seq: AtomicU64,
    evictions: AtomicU64,
    corrupt: AtomicU64,
    write_errors: AtomicU64,
}

impl fmt::Debug for DiskTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiskTier")
            .field("dir", &self.dir)
            .field("stats", &self.stats())
            .finish()
    }
}

impl DiskTier {
    /// Opens (creating) the tier at `dir` with at most `capacity` bytes of block data. Scans what is there:
    /// rebuilds the index from the files (so blocks survive a restart), removes temp files left by a crash,
    /// and evicts the least recently used (oldest mtime first) blocks until under capacity.
    pub async fn open(dir: PathBuf, capacity: u64) -> Result<Self, CacheError> {
        let scan_dir = dir.clone();
        let (mut found, corrupt) = blocking(&dir, move || scan(&scan_dir)).await??;
        found.sort_unstable_by_key(|&(key, _, mtime)| (mtime, key));
        let mut index = Index::default();
        for (key, len, _) in found {
            index.insert(key, len);
        }
        let victims = index.evict_to(capacity);
        let tier = Self {
            dir,
            capacity,
            index: Mutex::new(index),
            tmp_seq: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            corrupt: AtomicU64::new(corrupt),
            write_errors: AtomicU64::new(0),
        };
        tier.evict(victims).await;
        let stats = tier.stats();
        tracing::info!(dir = %tier.dir.display(), blocks = stats.blocks, used = stats.used, capacity, "disk cache opened");
        Ok(tier)
    }

    /// The block, if held and intact. A file that fails its checksum, is cut short or has a wrong header is
    /// removed, counted in `corrupt`, and None is returned (never an error: the caller falls back to the store).
    /// A hit makes the block the most recently used, and sets its file's mtime so that survives a restart.
    pub async fn get(&self, key: &BlockKey) -> Option<Bytes> {
        if !self.index().touch(key) {
            return None;
        }
        let path = self.block_path(key);
        let read_path = path.clone();
        let result = blocking(&path, move || read_block(&read_path)).await.and_then(|r| r);
        match result {
            Ok(data) => return Some(data),
            Err(e @ CacheError::Corrupt { .. }) => {
                self.corrupt.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "dropped corrupt disk cache block");
                self.index().remove(key);
            }
            Err(CacheError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                tracing::debug!(path = %path.display(), "disk cache block file vanished");
                self.index().remove(key);
            }
            Err(e) => tracing::warn!(error = %e, "disk cache read failed"),
        }
        None
    }

    /// Whether the index holds the block (no I/O).
    pub fn contains(&self, key: &BlockKey) -> bool {
        self.index().blocks.contains_key(key)
    }

    /// Stores the block: written to a temp file in the same directory, then renamed into place (so a crash
    /// never leaves a torn block under the final name), then the index is updated and least-recently-used blocks
    /// are removed until `used <= capacity`. A block larger than the capacity is not stored. Writing a key already
    /// held is a no-op. On an I/O error (disk full) the temp file is removed, `write_errors` counted, Err returned.
    pub async fn put(&self, key: BlockKey, data: Bytes) -> Result<(), CacheError> {
        let len = data.len() as u64;
        if len > self.capacity {
            tracing::debug!(%key, len, capacity = self.capacity, "block larger than the disk cache, not stored");
            return Ok(());
        }
        if self.contains(&key) {
            return Ok(());
        }
        let path = self.block_path(&key);
        // Unique per put, so concurrent puts of one key never share a temp file.
        let seq = self.tmp_seq.fetch_add(1, Ordering::Relaxed);
        let (final_path, tmp) = (
            path.clone(),
            path.with_extension(format!("{}-{seq}{TMP_SUFFIX}", std::process::id())),
        );
        let written = blocking(&path, move || write_block(&final_path, &tmp, &data))
            .await
            .and_then(|r| r.map_err(|e| io_err(&path, e)));
        if let Err(e) = written {
            self.write_errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "disk cache write failed");
            return Err(e);
        }
        let victims = {
            let mut index = self.index();
            index.insert(key, len);
            index.evict_to(self.capacity)
        };
        self.evict(victims).await;
        Ok(())
    }

    /// Drops every block whose key has this `path` (all versions of one object); returns how many.
    pub async fn remove_path(&self, path: u128) -> u64 {
        let removed = {
            let mut index = self.index();
            let keys: Vec<BlockKey> = index.blocks.keys().filter(|k| k.path == path).copied().collect();
            keys.iter().filter(|k| index.remove(k).is_some()).count() as u64
        };
        self.remove_all(vec![path_dir(&self.dir, path)], true).await;
        removed
    }

    /// Drops every block; returns how many.
    pub async fn clear(&self) -> u64 {
        let removed = std::mem::take(&mut *self.index()).blocks.len() as u64;
        // Every top directory the layout can have; the scan ignores anything else, so this leaves it too.
        self.remove_all((0..=255u8).map(|b| self.dir.join(format!("{b:02x}"))).collect(), true)
            .await;
        removed
    }

    /// What the tier holds and what went wrong.
    pub fn stats(&self) -> DiskStats {
        let index = self.index();
        DiskStats {
            capacity: self.capacity,
            used: index.used,
            blocks: index.blocks.len() as u64,
            evictions: self.evictions.load(Ordering::Relaxed),
            corrupt: self.corrupt.load(Ordering::Relaxed),
            write_errors: self.write_errors.load(Ordering::Relaxed),
        }
    }

    /// The index; a panic while it was held cannot leave it inconsistent enough to matter for a cache.
    fn index(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn block_path(&self, key: &BlockKey) -> PathBuf {
        block_path(&self.dir, key)
    }

    /// Counts the blocks already dropped from the index as evicted and removes their files.
    async fn evict(&self, victims: Vec<BlockKey>) {
        self.evictions.fetch_add(victims.len() as u64, Ordering::Relaxed);
        self.remove_all(victims.iter().map(|k| self.block_path(k)).collect(), false)
            .await;
    }

    /// Removes files (with `tree`, directories and all in them) on the blocking pool.
    async fn remove_all(&self, paths: Vec<PathBuf>, tree: bool) {
        if paths.is_empty() {
            return;
        }
        if let Err(e) = blocking(&self.dir, move || paths.iter().for_each(|p| remove(p, tree))).await {
            tracing::warn!(error = %e, "disk cache removal failed");
        }
    }
}

/// Runs `f` on the blocking pool; a panic or cancellation of it becomes an I/O error about `path`.
async fn blocking<T: Send + 'static>(path: &Path, f: impl FnOnce() -> T + Send + 'static) -> Result<T, CacheError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| io_err(path, io::Error::other(e)))
}

fn io_err(path: &Path, source: io::Error) -> CacheError {
    CacheError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The directory holding every version of `path`.
fn path_dir(dir: &Path, path: u128) -> PathBuf {
    dir.join(format!("{:02x}", path >> 120)).join(format!("{path:032x}"))
}

fn block_path(dir: &Path, key: &BlockKey) -> PathBuf {
    path_dir(dir, key.path).join(format!("{:032x}-{}", key.version, key.index))
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The entries of `dir` with UTF-8 names.
fn read_dir_names(dir: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if let Ok(name) = entry.file_name().into_string() {
            out.push((name, entry.path()));
        }
    }
    Ok(out)
}

/// Removes a file, or a directory and all in it; one already gone is fine.
fn remove(path: &Path, tree: bool) {
    let result = if tree {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    if let Err(e) = result
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "could not remove from the disk cache");
    }
}

/// A block found by [`scan`]: its key, data length and mtime.
type Found = (BlockKey, u64, SystemTime);

/// Creates `dir` and lists the block files under it, removing temp files and files too short for a header (which
/// it counts, as corrupt). Files and directories whose names are not of the layout are left alone.
fn scan(dir: &Path) -> Result<(Vec<Found>, u64), CacheError> {
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let (mut found, mut corrupt) = (Vec::new(), 0);
    let list = |path: &Path| {
        read_dir_names(path).unwrap_or_else(|e| {
            tracing::warn!(path = %path.display(), error = %e, "could not list disk cache directory");
            Vec::new()
        })
    };
    for (top, top_path) in read_dir_names(dir).map_err(|e| io_err(dir, e))? {
        if !is_hex(&top, 2) || !top_path.is_dir() {
            continue;
        }
        for (leaf, leaf_path) in list(&top_path) {
            if !is_hex(&leaf, 32) || !leaf.starts_with(&top) || !leaf_path.is_dir() {
                continue;
            }
            for (name, path) in list(&leaf_path) {
                if name.ends_with(TMP_SUFFIX) {
                    remove(&path, false);
                    continue;
                }
                // Only the canonical spelling of a key is a block file.
                let key = BlockKey::parse(&format!("{leaf}-{name}")).filter(|k| block_path(dir, k) == path);
                let (Some(key), Ok(meta)) = (key, std::fs::metadata(&path)) else {
                    continue;
                };
                if !meta.is_file() {
                    continue;
                }
                if meta.len() < HEADER_LEN as u64 {
                    remove(&path, false);
                    corrupt += 1;
                    continue;
                }
                let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                found.push((key, meta.len() - HEADER_LEN as u64, mtime));
            }
        }
    }
    Ok((found, corrupt))
}

fn header(data: &[u8]) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[..8].copy_from_slice(MAGIC);
    out[8..16].copy_from_slice(&(data.len() as u64).to_le_bytes());
    out[16..].copy_from_slice(&xxh3_64(data).to_le_bytes());
    out
}

/// Writes the block to `tmp` and renames it to `path`, once more if its directory vanished meanwhile (a
/// concurrent `remove_path` or `clear`). On failure `tmp` is removed.
fn write_block(path: &Path, tmp: &Path, data: &[u8]) -> io::Result<()> {
    let attempt = || -> io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = File::create_new(tmp)?;
        file.write_all(&header(data))?;
        file.write_all(data)?;
        drop(file);
        std::fs::rename(tmp, path)
    };
    let result = match attempt() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => attempt(),
        result => result,
    };
    if result.is_err() {
        remove(tmp, false);
    }
    result
}

/// Reads and checks a block file; a corrupt one is removed before its error is returned.
fn read_block(path: &Path) -> Result<Bytes, CacheError> {
    let mut file = File::open(path).map_err(|e| io_err(path, e))?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).map_err(|e| io_err(path, e))?;
    match decode(buf) {
        Ok(data) => {
            // Best effort: the mtime is the recency a restart goes by.
            let _ = file.set_modified(SystemTime::now());
            Ok(data)
        }
        Err(reason) => {
            drop(file);
            remove(path, false);
            Err(CacheError::Corrupt {
                path: path.display().to_string(),
                reason,
            })
        }
    }
}

/// The data of a block file's bytes, or what is wrong with them.
fn decode(buf: Vec<u8>) -> Result<Bytes, String> {
    if buf.len() < HEADER_LEN {
        return Err(format!("{} bytes, shorter than the header", buf.len()));
    }
    if &buf[..8] != MAGIC {
        return Err("wrong magic".into());
    }
    let field = |at: usize| u64::from_le_bytes(buf[at..at + 8].try_into().unwrap_or_default());
    let (len, hash) = (field(8), field(16));
    let held = (buf.len() - HEADER_LEN) as u64;
    if len != held {
        return Err(format!("header says {len} data bytes, file holds {held}"));
    }
    if xxh3_64(&buf[HEADER_LEN..]) != hash {
        return Err("checksum mismatch".into());
    }
    Ok(Bytes::from(buf).slice(HEADER_LEN..))
}

#[cfg(test)]
#[path = "disk_tests.rs"]
mod tests;
