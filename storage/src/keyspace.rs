//! [`Keyspace`]: a named part of a [`KvStore`]; [`WriteBatch`]: writes to the keyspaces of
//! one store that land together or not at all.

use std::sync::Arc;

use crate::kv::{KvError, KvOp, KvPairs, KvStore, prefix_end};

/// Entries read per page by [`Keyspace::scan_all`].
const PAGE: usize = 1000;

/// A named keyspace of a store. Its keys are stored as `<name>/<key>`, so two keyspaces
/// of one store never see each other's keys; every key in and out of it is relative.
#[derive(Debug, Clone)]
pub struct Keyspace {
    kv: Arc<dyn KvStore>,
    name: &'static str,
    prefix: Vec<u8>,
}

impl Keyspace {
    /// The keyspace `name` of `kv`. A name is a constant of the code that owns the keyspace
    /// and holds no `/`: one name is never the start of another's keys.
    pub fn new(kv: Arc<dyn KvStore>, name: &'static str) -> Self {
        assert!(!name.is_empty() && !name.contains('/'), "keyspace name {name:?}");
        let prefix = [name.as_bytes(), b"/"].concat();
        Self { kv, name, prefix }
    }

    /// Its name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn stored(&self, key: &[u8]) -> Vec<u8> {
        [self.prefix.as_slice(), key].concat()
    }

    /// `key` as the store holds it, for messages: `<name>/<key>`.
    pub fn display_key(&self, key: &[u8]) -> String {
        String::from_utf8_lossy(&self.stored(key)).into_owned()
    }

    /// The value at `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        self.kv.get(&self.stored(key))
    }

    /// Writes `key`.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<(), KvError> {
        self.kv.put(&self.stored(key), value)
    }

    /// Removes `key`.
    pub fn delete(&self, key: &[u8]) -> Result<(), KvError> {
        self.kv.delete(&self.stored(key))
    }

    /// Up to `limit` entries whose key starts with `prefix` and sorts after `after`.
    pub fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<KvPairs, KvError> {
        let after = after.map(|a| self.stored(a));
        let rows = self.kv.scan(&self.stored(prefix), after.as_deref(), limit)?;
        let skip = self.prefix.len();
        Ok(rows.into_iter().map(|(k, v)| (k[skip..].to_vec(), v)).collect())
    }

    /// Every entry whose key starts with `prefix`, in order.
    pub fn scan_all(&self, prefix: &[u8]) -> Result<KvPairs, KvError> {
        let mut out: KvPairs = Vec::new();
        loop {
            let page = self.scan(prefix, out.last().map(|(k, _)| k.as_slice()), PAGE)?;
            let done = page.len() < PAGE;
            out.extend(page);
            if done {
                return Ok(out);
            }
        }
    }

    /// The whole keyspace with the store's keys, for [`WriteBatch::replace`] on another node.
    pub fn export(&self) -> Result<KvPairs, KvError> {
        let pairs = self.scan_all(b"")?;
        Ok(pairs.into_iter().map(|(k, v)| (self.stored(&k), v)).collect())
    }

    /// Makes every write so far survive a crash of the machine.
    pub fn sync(&self) -> Result<(), KvError> {
        self.kv.sync()
    }

    /// A batch of writes to this store's keyspaces.
    pub fn batch(&self) -> WriteBatch {
        WriteBatch {
            kv: Arc::clone(&self.kv),
            ops: Vec::new(),
        }
    }

    fn same_store(&self, kv: &Arc<dyn KvStore>) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.kv), Arc::as_ptr(kv))
    }
}

/// Writes to keyspaces of one store, applied in order by [`WriteBatch::commit`]: after a
/// crash either all of them are there or none is.
#[derive(Debug)]
pub struct WriteBatch {
    kv: Arc<dyn KvStore>,
    ops: Vec<KvOp>,
}

impl WriteBatch {
    fn push(&mut self, ks: &Keyspace, op: KvOp) -> &mut Self {
        assert!(ks.same_store(&self.kv), "a batch spans the keyspaces of one store");
        self.ops.push(op);
        self
    }

    /// Writes `key` of `ks`.
    pub fn put(&mut self, ks: &Keyspace, key: &[u8], value: Vec<u8>) -> &mut Self {
        self.push(ks, KvOp::Put(ks.stored(key), value))
    }

    /// Removes `key` of `ks`.
    pub fn delete(&mut self, ks: &Keyspace, key: &[u8]) -> &mut Self {
        self.push(ks, KvOp::Delete(ks.stored(key)))
    }

