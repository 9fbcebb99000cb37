//! [`LogStore`]: the Raft log, vote and committed id, kept in the node's KV store
//! (RocksDB under the data dir) in a keyspace of their own.
// openraft's traits return its StorageError, which is large; the helpers return it too.
#![allow(clippy::result_large_err)]

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arustio_storage::{Keyspace, KvStore, WriteBatch, prefix_end};
use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{Entry, ErrorSubject, ErrorVerb, OptionalSend, RaftLogReader, StorageIOError, Vote};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::types::{LogId, NodeId, StorageError, TypeConfig};

/// The keyspace of this node's Raft state: the log, the vote, and the state machine's
/// progress (`sm/`); never replicated as data.
const RAFT: &str = "raft";
const LOG: &[u8] = b"log/";
const VOTE: &[u8] = b"vote";
const COMMITTED: &[u8] = b"committed";
const PURGED: &[u8] = b"purged";

/// The Raft keyspace of `kv`.
pub(crate) fn raft_keyspace(kv: Arc<dyn KvStore>) -> Keyspace {
    Keyspace::new(kv, RAFT)
}

fn log_key(index: u64) -> Vec<u8> {
    [LOG, &index.to_be_bytes()].concat()
}

pub(crate) fn io_err(subject: ErrorSubject<NodeId>, verb: ErrorVerb, e: impl std::fmt::Display) -> StorageError {
    StorageIOError::new(subject, verb, openraft::AnyError::error(e.to_string())).into()
}

pub(crate) fn get_json<T: DeserializeOwned>(kv: &Keyspace, key: &[u8]) -> Result<Option<T>, StorageError> {
    let raw = kv
        .get(key)
        .map_err(|e| io_err(ErrorSubject::Store, ErrorVerb::Read, e))?;
    raw.map(|v| serde_json::from_slice(&v))
        .transpose()
        .map_err(|e| io_err(ErrorSubject::Store, ErrorVerb::Read, e))
}

/// Adds a put of `value` as JSON at `key` of `kv` to `batch`.
pub(crate) fn batch_json<T: Serialize>(
    batch: &mut WriteBatch,
    kv: &Keyspace,
    key: &[u8],
    value: &T,
) -> Result<(), StorageError> {
    let v = serde_json::to_vec(value).map_err(|e| io_err(ErrorSubject::Store, ErrorVerb::Write, e))?;
    batch.put(kv, key, v);
    Ok(())
}

pub(crate) fn put_json<T: Serialize>(kv: &Keyspace, key: &[u8], value: &T) -> Result<(), StorageError> {
    let v = serde_json::to_vec(value).map_err(|e| io_err(ErrorSubject::Store, ErrorVerb::Write, e))?;
    kv.put(key, &v)
        .map_err(|e| io_err(ErrorSubject::Store, ErrorVerb::Write, e))
}

/// The Raft log of one node.
#[derive(Debug, Clone)]
pub struct LogStore {
    kv: Keyspace,
    /// The last committed index plus one (0: none), as last saved; read by the metrics.
    committed: Arc<AtomicU64>,
}

