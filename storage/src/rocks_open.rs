//! Opening a node's RocksDB: a new database is made only where there was none, and a
//! damaged one is refused with what to do, never replaced by an empty or shorter one.

use std::path::Path;

use rocksdb::{DB, DBRecoveryMode, ErrorKind, Options};
use thiserror::Error;

/// Why a node's database did not open.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Another process has it open.
    #[error("the metadata database {path} is in use (is another arustio using this data dir?)")]
    InUse {
        /// The path.
        path: String,
    },
    /// Files of it are damaged or missing.
    #[error(
        "the metadata database {path} is corrupt ({reason}); arustio will not start on it: restore the data dir \
         from a backup, or move {path} aside to start this node with no metadata (a cluster member then copies \
         the cluster's state back: `arustio cluster remove-node` it and start it with --join)"
    )]
    Corrupt {
        /// The path.
        path: String,
        /// Why, in a few words.
        reason: String,
    },
    /// Anything else (permissions, disk).
    #[error("cannot open the metadata database {path}: {reason}")]
    Io {
        /// The path.
        path: String,
        /// Why, in a few words.
        reason: String,
    },
}

/// RocksDB's message on one line.
fn one_line(e: &impl std::fmt::Display) -> String {
    e.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `path` holds a database: `CURRENT` names its state. Files of one without
/// `CURRENT` are a damaged database, which must not be made anew over them.
fn holds_database(path: &Path) -> Result<bool, OpenError> {
    let io = |e: std::io::Error| OpenError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let entries = match std::fs::read_dir(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        entries => entries.map_err(io)?,
    };
    let mut data = false;
    for entry in entries {
        let name = entry.map_err(io)?.file_name();
        let name = name.to_string_lossy();
        if name == "CURRENT" {
            return Ok(true);
        }
        data |= name.starts_with("MANIFEST-") || name.ends_with(".sst") || name.ends_with(".log");
    }
    if data {
        return Err(OpenError::Corrupt {
            path: path.display().to_string(),
            reason: "its CURRENT file is missing".into(),
        });
    }
    Ok(false)
}

/// Opens the database at `path`, or makes one if there is none.
pub(crate) fn open_db(path: &Path) -> Result<DB, OpenError> {
    let existing = holds_database(path)?;
    let mut opts = Options::default();
    opts.create_if_missing(!existing);
    opts.set_keep_log_file_num(4);
    opts.set_paranoid_checks(true);
    // A record cut short at the end of the log is a write a crash interrupted, and is
    // dropped; damage before it is refused (the default recovers up to the damage, silently
    // dropping every write after it, acknowledged Raft entries among them).
    opts.set_wal_recovery_mode(DBRecoveryMode::TolerateCorruptedTailRecords);
    DB::open(&opts, path).map_err(|e| open_error(path, existing, &e))
}

fn open_error(path: &Path, existing: bool, e: &rocksdb::Error) -> OpenError {
    let (path, reason) = (path.display().to_string(), one_line(e));
    if reason.contains("LOCK:") {
        OpenError::InUse { path }
    } else if e.kind() == ErrorKind::Corruption || (existing && reason.contains("No such file")) {
        OpenError::Corrupt { path, reason }
    } else {
        OpenError::Io { path, reason }
    }
}

/// A failure of a read or write, with the database named when it found damage.
pub(crate) fn kv_error(path: &Path, e: &rocksdb::Error) -> crate::KvError {
    let reason = one_line(e);
    if e.kind() == ErrorKind::Corruption {
        return crate::KvError(
            OpenError::Corrupt {
                path: path.display().to_string(),
                reason,
            }
            .to_string(),
        );
    }
    crate::KvError(reason)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use crate::KvStore;

    use crate::RocksKv;

    /// A database of 100 keys: half in a table file, half only in the write-ahead log.
    fn seeded() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for round in 0..2 {
            // Reopening flushes the log of the round before into a table file.
            let kv = RocksKv::open(dir.path()).unwrap();
            for i in 0..50 {
                kv.put(format!("meta/mount/{round}-{i:02}").as_bytes(), &[b'x'; 100])
                    .unwrap();
            }
        }
        dir
    }

    fn file(dir: &Path, matches: impl Fn(&str) -> bool) -> PathBuf {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| matches(&p.file_name().unwrap().to_string_lossy()))
            .unwrap()
    }

    fn wal(dir: &Path) -> PathBuf {
        file(dir, |n| n.ends_with(".log"))
    }

    /// Flips 16 bytes at `at` (a fraction of the length) of `path`.
    fn flip(path: &Path, at: f64) {
        let mut bytes = std::fs::read(path).unwrap();
        let start = (bytes.len() as f64 * at) as usize;
        let end = (start + 16).min(bytes.len());
        bytes[start..end].iter_mut().for_each(|b| *b ^= 0x5a);
        std::fs::write(path, bytes).unwrap();
    }

    fn truncate(path: &Path, by: u64) {
        let len = std::fs::metadata(path).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        f.set_len(len - by).unwrap();
    }

    fn keys(kv: &RocksKv) -> usize {
        kv.scan(b"meta/", None, 1000).unwrap().len()
    }

    /// What was done to a database, and how.
    type Damage = (&'static str, fn(&Path));

    #[test]
    fn every_kind_of_damage_is_refused_with_what_to_do() {
        let damages: [Damage; 8] = [
            ("CURRENT deleted", |d| std::fs::remove_file(d.join("CURRENT")).unwrap()),
            ("CURRENT and the log deleted", |d| {
                std::fs::remove_file(d.join("CURRENT")).unwrap();
                std::fs::remove_file(wal(d)).unwrap();
            }),
            ("CURRENT garbled", |d| {
                std::fs::write(d.join("CURRENT"), "garbage").unwrap()
            }),
            ("CURRENT naming a missing MANIFEST", |d| {
                std::fs::write(d.join("CURRENT"), "MANIFEST-000099\n").unwrap();
            }),
            ("MANIFEST emptied", |d| {
                std::fs::write(file(d, |n| n.starts_with("MANIFEST-")), b"").unwrap();
            }),
            ("a table file garbled", |d| flip(&file(d, |n| n.ends_with(".sst")), 0.3)),
            ("a table file truncated", |d| {
                truncate(&file(d, |n| n.ends_with(".sst")), 100)
            }),
            ("a value in the middle of the log garbled", |d| {
                let wal = wal(d);
                let mut bytes = std::fs::read(&wal).unwrap();
                let key = bytes.windows(15).position(|w| w == b"meta/mount/1-25").unwrap();
                bytes[key + 30] ^= 0x5a;
                std::fs::write(wal, bytes).unwrap();
            }),
        ];
        let mut wrong = Vec::new();
        for (what, damage) in damages {
            let dir = seeded();
            damage(dir.path());
            let path = dir.path().display().to_string();
            match RocksKv::open(dir.path()) {
                Ok(kv) => wrong.push(format!("{what}: opened, with {} keys of 100", keys(&kv))),
                Err(e) => {
                    let e = e.to_string();
                    let clear = e.contains(&path) && e.contains("is corrupt") && e.contains("backup");
                    if !clear || e.contains('\n') {
                        wrong.push(format!("{what}: {e}"));
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn a_torn_last_write_is_what_a_crash_leaves_and_opens() {
        let dir = seeded();
        truncate(&wal(dir.path()), 7);
        assert_eq!(keys(&RocksKv::open(dir.path()).unwrap()), 99);
    }

    #[test]
    fn a_new_database_is_made_in_a_missing_or_empty_dir_only() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(keys(&RocksKv::open(&dir.path().join("new")).unwrap()), 0);
        assert_eq!(keys(&RocksKv::open(dir.path()).unwrap()), 0);
    }

    #[test]
    fn a_database_in_use_says_so() {
        let dir = seeded();
        let _open = RocksKv::open(dir.path()).unwrap();
        let e = RocksKv::open(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("another arustio") && e.contains(&dir.path().display().to_string()),
            "{e}"
        );
    }
}
