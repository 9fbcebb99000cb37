//! The Raft network: peer RPCs over the nodes' gRPC port, signed with the cluster secret,
//! with openraft's messages as JSON.

use std::time::Duration;

use arustio_proto::auth::{Key, Signed};
use arustio_proto::dial::Dial;
use arustio_proto::raft::Json;
use arustio_proto::raft::raft_client::RaftClient;
use openraft::BasicNode;
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::transport::Channel;

use crate::types::{NodeId, TypeConfig};

/// A client of one peer's Raft service.
pub(crate) type PeerClient = RaftClient<Signed<Channel>>;

/// Connects (lazily) to the peer at `addr` (`host:port`) as `dial` says, signing calls
/// with `key`.
pub(crate) fn peer_client(addr: &str, key: &Key, dial: &Dial, timeout: Duration) -> Result<PeerClient, String> {
    let endpoint = dial
        .endpoint(addr)
        .map_err(|e| format!("bad peer address {addr:?}: {e}"))?
        .connect_timeout(Duration::from_secs(1))
        .timeout(timeout)
        .tcp_nodelay(true);
    Ok(RaftClient::new(Signed::new(endpoint.connect_lazy(), key.clone())).max_decoding_message_size(256 << 20))
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> Result<Json, String> {
    serde_json::to_vec(v)
        .map(|data| Json { data })
        .map_err(|e| e.to_string())
}

pub(crate) fn from_json<T: DeserializeOwned>(j: &Json) -> Result<T, String> {
    serde_json::from_slice(&j.data).map_err(|e| e.to_string())
}

/// Makes a [`Network`] per peer.
#[derive(Clone)]
pub(crate) struct NetworkFactory {
    key: Key,
    dial: Dial,
}

impl NetworkFactory {
    pub(crate) fn new(key: Key, dial: Dial) -> Self {
        Self { key, dial }
    }
}

/// The connection to one peer.
pub(crate) struct Network {
    target: NodeId,
    client: Result<PeerClient, String>,
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = Network;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Network {
        Network {
            target,
            client: peer_client(&node.addr, &self.key, &self.dial, Duration::from_secs(10)),
        }
    }
}

type RpcResult<T, E> = Result<T, RPCError<NodeId, BasicNode, E>>;

impl Network {
    /// Sends one RPC: `Result<Resp, E>` as JSON back.
    async fn call<Req, Resp, E>(&mut self, method: Method, req: &Req, option: &RPCOption) -> RpcResult<Resp, E>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let client = self
            .client
            .as_mut()
            .map_err(|e| RPCError::Unreachable(Unreachable::new(&std::io::Error::other(e.clone()))))?;
        let body = to_json(req).map_err(|e| RPCError::Network(NetworkError::new(&std::io::Error::other(e))))?;
        let mut request = tonic::Request::new(body);
        request.set_timeout(option.hard_ttl());
        let reply = match method {
            Method::Append => client.append_entries(request).await,
            Method::Vote => client.vote(request).await,
            Method::Snapshot => client.install_snapshot(request).await,
        };
        let reply = reply.map_err(|status| match status.code() {
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
                RPCError::Unreachable(Unreachable::new(&status))
            }
            _ => RPCError::Network(NetworkError::new(&status)),
        })?;
        let result: Result<Resp, E> =
            from_json(reply.get_ref()).map_err(|e| RPCError::Network(NetworkError::new(&std::io::Error::other(e))))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

enum Method {
    Append,
    Vote,
    Snapshot,
}

impl RaftNetwork<TypeConfig> for Network {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>, RaftError<NodeId>> {
        self.call(Method::Append, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>> {
        self.call(Method::Snapshot, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>, RaftError<NodeId>> {
        self.call(Method::Vote, &rpc, &option).await
    }
}
