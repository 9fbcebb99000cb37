//! The admin API's cluster calls: status, and adding and removing nodes.

use arustio_proto::admin::{AddNodeRequest, ClusterJson, RemoveNodeRequest};
use arustio_raft::{ClusterNode, ClusterStatus, LeaderOp};
use tonic::{Response, Status};

use super::cluster_status;

fn json(status: &ClusterStatus) -> Result<Response<ClusterJson>, Status> {
    let json = serde_json::to_string(status).map_err(|e| Status::internal(e.to_string()))?;
    Ok(Response::new(ClusterJson { json }))
}

async fn answer(node: &ClusterNode) -> Result<Response<ClusterJson>, Status> {
    json(&node.status().await)
}

pub async fn status(node: &ClusterNode, local: bool) -> Result<Response<ClusterJson>, Status> {
    if local {
        return json(&node.local_status());
    }
    answer(node).await
}

pub async fn add_node(node: &ClusterNode, r: AddNodeRequest) -> Result<Response<ClusterJson>, Status> {
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

pub async fn remove_node(node: &ClusterNode, r: RemoveNodeRequest) -> Result<Response<ClusterJson>, Status> {
    node.leader_op(LeaderOp::RemoveNode { id: r.id })
        .await
        .map_err(cluster_status)?;
    answer(node).await
}
