//! [`StateMachine`]: applies committed entries with `apply_to_kv` (through [`MetaStore`]),
//! and builds and installs snapshots of the replicated keyspace.
// openraft's traits return its StorageError, which is large; the helpers return it too.
#![allow(clippy::result_large_err)]

use std::io::Cursor;
use std::sync::Arc;

use arustio_storage::{Keyspace, KvPairs};
use openraft::storage::{RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{
    BasicNode, Entry, EntryPayload, ErrorSubject, ErrorVerb, OptionalSend, RaftSnapshotBuilder, StoredMembership,
};
use serde::{Deserialize, Serialize};

use crate::log_store::{batch_json, get_json, io_err, put_json, raft_keyspace};
use crate::types::{LogId, MetaResponse, NodeId, StorageError, TypeConfig};
use crate::{ApplyError, MetaStore};

/// Keys in the Raft keyspace.
const APPLIED: &[u8] = b"sm/applied";
const MEMBERSHIP: &[u8] = b"sm/membership";
const SNAPSHOT: &[u8] = b"sm/snapshot";

type Membership = StoredMembership<NodeId, BasicNode>;

/// The last snapshot built or installed, kept so it can be sent to lagging followers.
#[derive(Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, BasicNode>,
    data: Vec<u8>,
}

/// A snapshot's contents: every key and value of the replicated keyspace.
#[derive(Serialize, Deserialize)]
struct SnapshotData {
    pairs: KvPairs,
}

fn sm_err(verb: ErrorVerb, e: impl std::fmt::Display) -> StorageError {
    io_err(ErrorSubject::StateMachine, verb, e)
}

/// The state machine of one node.
#[derive(Debug, Clone)]
pub struct StateMachine {
    meta: Arc<MetaStore>,
    /// Where what has been applied is recorded (the Raft keyspace of the same store).
    raft: Keyspace,
}

impl StateMachine {
    /// The state machine that applies to `meta`.
    pub fn new(meta: Arc<MetaStore>) -> Self {
        let raft = raft_keyspace(meta.kv());
        Self { meta, raft }
    }

    fn applied(&self) -> Result<(Option<LogId>, Membership), StorageError> {
        let applied = get_json::<Option<LogId>>(&self.raft, APPLIED)?.flatten();
        let membership = get_json::<Membership>(&self.raft, MEMBERSHIP)?.unwrap_or_default();
        Ok((applied, membership))
    }

    fn store_snapshot(&self, snapshot: &StoredSnapshot) -> Result<(), StorageError> {
        put_json(&self.raft, SNAPSHOT, snapshot)
    }
}

/// The state a snapshot is made of, read in the state machine's task (so between two
/// applies: openraft builds the snapshot in a task of its own, while applies go on).
#[derive(Debug)]
struct Captured {
    last_applied: Option<LogId>,
    membership: Membership,
    pairs: KvPairs,
}

