//! openraft's peer messages (votes, log ids, entries, memberships, append, vote and
//! snapshot calls and their replies) to and from their proto messages.
// openraft's replies carry its RaftError, which is large.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet};

use arustio_proto::raft as pb;
use openraft::error::{Fatal, Infallible, InstallSnapshotError, RaftError, SnapshotMismatch};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use openraft::{
    AnyError, BasicNode, CommittedLeaderId, Entry, EntryPayload, ErrorSubject, ErrorVerb, Membership, SnapshotMeta,
    SnapshotSegmentId, StorageIOError, StoredMembership, Vote,
};

use super::{FromPb, IntoPb, Malformed, need};
use crate::types::{LogId, NodeId, TypeConfig};

impl IntoPb for Vote<NodeId> {
    type Pb = pb::Vote;

    fn into_pb(self) -> pb::Vote {
        let v = self;
        pb::Vote {
            leader_id: Some(pb::LeaderId {
                term: v.leader_id.term,
                node_id: v.leader_id.node_id,
            }),
            committed: v.committed,
        }
    }
}

fn vote(v: Option<pb::Vote>) -> Result<Vote<NodeId>, Malformed> {
    let v = need(v, "vote")?;
    let id = need(v.leader_id, "vote's leader id")?;
    Ok(if v.committed {
        Vote::new_committed(id.term, id.node_id)
    } else {
        Vote::new(id.term, id.node_id)
    })
}

fn log_id_pb(id: LogId) -> pb::LogId {
    pb::LogId {
        term: id.leader_id.term,
        index: id.index,
        node_id: id.leader_id.node_id,
    }
}

fn log_id(id: pb::LogId) -> LogId {
    // Without openraft's `single-term-leader` feature a committed leader id is the whole
    // leader id, (term, node id), and log ids compare by it: dropping the node id makes a
    // follower's copy of an entry (T-N0-i) smaller than the leader's own (T-N1-i), and a
    // restarted old leader then refuses every vote request by last log id.
    LogId::new(CommittedLeaderId::new(id.term, id.node_id), id.index)
}

fn membership_pb(m: &Membership<NodeId, BasicNode>) -> pb::Membership {
    pb::Membership {
        configs: m
            .get_joint_config()
            .iter()
            .map(|c| pb::NodeIds {
                ids: c.iter().copied().collect(),
            })
            .collect(),
        nodes: m.nodes().map(|(id, n)| (*id, n.addr.clone())).collect(),
    }
}

fn membership(m: pb::Membership) -> Membership<NodeId, BasicNode> {
    let configs: Vec<BTreeSet<NodeId>> = m.configs.into_iter().map(|c| c.ids.into_iter().collect()).collect();
    let nodes: BTreeMap<NodeId, BasicNode> = m.nodes.into_iter().map(|(id, a)| (id, BasicNode::new(a))).collect();
    Membership::new(configs, nodes)
}

fn stored_membership_pb(m: &StoredMembership<NodeId, BasicNode>) -> pb::StoredMembership {
    pb::StoredMembership {
        log_id: m.log_id().map(log_id_pb),
        membership: Some(membership_pb(m.membership())),
    }
}

fn stored_membership(m: Option<pb::StoredMembership>) -> Result<StoredMembership<NodeId, BasicNode>, Malformed> {
    let m = need(m, "stored membership")?;
    let inner = need(m.membership, "membership")?;
    Ok(StoredMembership::new(m.log_id.map(log_id), membership(inner)))
}

impl IntoPb for Entry<TypeConfig> {
    type Pb = pb::Entry;

    fn into_pb(self) -> pb::Entry {
        let e = self;
        use pb::entry::Payload;
        let payload = match e.payload {
            EntryPayload::Blank => Payload::Blank(pb::Blank {}),
            EntryPayload::Normal(cmd) => Payload::Command(cmd.into_pb()),
            EntryPayload::Membership(m) => Payload::Membership(membership_pb(&m)),
        };
        pb::Entry {
            log_id: Some(log_id_pb(e.log_id)),
            payload: Some(payload),
        }
    }
}

impl FromPb for Entry<TypeConfig> {
    type Pb = pb::Entry;

    fn from_pb(e: pb::Entry) -> Result<Self, Malformed> {
        use pb::entry::Payload;
        let payload = match need(e.payload, "entry payload")? {
            Payload::Blank(_) => EntryPayload::Blank,
            Payload::Command(cmd) => EntryPayload::Normal(crate::MetaCmd::from_pb(cmd)?),
            Payload::Membership(m) => EntryPayload::Membership(membership(m)),
        };
        Ok(Self {
            log_id: log_id(need(e.log_id, "entry's log id")?),
            payload,
        })
    }
}

