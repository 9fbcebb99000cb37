//! The admin API's cluster calls: status, and adding and removing nodes.

use arustio_proto::admin::{AddNodeRequest, ClusterStatusReply, RemoveNodeRequest};
use arustio_raft::{ClusterNode, ClusterStatus, LeaderOp};
use tonic::{Response, Status};

use super::cluster_status;

fn reply(status: ClusterStatus) -> Result<Response<ClusterStatusReply>, Status> {
    Ok(Response::new(status.into()))
}

async fn answer(node: &ClusterNode) -> Result<Response<ClusterStatusReply>, Status> {
    reply(node.status().await)
}

pub(super) async fn status(node: &ClusterNode, local: bool) -> Result<Response<ClusterStatusReply>, Status> {
    if local {
        return reply(node.local_status());
    }
    answer(node).await
}

pub(super) async fn add_node(node: &ClusterNode, r: AddNodeRequest) -> Result<Response<ClusterStatusReply>, Status> {
    if r.addr.is_empty() || r.addr.contains("://") {
        return Err(Status::invalid_argument(format!(
            "node address {:?}: give HOST:PORT of its gRPC address",
            r.addr
        )));
    }
    let op = LeaderOp::AddNode {
        id: r.id,
        addr: r.addr,
        voter: r.voter,
    };
    node.leader_op(op).await.map_err(cluster_status)?;
    answer(node).await
}

pub(super) async fn remove_node(
    node: &ClusterNode,
    r: RemoveNodeRequest,
) -> Result<Response<ClusterStatusReply>, Status> {
    node.leader_op(LeaderOp::RemoveNode { id: r.id })
        .await
        .map_err(cluster_status)?;
    answer(node).await
}
