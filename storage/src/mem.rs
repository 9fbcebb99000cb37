//! [`MemKv`]: a [`KvStore`] in memory.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::RwLock;

use crate::kv::{KvError, KvOp, KvPairs, KvStore};

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

    fn write_batch(&self, ops: &[KvOp]) -> Result<(), KvError> {
        let mut map = self.map.write().map_err(|e| KvError(e.to_string()))?;
        for op in ops {
            match op {
                KvOp::Put(k, v) => {
                    map.insert(k.clone(), v.clone());
                }
                KvOp::Delete(k) => {
                    map.remove(k);
                }
                KvOp::DeleteRange { from, to } => {
                    let doomed: Vec<_> = map.range(from.clone()..to.clone()).map(|(k, _)| k.clone()).collect();
                    for k in doomed {
                        map.remove(&k);
                    }
                }
            }
        }
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

    #[test]
    fn batch_applies_in_order_and_ranges_end_before_to() {
        let kv = MemKv::default();
        for k in ["a/1", "a/2", "a/3", "b/1"] {
            kv.put(k.as_bytes(), b"v").unwrap();
        }
        kv.write_batch(&[
            KvOp::DeleteRange {
                from: b"a/".to_vec(),
                to: b"a/3".to_vec(),
            },
            KvOp::Put(b"a/1".to_vec(), b"new".to_vec()),
            KvOp::Delete(b"b/1".to_vec()),
        ])
        .unwrap();
        let all = kv.scan(b"", None, 10).unwrap();
        assert_eq!(
            all,
            [(b"a/1".to_vec(), b"new".to_vec()), (b"a/3".to_vec(), b"v".to_vec())]
        );
    }
}
