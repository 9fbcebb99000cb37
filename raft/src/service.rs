//! The Raft gRPC service: what peers call on this node.

use std::sync::Arc;

use arustio_proto::raft as pb;
use arustio_proto::raft::raft_server::Raft as RaftRpc;
use tonic::{Request, Response, Status};

use crate::cluster::{ClusterNode, LeaderOp};
use crate::pb_impl::{FromPb, IntoPb, Malformed};

/// Serves peers' Raft RPCs (authenticated by the server's layer with the cluster secret).
pub struct RaftService {
    node: Arc<ClusterNode>,
}

impl RaftService {
    /// Serves `node`'s Raft.
    pub fn new(node: Arc<ClusterNode>) -> Self {
        Self { node }
    }
}

fn bad(e: Malformed) -> Status {
    Status::invalid_argument(e.to_string())
}

#[tonic::async_trait]
impl RaftRpc for RaftService {
    async fn append_entries(
        &self,
        req: Request<pb::AppendEntriesRequest>,
    ) -> Result<Response<pb::AppendEntriesReply>, Status> {
        let rpc = FromPb::from_pb(req.into_inner()).map_err(bad)?;
        Ok(Response::new(self.node.raft().append_entries(rpc).await.into_pb()))
    }

    async fn vote(&self, req: Request<pb::VoteRequest>) -> Result<Response<pb::VoteReply>, Status> {
        let rpc = FromPb::from_pb(req.into_inner()).map_err(bad)?;
        Ok(Response::new(self.node.raft().vote(rpc).await.into_pb()))
    }

    async fn install_snapshot(
        &self,
        req: Request<pb::InstallSnapshotRequest>,
    ) -> Result<Response<pb::InstallSnapshotReply>, Status> {
        let rpc = FromPb::from_pb(req.into_inner()).map_err(bad)?;
        Ok(Response::new(self.node.raft().install_snapshot(rpc).await.into_pb()))
    }

    async fn leader(&self, req: Request<pb::LeaderRequest>) -> Result<Response<pb::LeaderReply>, Status> {
        let op = LeaderOp::from_pb(req.into_inner()).map_err(bad)?;
        Ok(Response::new(self.node.leader_op(op).await.into_pb()))
    }
}