impl LogStore {
    /// The log kept in `kv`.
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        Self {
            kv: raft_keyspace(kv),
            committed: Arc::default(),
        }
    }

    /// The last committed index this store saved, shared: it follows later saves.
    pub fn committed_index(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.committed)
    }

    fn sync(&self) -> Result<(), StorageError> {
        self.kv
            .sync()
            .map_err(|e| io_err(ErrorSubject::Store, ErrorVerb::Write, e))
    }

    /// Entries with indexes in `[start, end)`, in order.
    fn entries(&self, start: u64, end: Option<u64>) -> Result<Vec<Entry<TypeConfig>>, StorageError> {
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = start.checked_sub(1).map(log_key);
        loop {
            let page = self
                .kv
                .scan(LOG, after.as_deref(), 256)
                .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
            let full = page.len() == 256;
            for (k, v) in page {
                let entry: Entry<TypeConfig> =
                    serde_json::from_slice(&v).map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
                if end.is_some_and(|end| entry.log_id.index >= end) {
                    return Ok(out);
                }
                out.push(entry);
                after = Some(k);
            }
            if !full {
                return Ok(out);
            }
        }
    }

    /// Removes the entries with indexes in `[from, to_inclusive]`, and writes `purged` as the
    /// last purged id, in one atomic batch: a crash leaves the log as it was or as asked,
    /// never with a hole.
    fn delete_range(&self, from: u64, to_inclusive: Option<u64>, purged: Option<&LogId>) -> Result<(), StorageError> {
        let to = match to_inclusive.and_then(|t| t.checked_add(1)) {
            Some(end) => log_key(end),
            None => prefix_end(LOG).unwrap_or_default(),
        };
        let mut batch = self.kv.batch();
        batch.delete_range(&self.kv, &log_key(from), &to);
        if let Some(purged) = purged {
            batch_json(&mut batch, &self.kv, PURGED, purged)?;
        }
        batch
            .commit()
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Delete, e))
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError> {
        let start = match range.start_bound() {
            Bound::Included(s) => *s,
            Bound::Excluded(s) => s + 1,
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(e) => Some(e + 1),
            Bound::Excluded(e) => Some(*e),
            Bound::Unbounded => None,
        };
        self.entries(start, end)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged_log_id: Option<LogId> = get_json(&self.kv, PURGED)?;
        let mut last_log_id = last_purged_log_id;
        // The log is short (compacted by snapshots): the last entry is found by a scan.
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self
                .kv
                .scan(LOG, after.as_deref(), 256)
                .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
            let Some((k, v)) = page.last() else { break };
            let entry: Entry<TypeConfig> =
                serde_json::from_slice(v).map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
            last_log_id = Some(entry.log_id);
            after = Some(k.clone());
            if page.len() < 256 {
                break;
            }
        }
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError> {
        put_json(&self.kv, VOTE, vote)?;
        self.sync()
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError> {
        get_json(&self.kv, VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        put_json(&self.kv, COMMITTED, &committed)?;
        let next = committed.map_or(0, |c| c.index.saturating_add(1));
        self.committed.store(next, Ordering::Relaxed);
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        let committed = get_json::<Option<LogId>>(&self.kv, COMMITTED)?.flatten();
        let next = committed.map_or(0, |c| c.index.saturating_add(1));
        self.committed.store(next, Ordering::Relaxed);
        Ok(committed)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut batch = self.kv.batch();
        for entry in entries {
            batch_json(&mut batch, &self.kv, &log_key(entry.log_id.index), &entry)?;
        }
        batch
            .commit()
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Write, e))?;
        // On disk, not only in the OS's cache, before openraft counts the entries as stored.
        let synced = self.kv.sync().map_err(|e| std::io::Error::other(e.to_string()));
        callback.log_io_completed(synced);
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.delete_range(log_id.index, None, None)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.delete_range(0, Some(log_id.index), Some(&log_id))
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, EntryPayload};

    use arustio_storage::RocksKv;

    use super::*;
    use crate::crash_kv::{CrashingKv, assert_all_or_nothing};

    fn log_id(index: u64) -> LogId {
        LogId::new(CommittedLeaderId::new(1, 1), index)
    }

    /// The indexes in the log, and the last purged one.
    fn log(kv: Arc<dyn KvStore>) -> (Vec<u64>, Option<u64>) {
        let kv = raft_keyspace(kv);
        let indexes = kv
            .scan(LOG, None, 1000)
            .unwrap()
            .into_iter()
            .map(|(k, _)| u64::from_be_bytes(k[LOG.len()..].try_into().unwrap()))
            .collect();
        let purged = get_json::<LogId>(&kv, PURGED).unwrap().map(|l| l.index);
        (indexes, purged)
    }

    /// Runs `change` on a log of entries 1 to 10 that crashes after `writes` writes; what a
    /// restart reads back, and whether the change finished.
    async fn crashing_after<F, Fut>(writes: usize, change: F) -> ((Vec<u64>, Option<u64>), bool)
    where
        F: FnOnce(LogStore) -> Fut,
        Fut: std::future::Future<Output = Result<(), StorageError>>,
    {
        let dir = tempfile::tempdir().unwrap();
        {
            let kv = raft_keyspace(Arc::new(RocksKv::open(dir.path()).unwrap()));
            for index in 1..=10 {
                let entry = Entry::<TypeConfig> {
                    log_id: log_id(index),
                    payload: EntryPayload::Blank,
                };
                put_json(&kv, &log_key(index), &entry).unwrap();
            }
        }
        let finished = {
            let rocks: Arc<dyn KvStore> = Arc::new(RocksKv::open(dir.path()).unwrap());
            change(LogStore::new(Arc::new(CrashingKv::new(rocks, writes))))
                .await
                .is_ok()
        };
        (log(Arc::new(RocksKv::open(dir.path()).unwrap())), finished)
    }

    /// The log before the change: entries 1 to 10.
    fn whole() -> (Vec<u64>, Option<u64>) {
        ((1..=10).collect(), None)
    }

    #[tokio::test]
    async fn a_crash_while_truncating_leaves_the_whole_log_or_the_truncated_one() {
        let done = ((1..=5).collect(), None);
        assert_all_or_nothing(&whole(), &done, |writes| {
            crashing_after(writes, |mut log| async move { log.truncate(log_id(6)).await })
        })
        .await;
    }

    #[tokio::test]
    async fn a_crash_while_purging_leaves_the_whole_log_or_the_purged_one() {
        let done = ((5..=10).collect(), Some(4));
        assert_all_or_nothing(&whole(), &done, |writes| {
            crashing_after(writes, |mut log| async move { log.purge(log_id(4)).await })
        })
        .await;
    }
}
