//! [`RocksKv`]: the KV store on RocksDB, under the data dir.

use std::path::Path;

use crate::kv::{KvError, KvOp, KvPairs, KvStore};
use rocksdb::{DB, Direction, IteratorMode, WriteBatch};

use crate::rocks_open::{OpenError, kv_error, open_db};

/// A RocksDB database as a [`KvStore`].
pub struct RocksKv {
    db: DB,
}

impl std::fmt::Debug for RocksKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksKv").field("path", &self.db.path()).finish()
    }
}

impl RocksKv {
    /// Opens the database at `path`, or makes one where there is none; refuses a damaged one.
    pub fn open(path: &Path) -> Result<Self, OpenError> {
        Ok(Self { db: open_db(path)? })
    }

    fn err(&self, e: rocksdb::Error) -> KvError {
        kv_error(self.db.path(), &e)
    }
}

impl KvStore for RocksKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        self.db.get(key).map_err(|e| self.err(e))
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), KvError> {
        self.db.put(key, value).map_err(|e| self.err(e))
    }

    fn delete(&self, key: &[u8]) -> Result<(), KvError> {
        self.db.delete(key).map_err(|e| self.err(e))
    }

    fn write_batch(&self, ops: &[KvOp]) -> Result<(), KvError> {
        let mut batch = WriteBatch::default();
        for op in ops {
            match op {
                KvOp::Put(k, v) => batch.put(k, v),
                KvOp::Delete(k) => batch.delete(k),
                KvOp::DeleteRange { from, to } => batch.delete_range(from, to),
            }
        }
        self.db.write(batch).map_err(|e| self.err(e))
    }

    fn sync(&self) -> Result<(), KvError> {
        self.db.flush_wal(true).map_err(|e| self.err(e))
    }

    fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<KvPairs, KvError> {
        let start = match after {
            Some(a) if a >= prefix => a,
            _ => prefix,
        };
        let mut out = Vec::new();
        for item in self.db.iterator(IteratorMode::From(start, Direction::Forward)) {
            let (k, v) = item.map_err(|e| self.err(e))?;
            if !k.starts_with(prefix) || out.len() == limit {
                break;
            }
            if after.is_some_and(|a| &*k <= a) {
                continue;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen_and_scans_in_order() {
        let dir = tempfile::tempdir().unwrap();
        {
            let kv = RocksKv::open(dir.path()).unwrap();
            for k in ["p/b", "p/a", "q/a", "p/c"] {
                kv.put(k.as_bytes(), k.as_bytes()).unwrap();
            }
            kv.delete(b"p/c").unwrap();
        }
        let kv = RocksKv::open(dir.path()).unwrap();
        let keys: Vec<_> = kv.scan(b"p/", None, 10).unwrap().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, [b"p/a".to_vec(), b"p/b".to_vec()]);
        assert_eq!(kv.scan(b"p/", Some(b"p/a"), 10).unwrap().len(), 1);
        assert_eq!(kv.get(b"q/a").unwrap().as_deref(), Some(&b"q/a"[..]));
    }

    #[test]
    fn a_batch_survives_reopen_whole() {
        let dir = tempfile::tempdir().unwrap();
        {
            let kv = RocksKv::open(dir.path()).unwrap();
            for k in ["meta/a", "meta/b", "metb", "raft/x"] {
                kv.put(k.as_bytes(), b"old").unwrap();
            }
            kv.write_batch(&[
                KvOp::DeleteRange {
                    from: b"meta/".to_vec(),
                    to: crate::prefix_end(b"meta/").unwrap(),
                },
                KvOp::Put(b"meta/c".to_vec(), b"new".to_vec()),
                KvOp::Delete(b"raft/x".to_vec()),
            ])
            .unwrap();
        }
        let kv = RocksKv::open(dir.path()).unwrap();
        let all = kv.scan(b"", None, 10).unwrap();
        assert_eq!(
            all,
            [
                (b"meta/c".to_vec(), b"new".to_vec()),
                (b"metb".to_vec(), b"old".to_vec())
            ]
        );
    }
}
