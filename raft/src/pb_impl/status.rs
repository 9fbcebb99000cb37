//! The cluster status to and from its admin API message (`ClusterStatusReply`).

use arustio_proto::admin as pb;

use crate::status::{ClusterStatus, Member};

impl From<Member> for pb::ClusterMember {
    fn from(m: Member) -> Self {
        Self {
            id: m.id,
            addr: m.addr,
            role: m.role,
            lag: m.lag,
        }
    }
}

impl From<pb::ClusterMember> for Member {
    fn from(m: pb::ClusterMember) -> Self {
        Self {
            id: m.id,
            addr: m.addr,
            role: m.role,
            lag: m.lag,
        }
    }
}

impl From<ClusterStatus> for pb::ClusterStatusReply {
    fn from(s: ClusterStatus) -> Self {
        Self {
            node: s.node,
            leader: s.leader,
            term: s.term,
            last_log_index: s.last_log_index,
            last_applied: s.last_applied,
            snapshot: s.snapshot,
            members: s.members.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<pb::ClusterStatusReply> for ClusterStatus {
    fn from(s: pb::ClusterStatusReply) -> Self {
        Self {
            node: s.node,
            leader: s.leader,
            term: s.term,
            last_log_index: s.last_log_index,
            last_applied: s.last_applied,
            snapshot: s.snapshot,
            members: s.members.into_iter().map(Into::into).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_survives_its_message() {
        let status = ClusterStatus {
            node: 2,
            leader: Some(1),
            term: 7,
            last_log_index: Some(40),
            last_applied: None,
            snapshot: Some(30),
            members: vec![Member {
                id: 1,
                addr: "127.0.0.1:50051".into(),
                role: "leader".into(),
                lag: None,
            }],
        };
        let json = |s: &ClusterStatus| serde_json::to_string(s).unwrap_or_default();
        let back = ClusterStatus::from(pb::ClusterStatusReply::from(status.clone()));
        assert_eq!(json(&back), json(&status));
    }
}
