//! [`ClusterStatus`]: the cluster as `arustio cluster status` shows it, asked of the
//! leader (with each member's lag) or read from this node's Raft metrics.

use std::time::Duration;

use openraft::ServerState;
use serde::{Deserialize, Serialize};

use crate::cluster::{ClusterNode, Leader, LeaderOp, LeaderReply};
use crate::types::NodeId;

/// One member of the cluster, as `cluster status` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    /// The node id.
    pub id: NodeId,
    /// Its address (HOST:PORT).
    pub addr: String,
    /// `leader`, `voter` or `learner`.
    pub role: String,
    /// Entries behind the leader's log (known on the leader).
    pub lag: Option<u64>,
}

/// The cluster as one node (the leader, when reachable) sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// The node that answered.
    pub node: NodeId,
    /// The leader, when one is known.
    pub leader: Option<NodeId>,
    /// The current term.
    pub term: u64,
    /// The index of the last log entry.
    pub last_log_index: Option<u64>,
    /// The index of the last applied entry.
    pub last_applied: Option<u64>,
    /// The index the newest snapshot covers.
    pub snapshot: Option<u64>,
    /// Every member.
    pub members: Vec<Member>,
}

impl ClusterNode {
    /// The cluster as the leader sees it (with each node's lag), or as this node does when
    /// no leader answers.
    pub async fn status(&self) -> ClusterStatus {
        let Leader::At(addr) = self.leader() else {
            return self.local_status();
        };
        // One quick try: a status must answer even when the leader is gone.
        let asked = tokio::time::timeout(Duration::from_secs(1), self.forward(&addr, &LeaderOp::Status));
        match asked.await {
            Ok(Ok(LeaderReply::Status(s))) => s,
            _ => self.local_status(),
        }
    }

    /// The cluster as this node sees it.
    pub fn local_status(&self) -> ClusterStatus {
        let m = self.raft.metrics().borrow().clone();
        let last_log = m.last_log_index;
        let members = m
            .membership_config
            .membership()
            .nodes()
            .map(|(id, node)| {
                let voter = m.membership_config.membership().voter_ids().any(|v| v == *id);
                let role = if Some(*id) == m.current_leader {
                    "leader"
                } else if voter {
                    "voter"
                } else {
                    "learner"
                };
                let lag = m.replication.as_ref().and_then(|r| {
                    let matched = r.get(id)?.as_ref().map_or(0, |l| l.index);
                    Some(last_log.unwrap_or(0).saturating_sub(matched))
                });
                Member {
                    id: *id,
                    addr: node.addr.clone(),
                    role: role.into(),
                    lag: if m.state == ServerState::Leader { lag } else { None },
                }
            })
            .collect();
        ClusterStatus {
            node: self.id,
            leader: m.current_leader,
            term: m.current_term,
            last_log_index: m.last_log_index,
            last_applied: m.last_applied.map(|l| l.index),
            snapshot: m.snapshot.map(|l| l.index),
            members,
        }
    }
}