/// Builds a snapshot from the state captured when the builder was made.
#[derive(Debug)]
pub struct SnapshotBuilder {
    sm: StateMachine,
    captured: Result<Captured, StorageError>,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let captured = std::mem::replace(
            &mut self.captured,
            Err(sm_err(ErrorVerb::Read, "snapshot already built")),
        )?;
        let data =
            serde_json::to_vec(&SnapshotData { pairs: captured.pairs }).map_err(|e| sm_err(ErrorVerb::Read, e))?;
        let snapshot_id = match captured.last_applied {
            Some(id) => format!("{}-{}-{}", id.leader_id.term, id.index, data.len()),
            None => format!("0-0-{}", data.len()),
        };
        let meta = SnapshotMeta {
            last_log_id: captured.last_applied,
            last_membership: captured.membership,
            snapshot_id,
        };
        let stored = StoredSnapshot { meta, data };
        self.sm.store_snapshot(&stored)?;
        Ok(Snapshot {
            meta: stored.meta,
            snapshot: Box::new(Cursor::new(stored.data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, Membership), StorageError> {
        self.applied()
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<MetaResponse>, StorageError>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut out = Vec::new();
        for entry in entries {
            let response = match entry.payload {
                EntryPayload::Blank => Ok(()),
                EntryPayload::Normal(cmd) => match self.meta.apply(&cmd) {
                    Ok(()) => Ok(()),
                    Err(ApplyError::Refused(r)) => Err(r),
                    Err(e) => return Err(sm_err(ErrorVerb::Write, e)),
                },
                EntryPayload::Membership(m) => {
                    put_json(&self.raft, MEMBERSHIP, &Membership::new(Some(entry.log_id), m))?;
                    Ok(())
                }
            };
            put_json(&self.raft, APPLIED, &Some(entry.log_id))?;
            out.push(response);
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        let captured = self.applied().and_then(|(last_applied, membership)| {
            let pairs = self.meta.all_pairs().map_err(|e| sm_err(ErrorVerb::Read, e))?;
            Ok(Captured {
                last_applied,
                membership,
                pairs,
            })
        });
        SnapshotBuilder {
            sm: self.clone(),
            captured,
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let data = snapshot.into_inner();
        let parsed: SnapshotData = serde_json::from_slice(&data).map_err(|e| sm_err(ErrorVerb::Read, e))?;
        // What the snapshot covers goes in the same batch as its data.
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data,
        };
        let mut with = self.raft.batch();
        batch_json(&mut with, &self.raft, MEMBERSHIP, &meta.last_membership)?;
        batch_json(&mut with, &self.raft, APPLIED, &meta.last_log_id)?;
        batch_json(&mut with, &self.raft, SNAPSHOT, &stored)?;
        self.meta
            .replace_all(parsed.pairs, with)
            .map_err(|e| sm_err(ErrorVerb::Write, e))
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let stored: Option<StoredSnapshot> = get_json(&self.raft, SNAPSHOT)?;
        Ok(stored.map(|s| Snapshot {
            meta: s.meta,
            snapshot: Box::new(Cursor::new(s.data)),
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use arustio_namespace::MountEntry;
    use arustio_storage::{KvStore, MemKv, RocksKv};
    use openraft::{CommittedLeaderId, Membership as Voters};

    use super::*;
    use crate::apply::replicated;
    use crate::crash_kv::{CrashingKv, assert_all_or_nothing};
    use crate::{MetaCmd, RootCredentials};

    fn log_id(term: u64, index: u64) -> LogId {
        LogId::new(CommittedLeaderId::new(term, 1), index)
    }

    fn membership(at: LogId, ids: &[NodeId]) -> Membership {
        let nodes: BTreeMap<_, _> = ids.iter().map(|id| (*id, BasicNode::new(format!("n{id}")))).collect();
        let voters = BTreeSet::from_iter(ids.iter().copied());
        Membership::new(Some(at), Voters::new(vec![voters], nodes))
    }

    fn mount(path: &str) -> MetaCmd {
        MetaCmd::Mount(MountEntry {
            path: path.into(),
            uri: format!("mem://{path}"),
            options: arustio_backends::MountOptions::default(),
            readonly: false,
        })
    }

    fn creds(secret: &str) -> MetaCmd {
        MetaCmd::SetRootCredentials(RootCredentials {
            access_key: "root".into(),
            secret_key: secret.into(),
        })
    }

    /// What a node reads back at start: the replicated keyspace, and the records saying
    /// which log index and membership it covers and which snapshot it came from.
    type State = Vec<(String, Option<String>)>;

    fn state(kv: Arc<dyn KvStore>) -> State {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let meta = replicated(Arc::clone(&kv))
            .export()
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k, Some(v)));
        let raft = raft_keyspace(kv);
        let records = [APPLIED, MEMBERSHIP, SNAPSHOT].map(|k| (k.to_vec(), raft.get(k).unwrap()));
        meta.chain(records)
            .map(|(k, v)| (text(&k), v.as_deref().map(text)))
            .collect()
    }

    /// A node's store holding three mounts, credentials and a cache node, applied up to 3.
    fn old_state(kv: &Arc<dyn KvStore>) {
        let meta = MetaStore::open(Arc::clone(kv), None).unwrap();
        for cmd in [mount("a"), mount("b"), mount("c"), creds("old-secret")] {
            meta.apply(&cmd).unwrap();
        }
        meta.apply(&MetaCmd::AddCacheNode {
            id: 1,
            addr: "n1".into(),
        })
        .unwrap();
        let raft = raft_keyspace(Arc::clone(kv));
        put_json(&raft, APPLIED, &Some(log_id(1, 3))).unwrap();
        put_json(&raft, MEMBERSHIP, &membership(log_id(1, 1), &[1])).unwrap();
    }

    /// A snapshot of other mounts and credentials, at index 10 with two members.
    fn new_snapshot() -> (SnapshotMeta<NodeId, BasicNode>, Vec<u8>) {
        let kv: Arc<dyn KvStore> = Arc::new(MemKv::default());
        let meta = MetaStore::open(Arc::clone(&kv), None).unwrap();
        for cmd in [mount("x"), mount("y"), creds("new-secret")] {
            meta.apply(&cmd).unwrap();
        }
        let data = serde_json::to_vec(&SnapshotData {
            pairs: meta.all_pairs().unwrap(),
        })
        .unwrap();
        let snapshot = SnapshotMeta {
            last_log_id: Some(log_id(2, 10)),
            last_membership: membership(log_id(2, 8), &[1, 2]),
            snapshot_id: "2-10".into(),
        };
        (snapshot, data)
    }

    /// Installs the snapshot on a node (with [`old_state`]) that crashes after `writes`
    /// writes; what a restart reads from its RocksDB, and whether the install finished.
    async fn install_crashing_after(writes: usize) -> (State, bool) {
        let dir = tempfile::tempdir().unwrap();
        old_state(&(Arc::new(RocksKv::open(dir.path()).unwrap()) as Arc<dyn KvStore>));
        let finished = {
            let rocks: Arc<dyn KvStore> = Arc::new(RocksKv::open(dir.path()).unwrap());
            let kv: Arc<dyn KvStore> = Arc::new(CrashingKv::new(rocks, writes));
            let mut sm = StateMachine::new(Arc::new(MetaStore::open(kv, None).unwrap()));
            let (snapshot, data) = new_snapshot();
            sm.install_snapshot(&snapshot, Box::new(Cursor::new(data)))
                .await
                .is_ok()
        };
        (state(Arc::new(RocksKv::open(dir.path()).unwrap())), finished)
    }

    #[tokio::test]
    async fn a_crash_while_installing_a_snapshot_leaves_the_old_state_or_the_new() {
        let old_kv: Arc<dyn KvStore> = Arc::new(MemKv::default());
        old_state(&old_kv);
        let (new, finished) = install_crashing_after(usize::MAX).await;
        assert!(finished);
        assert_eq!(new.iter().filter(|(_, v)| v.is_some()).count(), 6, "{new:#?}");
        assert_all_or_nothing(&state(old_kv), &new, install_crashing_after).await;
    }
}
