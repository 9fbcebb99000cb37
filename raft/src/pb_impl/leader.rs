//! What a node forwards to the leader ([`LeaderOp`]) and the leader's answer, to and from
//! their messages (`LeaderRequest`, `LeaderReply`).

use arustio_proto::raft as pb;
use pb::leader_reply::Result as R;
use pb::leader_request::Op;

use super::{FromPb, IntoPb, Malformed, need};
use crate::MetaCmd;
use crate::cluster::{ClusterError, LeaderOp, LeaderReply};
use crate::types::Refusal;

impl IntoPb for LeaderOp {
    type Pb = pb::LeaderRequest;

    fn into_pb(self) -> pb::LeaderRequest {
        let op = match self {
            LeaderOp::Write(cmd) => Op::Write(cmd.into_pb()),
            LeaderOp::AddNode { id, addr, voter } => Op::AddNode(pb::AddNode { id, addr, voter }),
            LeaderOp::RemoveNode { id } => Op::RemoveNode(id),
            LeaderOp::ReadIndex => Op::ReadIndex(pb::Blank {}),
            LeaderOp::Status => Op::Status(pb::Blank {}),
        };
        pb::LeaderRequest { op: Some(op) }
    }
}

impl FromPb for LeaderOp {
    type Pb = pb::LeaderRequest;

    fn from_pb(m: pb::LeaderRequest) -> Result<Self, Malformed> {
        Ok(match need(m.op, "leader request")? {
            Op::Write(cmd) => LeaderOp::Write(MetaCmd::from_pb(cmd)?),
            Op::AddNode(n) => LeaderOp::AddNode {
                id: n.id,
                addr: n.addr,
                voter: n.voter,
            },
            Op::RemoveNode(id) => LeaderOp::RemoveNode { id },
            Op::ReadIndex(_) => LeaderOp::ReadIndex,
            Op::Status(_) => LeaderOp::Status,
        })
    }
}

fn failure(e: ClusterError) -> pb::ClusterFailure {
    use pb::cluster_failure::Kind;
    let kind = match e {
        ClusterError::NoQuorum(why) => Kind::NoQuorum(why),
        ClusterError::Refused(Refusal::AlreadyMounted { path }) => Kind::AlreadyMounted(path),
        ClusterError::Refused(Refusal::NotMounted { path }) => Kind::NotMounted(path),
        ClusterError::Refused(Refusal::Users(why)) => Kind::Users(why),
        ClusterError::Unreachable { addr, reason } => Kind::Unreachable(pb::Unreachable { addr, reason }),
        ClusterError::Invalid(why) => Kind::Invalid(why),
        ClusterError::Raft(why) => Kind::Raft(why),
    };
    pb::ClusterFailure { kind: Some(kind) }
}

fn cluster_error(f: pb::ClusterFailure) -> Result<ClusterError, Malformed> {
    use pb::cluster_failure::Kind;
    Ok(match need(f.kind, "cluster failure")? {
        Kind::NoQuorum(why) => ClusterError::NoQuorum(why),
        Kind::AlreadyMounted(path) => ClusterError::Refused(Refusal::AlreadyMounted { path }),
        Kind::NotMounted(path) => ClusterError::Refused(Refusal::NotMounted { path }),
        Kind::Users(why) => ClusterError::Refused(Refusal::Users(why)),
        Kind::Unreachable(u) => ClusterError::Unreachable {
            addr: u.addr,
            reason: u.reason,
        },
        Kind::Invalid(why) => ClusterError::Invalid(why),
        Kind::Raft(why) => ClusterError::Raft(why),
    })
}

impl IntoPb for Result<LeaderReply, ClusterError> {
    type Pb = pb::LeaderReply;

    fn into_pb(self) -> pb::LeaderReply {
        let result = match self {
            Ok(LeaderReply::Done) => R::Done(pb::Blank {}),
            Ok(LeaderReply::ReadIndex(index)) => R::ReadIndex(pb::ReadIndex { index }),
            Ok(LeaderReply::Status(s)) => R::Status(s.into()),
            Err(e) => R::Failure(failure(e)),
        };
        pb::LeaderReply { result: Some(result) }
    }
}

impl FromPb for Result<LeaderReply, ClusterError> {
    type Pb = pb::LeaderReply;

    fn from_pb(m: pb::LeaderReply) -> Result<Self, Malformed> {
        Ok(match need(m.result, "leader reply")? {
            R::Done(_) => Ok(LeaderReply::Done),
            R::ReadIndex(r) => Ok(LeaderReply::ReadIndex(r.index)),
            R::Status(s) => Ok(LeaderReply::Status(s.into())),
            R::Failure(f) => Err(cluster_error(f)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_survives_its_message() {
        let errors = [
            ClusterError::NoQuorum("q".into()),
            ClusterError::Refused(Refusal::AlreadyMounted { path: "a".into() }),
            ClusterError::Refused(Refusal::NotMounted { path: "b".into() }),
            ClusterError::Refused(Refusal::Users("no user ann".into())),
            ClusterError::Unreachable {
                addr: "127.0.0.1:1".into(),
                reason: "r".into(),
            },
            ClusterError::Invalid("i".into()),
            ClusterError::Raft("x".into()),
        ];
        for e in errors {
            let want = e.to_string();
            let back = Result::<LeaderReply, ClusterError>::from_pb(Err(e).into_pb()).unwrap();
            assert_eq!(back.err().map(|e| e.to_string()), Some(want));
        }
        let back = Result::<LeaderReply, ClusterError>::from_pb(Ok(LeaderReply::ReadIndex(Some(7))).into_pb());
        assert!(matches!(back, Ok(Ok(LeaderReply::ReadIndex(Some(7))))));
    }
}
