//! [`KvStore`]: an ordered byte key-value store with atomic write batches.

use thiserror::Error;

/// A failure of a [`KvStore`].
#[derive(Debug, Error)]
#[error("{0}")]
pub struct KvError(pub String);

/// Key-value pairs, in key order.
pub type KvPairs = Vec<(Vec<u8>, Vec<u8>)>;

/// One write of a [`KvStore::write_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvOp {
    /// Writes a key.
    Put(Vec<u8>, Vec<u8>),
    /// Removes a key.
    Delete(Vec<u8>),
    /// Removes every key in `[from, to)`.
    DeleteRange {
        /// The first key removed.
        from: Vec<u8>,
        /// The first key past the range.
        to: Vec<u8>,
    },
}

/// The first key after every key that starts with `prefix` (the end of a
/// [`KvOp::DeleteRange`] over the prefix); `None` when no such key exists (all `0xff`).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let last = prefix.iter().rposition(|b| *b != 0xff)?;
    let mut end = prefix[..=last].to_vec();
    end[last] += 1;
    Some(end)
}

/// An ordered byte key-value store: [`crate::RocksKv`] on disk, [`crate::MemKv`] in memory
/// (tests and `--metadata memory`). Users reach it through named [`crate::Keyspace`]s.
pub trait KvStore: Send + Sync + std::fmt::Debug {
    /// The value at `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError>;
    /// Writes `key`, durably.
    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), KvError>;
    /// Removes `key`.
    fn delete(&self, key: &[u8]) -> Result<(), KvError>;
    /// Applies `ops` in order, atomically: after a crash either all of them are there or
    /// none is.
    fn write_batch(&self, ops: &[KvOp]) -> Result<(), KvError>;
    /// Up to `limit` entries whose key starts with `prefix` and sorts after `after`.
    fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<KvPairs, KvError>;
    /// Makes every write so far survive a crash of the machine, not only of the process
    /// (the Raft log and vote need it before they are acknowledged).
    fn sync(&self) -> Result<(), KvError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_is_past_every_key_of_the_prefix() {
        assert_eq!(prefix_end(b"meta/").as_deref(), Some(&b"meta0"[..]));
        assert_eq!(prefix_end(b"a\xff\xff").as_deref(), Some(&b"b"[..]));
        assert_eq!(prefix_end(b"\xff"), None);
    }
}
