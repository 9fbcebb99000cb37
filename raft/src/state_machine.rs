//! [`StateMachine`]: applies committed entries with `apply_to_kv` (through [`MetaStore`]),
//! and builds and installs snapshots of the replicated keyspace.
// openraft's traits return its StorageError, which is large; the helpers return it too.
#![allow(clippy::result_large_err)]

use std::io::Cursor;
use std::sync::Arc;

use arustio_namespace::KvPairs;
use openraft::storage::{RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{
    BasicNode, Entry, EntryPayload, ErrorSubject, ErrorVerb, OptionalSend, RaftSnapshotBuilder, StoredMembership,
};
use serde::{Deserialize, Serialize};

use crate::log_store::{get_json, io_err, put_json};
use crate::types::{LogId, MetaResponse, NodeId, StorageError, TypeConfig};
use crate::{ApplyError, MetaStore};

const APPLIED: &[u8] = b"raft/sm/applied";
const MEMBERSHIP: &[u8] = b"raft/sm/membership";
const SNAPSHOT: &[u8] = b"raft/sm/snapshot";

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
}

impl StateMachine {
    pub fn new(meta: Arc<MetaStore>) -> Self {
        Self { meta }
    }

    fn applied(&self) -> Result<(Option<LogId>, Membership), StorageError> {
        let kv = self.meta.kv();
        let applied = get_json::<Option<LogId>>(kv.as_ref(), APPLIED)?.flatten();
        let membership = get_json::<Membership>(kv.as_ref(), MEMBERSHIP)?.unwrap_or_default();
        Ok((applied, membership))
    }

    fn store_snapshot(&self, snapshot: &StoredSnapshot) -> Result<(), StorageError> {
        put_json(self.meta.kv().as_ref(), SNAPSHOT, snapshot)
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
        let kv = self.meta.kv();
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
                    put_json(kv.as_ref(), MEMBERSHIP, &Membership::new(Some(entry.log_id), m))?;
                    Ok(())
                }
            };
            put_json(kv.as_ref(), APPLIED, &Some(entry.log_id))?;
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
        self.meta
            .replace_all(&parsed.pairs)
            .map_err(|e| sm_err(ErrorVerb::Write, e))?;
        let kv = self.meta.kv();
        put_json(kv.as_ref(), MEMBERSHIP, &meta.last_membership)?;
        put_json(kv.as_ref(), APPLIED, &meta.last_log_id)?;
        self.store_snapshot(&StoredSnapshot {
            meta: meta.clone(),
            data,
        })
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let stored: Option<StoredSnapshot> = get_json(self.meta.kv().as_ref(), SNAPSHOT)?;
        Ok(stored.map(|s| Snapshot {
            meta: s.meta,
            snapshot: Box::new(Cursor::new(s.data)),
        }))
    }
}