impl IntoPb for AppendEntriesRequest<TypeConfig> {
    type Pb = pb::AppendEntriesRequest;

    fn into_pb(self) -> pb::AppendEntriesRequest {
        let r = self;
        pb::AppendEntriesRequest {
            vote: Some(r.vote.into_pb()),
            prev_log_id: r.prev_log_id.map(log_id_pb),
            entries: r.entries.into_iter().map(IntoPb::into_pb).collect(),
            leader_commit: r.leader_commit.map(log_id_pb),
        }
    }
}

impl FromPb for AppendEntriesRequest<TypeConfig> {
    type Pb = pb::AppendEntriesRequest;

    fn from_pb(r: pb::AppendEntriesRequest) -> Result<Self, Malformed> {
        Ok(Self {
            vote: vote(r.vote)?,
            prev_log_id: r.prev_log_id.map(log_id),
            entries: r.entries.into_iter().map(FromPb::from_pb).collect::<Result<_, _>>()?,
            leader_commit: r.leader_commit.map(log_id),
        })
    }
}

impl IntoPb for VoteRequest<NodeId> {
    type Pb = pb::VoteRequest;

    fn into_pb(self) -> pb::VoteRequest {
        let r = self;
        pb::VoteRequest {
            vote: Some(r.vote.into_pb()),
            last_log_id: r.last_log_id.map(log_id_pb),
        }
    }
}

impl FromPb for VoteRequest<NodeId> {
    type Pb = pb::VoteRequest;

    fn from_pb(r: pb::VoteRequest) -> Result<Self, Malformed> {
        Ok(Self {
            vote: vote(r.vote)?,
            last_log_id: r.last_log_id.map(log_id),
        })
    }
}

impl IntoPb for InstallSnapshotRequest<TypeConfig> {
    type Pb = pb::InstallSnapshotRequest;

    fn into_pb(self) -> pb::InstallSnapshotRequest {
        let r = self;
        pb::InstallSnapshotRequest {
            vote: Some(r.vote.into_pb()),
            meta: Some(pb::SnapshotMeta {
                last_log_id: r.meta.last_log_id.map(log_id_pb),
                last_membership: Some(stored_membership_pb(&r.meta.last_membership)),
                snapshot_id: r.meta.snapshot_id,
            }),
            offset: r.offset,
            data: r.data,
            done: r.done,
        }
    }
}

impl FromPb for InstallSnapshotRequest<TypeConfig> {
    type Pb = pb::InstallSnapshotRequest;

    fn from_pb(r: pb::InstallSnapshotRequest) -> Result<Self, Malformed> {
        let meta = need(r.meta, "snapshot meta")?;
        Ok(Self {
            vote: vote(r.vote)?,
            meta: SnapshotMeta {
                last_log_id: meta.last_log_id.map(log_id),
                last_membership: stored_membership(meta.last_membership)?,
                snapshot_id: meta.snapshot_id,
            },
            offset: r.offset,
            data: r.data,
            done: r.done,
        })
    }
}

fn fatal_pb(f: &Fatal<NodeId>) -> pb::Fatal {
    use pb::fatal::Kind;
    let kind = match f {
        Fatal::Panicked => Kind::Panicked(pb::Blank {}),
        Fatal::Stopped => Kind::Stopped(pb::Blank {}),
        other => Kind::Storage(other.to_string()),
    };
    pb::Fatal { kind: Some(kind) }
}

fn fatal(f: pb::Fatal) -> Fatal<NodeId> {
    use pb::fatal::Kind;
    match f.kind {
        Some(Kind::Panicked(_)) => Fatal::Panicked,
        Some(Kind::Stopped(_)) => Fatal::Stopped,
        Some(Kind::Storage(why)) => {
            Fatal::StorageError(StorageIOError::new(ErrorSubject::Store, ErrorVerb::Write, AnyError::error(why)).into())
        }
        None => Fatal::Panicked,
    }
}

/// A reply: openraft's answer, or the peer's failure.
pub(crate) type Reply<T, E = Infallible> = Result<T, RaftError<NodeId, E>>;

/// The fatal error of a reply that has no API error.
fn fatal_of(e: &RaftError<NodeId>) -> pb::Fatal {
    match e {
        RaftError::Fatal(f) => fatal_pb(f),
        RaftError::APIError(never) => match *never {},
    }
}

