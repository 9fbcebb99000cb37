//! The Raft gRPC service: what peers call on this node.

use std::sync::Arc;

use arustio_proto::raft::Json;
use arustio_proto::raft::raft_server::Raft as RaftRpc;
use tonic::{Request, Response, Status};

use crate::cluster::{ClusterNode, LeaderOp};
use crate::network::{from_json, to_json};

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

fn bad(e: String) -> Status {
    Status::invalid_argument(e)
}

fn reply<T: serde::Serialize>(v: &T) -> Result<Response<Json>, Status> {
    to_json(v).map(Response::new).map_err(Status::internal)
}

#[tonic::async_trait]
impl RaftRpc for RaftService {
    async fn append_entries(&self, req: Request<Json>) -> Result<Response<Json>, Status> {
        let rpc = from_json(req.get_ref()).map_err(bad)?;
        reply(&self.node.raft().append_entries(rpc).await)
    }

    async fn vote(&self, req: Request<Json>) -> Result<Response<Json>, Status> {
        let rpc = from_json(req.get_ref()).map_err(bad)?;
        reply(&self.node.raft().vote(rpc).await)
    }

    async fn install_snapshot(&self, req: Request<Json>) -> Result<Response<Json>, Status> {
        let rpc = from_json(req.get_ref()).map_err(bad)?;
        reply(&self.node.raft().install_snapshot(rpc).await)
    }

    async fn leader(&self, req: Request<Json>) -> Result<Response<Json>, Status> {
        let op: LeaderOp = from_json(req.get_ref()).map_err(bad)?;
        reply(&self.node.leader_op(op).await)
    }
}