    /// Removes the keys of `ks` in `[from, to)`.
    pub fn delete_range(&mut self, ks: &Keyspace, from: &[u8], to: &[u8]) -> &mut Self {
        let (from, to) = (ks.stored(from), ks.stored(to));
        self.push(ks, KvOp::DeleteRange { from, to })
    }

    /// Removes every key of `ks` that starts with `prefix` (all of them for `b""`).
    pub fn delete_prefix(&mut self, ks: &Keyspace, prefix: &[u8]) -> &mut Self {
        let from = ks.stored(prefix);
        // A keyspace's prefix ends in `/`, so there is always a key past it.
        let to = prefix_end(&from).unwrap_or_default();
        self.push(ks, KvOp::DeleteRange { from, to })
    }

    /// Makes `ks` hold exactly the entries of `exported` that are its own (an
    /// [`Keyspace::export`] of the same keyspace, on this node or another).
    pub fn replace(&mut self, ks: &Keyspace, exported: KvPairs) -> &mut Self {
        self.delete_prefix(ks, b"");
        for (k, v) in exported {
            if k.starts_with(&ks.prefix) {
                self.push(ks, KvOp::Put(k, v));
            }
        }
        self
    }

    /// Applies the writes, atomically.
    pub fn commit(self) -> Result<(), KvError> {
        self.kv.write_batch(&self.ops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemKv, RocksKv};

    fn keys(pairs: KvPairs) -> Vec<String> {
        pairs.into_iter().map(|(k, _)| String::from_utf8(k).unwrap()).collect()
    }

    fn spaces(kv: Arc<dyn KvStore>) -> (Keyspace, Keyspace, Keyspace) {
        // "me" sorts before "meta", and "meta" before "metb": neighbours by prefix.
        (
            Keyspace::new(Arc::clone(&kv), "me"),
            Keyspace::new(Arc::clone(&kv), "meta"),
            Keyspace::new(kv, "metb"),
        )
    }

    #[test]
    fn keyspaces_never_see_each_others_keys() {
        let (me, meta, metb) = spaces(Arc::new(MemKv::default()));
        for (ks, k) in [(&me, "ta/x"), (&meta, "a"), (&meta, "b"), (&metb, "a")] {
            ks.put(k.as_bytes(), ks.name().as_bytes()).unwrap();
        }
        assert_eq!(keys(meta.scan_all(b"").unwrap()), ["a", "b"]);
        assert_eq!(keys(me.scan_all(b"").unwrap()), ["ta/x"]);
        assert_eq!(meta.get(b"a").unwrap().as_deref(), Some(&b"meta"[..]));
        assert_eq!(metb.get(b"b").unwrap(), None);
        assert_eq!(keys(meta.scan(b"", Some(b"a"), 10).unwrap()), ["b"]);

        let mut batch = meta.batch();
        batch.delete_prefix(&meta, b"");
        batch.commit().unwrap();
        assert!(meta.scan_all(b"").unwrap().is_empty());
        assert_eq!(keys(me.scan_all(b"").unwrap()), ["ta/x"]);
        assert_eq!(keys(metb.scan_all(b"").unwrap()), ["a"]);
    }

    #[test]
    fn a_batch_over_two_keyspaces_lands_whole_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (me, meta, metb) = spaces(Arc::new(RocksKv::open(dir.path()).unwrap()));
            meta.put(b"old", b"1").unwrap();
            metb.put(b"log/1", b"1").unwrap();
            metb.put(b"log/2", b"2").unwrap();
            metb.put(b"vote", b"v").unwrap();
            let exported = vec![
                (b"meta/new".to_vec(), b"2".to_vec()),
                (b"metb/stray".to_vec(), b"x".to_vec()),
            ];
            let mut batch = me.batch();
            batch
                .replace(&meta, exported)
                .delete_range(&metb, b"log/", &prefix_end(b"log/").unwrap())
                .put(&me, b"k", b"v".to_vec());
            batch.commit().unwrap();
        }
        let (me, meta, metb) = spaces(Arc::new(RocksKv::open(dir.path()).unwrap()));
        assert_eq!(meta.export().unwrap(), [(b"meta/new".to_vec(), b"2".to_vec())]);
        assert_eq!(keys(metb.scan_all(b"").unwrap()), ["vote"]);
        assert_eq!(keys(me.scan_all(b"").unwrap()), ["k"]);
        assert_eq!(meta.display_key(b"new"), "meta/new");
    }
}