impl IntoPb for Reply<AppendEntriesResponse<NodeId>> {
    type Pb = pb::AppendEntriesReply;

    fn into_pb(self) -> pb::AppendEntriesReply {
        let r = self;
        use pb::append_entries_reply::Result as R;
        let result = match r {
            Ok(AppendEntriesResponse::Success) => R::Success(pb::Blank {}),
            Ok(AppendEntriesResponse::PartialSuccess(m)) => R::PartialSuccess(pb::PartialSuccess {
                matching: m.map(log_id_pb),
            }),
            Ok(AppendEntriesResponse::Conflict) => R::Conflict(pb::Blank {}),
            Ok(AppendEntriesResponse::HigherVote(v)) => R::HigherVote(v.into_pb()),
            Err(e) => R::Fatal(fatal_of(&e)),
        };
        pb::AppendEntriesReply { result: Some(result) }
    }
}

impl FromPb for Reply<AppendEntriesResponse<NodeId>> {
    type Pb = pb::AppendEntriesReply;

    fn from_pb(r: pb::AppendEntriesReply) -> Result<Self, Malformed> {
        use pb::append_entries_reply::Result as R;
        Ok(match need(r.result, "append reply")? {
            R::Success(_) => Ok(AppendEntriesResponse::Success),
            R::PartialSuccess(p) => Ok(AppendEntriesResponse::PartialSuccess(p.matching.map(log_id))),
            R::Conflict(_) => Ok(AppendEntriesResponse::Conflict),
            R::HigherVote(v) => Ok(AppendEntriesResponse::HigherVote(vote(Some(v))?)),
            R::Fatal(f) => Err(RaftError::Fatal(fatal(f))),
        })
    }
}

impl IntoPb for Reply<VoteResponse<NodeId>> {
    type Pb = pb::VoteReply;

    fn into_pb(self) -> pb::VoteReply {
        let r = self;
        use pb::vote_reply::Result as R;
        let result = match r {
            Ok(v) => R::Given(pb::VoteGiven {
                vote: Some(v.vote.into_pb()),
                vote_granted: v.vote_granted,
                last_log_id: v.last_log_id.map(log_id_pb),
            }),
            Err(e) => R::Fatal(fatal_of(&e)),
        };
        pb::VoteReply { result: Some(result) }
    }
}

impl FromPb for Reply<VoteResponse<NodeId>> {
    type Pb = pb::VoteReply;

    fn from_pb(r: pb::VoteReply) -> Result<Self, Malformed> {
        use pb::vote_reply::Result as R;
        Ok(match need(r.result, "vote reply")? {
            R::Given(g) => Ok(VoteResponse {
                vote: vote(g.vote)?,
                vote_granted: g.vote_granted,
                last_log_id: g.last_log_id.map(log_id),
            }),
            R::Fatal(f) => Err(RaftError::Fatal(fatal(f))),
        })
    }
}

fn segment_pb(s: SnapshotSegmentId) -> pb::SnapshotSegment {
    pb::SnapshotSegment {
        id: s.id,
        offset: s.offset,
    }
}

fn segment(s: Option<pb::SnapshotSegment>) -> Result<SnapshotSegmentId, Malformed> {
    let s = need(s, "snapshot segment")?;
    Ok(SnapshotSegmentId {
        id: s.id,
        offset: s.offset,
    })
}

impl IntoPb for Reply<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
    type Pb = pb::InstallSnapshotReply;

    fn into_pb(self) -> pb::InstallSnapshotReply {
        let r = self;
        use pb::install_snapshot_reply::Result as R;
        let result = match r {
            Ok(resp) => R::Vote(resp.vote.into_pb()),
            Err(RaftError::Fatal(f)) => R::Fatal(fatal_pb(&f)),
            Err(RaftError::APIError(InstallSnapshotError::SnapshotMismatch(m))) => R::Mismatch(pb::SnapshotMismatch {
                expect: Some(segment_pb(m.expect)),
                got: Some(segment_pb(m.got)),
            }),
        };
        pb::InstallSnapshotReply { result: Some(result) }
    }
}

