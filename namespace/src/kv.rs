//! [`KvStore`]: the ordered key-value store the namespace keeps node-local records in.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::RwLock;

use crate::error::KvError;

/// Key-value pairs, in key order.
pub type KvPairs = Vec<(Vec<u8>, Vec<u8>)>;

/// An ordered byte key-value store. The raft crate implements it on RocksDB; the
/// in-memory [`MemKv`] serves tests and `--metadata memory`.
pub trait KvStore: Send + Sync + std::fmt::Debug {
    /// The value at `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError>;
    /// Writes `key`, durably.
    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), KvError>;
    /// Removes `key`.
    fn delete(&self, key: &[u8]) -> Result<(), KvError>;
    /// Up to `limit` entries whose key starts with `prefix` and sorts after `after`.
    fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<KvPairs, KvError>;
    /// Makes every write so far survive a crash of the machine, not only of the process
    /// (the Raft log and vote need it before they are acknowledged).
    fn sync(&self) -> Result<(), KvError> {
        Ok(())
    }
}

/// An in-memory [`KvStore`].
#[derive(Debug, Default)]
pub struct MemKv {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl KvStore for MemKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.map.read().map_err(|e| KvError(e.to_string()))?.get(key).cloned())
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), KvError> {
        self.map
            .write()
            .map_err(|e| KvError(e.to_string()))?
            .insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &[u8]) -> Result<(), KvError> {
        self.map.write().map_err(|e| KvError(e.to_string()))?.remove(key);
        Ok(())
    }

    fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<KvPairs, KvError> {
        let map = self.map.read().map_err(|e| KvError(e.to_string()))?;
        let start = match after {
            Some(a) if a >= prefix => Bound::Excluded(a.to_vec()),
            _ => Bound::Included(prefix.to_vec()),
        };
        Ok(map
            .range((start, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_respects_prefix_after_and_limit() {
        let kv = MemKv::default();
        for k in ["a/1", "a/2", "a/3", "b/1"] {
            kv.put(k.as_bytes(), b"v").unwrap();
        }
        let keys = |v: KvPairs| {
            v.into_iter()
                .map(|(k, _)| String::from_utf8(k).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(kv.scan(b"a/", None, 10).unwrap()), ["a/1", "a/2", "a/3"]);
        assert_eq!(keys(kv.scan(b"a/", Some(b"a/1"), 1).unwrap()), ["a/2"]);
        assert!(kv.scan(b"c/", None, 10).unwrap().is_empty());
    }
}