impl FromPb for Reply<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
    type Pb = pb::InstallSnapshotReply;

    fn from_pb(r: pb::InstallSnapshotReply) -> Result<Self, Malformed> {
        use pb::install_snapshot_reply::Result as R;
        Ok(match need(r.result, "snapshot reply")? {
            R::Vote(v) => Ok(InstallSnapshotResponse { vote: vote(Some(v))? }),
            R::Fatal(f) => Err(RaftError::Fatal(fatal(f))),
            R::Mismatch(m) => Err(RaftError::APIError(InstallSnapshotError::SnapshotMismatch(
                SnapshotMismatch {
                    expect: segment(m.expect)?,
                    got: segment(m.got)?,
                },
            ))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MetaCmd;

    fn json<T: serde::Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap_or_default()
    }

    fn id(term: u64, index: u64) -> LogId {
        // A leader's node id that is not 0, so that losing it in a message shows.
        LogId::new(CommittedLeaderId::new(term, 2), index)
    }

    fn two_nodes() -> Membership<NodeId, BasicNode> {
        let nodes = BTreeMap::from([(1, BasicNode::new("a:1")), (2, BasicNode::new("b:2"))]);
        Membership::new(vec![BTreeSet::from([1]), BTreeSet::from([1, 2])], nodes)
    }

    #[test]
    fn an_append_with_every_kind_of_entry_survives_its_message() {
        let entry = |index, payload| Entry::<TypeConfig> {
            log_id: id(3, index),
            payload,
        };
        let rpc = AppendEntriesRequest::<TypeConfig> {
            vote: Vote::new_committed(3, 1),
            prev_log_id: Some(id(2, 9)),
            entries: vec![
                entry(10, EntryPayload::Blank),
                entry(11, EntryPayload::Normal(MetaCmd::RemoveNode { id: 2 })),
                entry(12, EntryPayload::Membership(two_nodes())),
            ],
            leader_commit: None,
        };
        let back = AppendEntriesRequest::<TypeConfig>::from_pb(rpc.clone().into_pb()).unwrap();
        assert_eq!(json(&back), json(&rpc));
    }

    #[test]
    fn a_snapshot_chunk_travels_as_bytes() {
        let rpc = InstallSnapshotRequest::<TypeConfig> {
            vote: Vote::new(4, 2),
            meta: SnapshotMeta {
                last_log_id: Some(id(4, 40)),
                last_membership: StoredMembership::new(Some(id(4, 30)), two_nodes()),
                snapshot_id: "4-40-3".into(),
            },
            offset: 1 << 20,
            data: vec![0, 255, 7],
            done: true,
        };
        let message = rpc.clone().into_pb();
        assert_eq!(message.data, [0, 255, 7]);
        let back = InstallSnapshotRequest::<TypeConfig>::from_pb(message).unwrap();
        assert_eq!(json(&back), json(&rpc));
    }

    /// Checks that what `make` makes comes back from its message as it was.
    fn survives<T>(make: impl Fn() -> T)
    where
        T: IntoPb + FromPb<Pb = <T as IntoPb>::Pb> + serde::Serialize,
    {
        let back = T::from_pb(make().into_pb()).unwrap();
        assert_eq!(json(&back), json(&make()));
    }

    #[test]
    fn replies_and_a_mismatch_survive_their_messages() {
        survives(|| -> Reply<AppendEntriesResponse<NodeId>> { Ok(AppendEntriesResponse::HigherVote(Vote::new(5, 3))) });
        survives(|| -> Reply<AppendEntriesResponse<NodeId>> {
            Ok(AppendEntriesResponse::PartialSuccess(Some(id(1, 2))))
        });
        survives(|| -> Reply<VoteResponse<NodeId>> { Err(RaftError::Fatal(Fatal::Stopped)) });
        let segment = |offset| SnapshotSegmentId { id: "s".into(), offset };
        survives(|| -> Reply<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
            Err(RaftError::APIError(InstallSnapshotError::SnapshotMismatch(
                SnapshotMismatch {
                    expect: segment(0),
                    got: segment(9),
                },
            )))
        });
        assert!(Reply::<VoteResponse<NodeId>>::from_pb(pb::VoteReply { result: None }).is_err());
    }

    #[test]
    fn a_vote_keeps_the_leader_of_the_last_log_id() {
        // openraft orders log ids by (term, leader's node id, index): a candidate whose log
        // is the voter's must not look shorter once its request is read.
        let last = Some(LogId::new(CommittedLeaderId::new(1, 1), 14));
        let back = VoteRequest::<NodeId>::from_pb(VoteRequest::new(Vote::new(7, 2), last).into_pb()).unwrap();
        assert_eq!(back.last_log_id, last);
        survives(|| -> Reply<VoteResponse<NodeId>> { Ok(VoteResponse::new(Vote::new(7, 1), last, false)) });
    }
}
