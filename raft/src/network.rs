//! The Raft network: peer RPCs over the nodes' gRPC port, signed with the cluster secret,
//! with openraft's messages as proto messages (`pb_impl`).
// openraft's RaftNetwork returns its RPCError, which is large; the helpers return it too.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use arustio_proto::auth::{Key, Signed};
use arustio_proto::dial::Dial;
use arustio_proto::raft::raft_client::RaftClient;
use openraft::BasicNode;
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use tonic::transport::Channel;

use crate::pb_impl::{FromPb, IntoPb, Malformed, Reply};
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

fn network_error<E: std::error::Error>(e: impl std::fmt::Display) -> RPCError<NodeId, BasicNode, E> {
    RPCError::Network(NetworkError::new(&std::io::Error::other(e.to_string())))
}

fn status_error<E: std::error::Error>(status: tonic::Status) -> RPCError<NodeId, BasicNode, E> {
    match status.code() {
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
            RPCError::Unreachable(Unreachable::new(&status))
        }
        _ => RPCError::Network(NetworkError::new(&status)),
    }
}

impl Network {
    fn client<E: std::error::Error>(&mut self) -> RpcResult<&mut PeerClient, E> {
        self.client
            .as_mut()
            .map_err(|e| RPCError::Unreachable(Unreachable::new(&std::io::Error::other(e.clone()))))
    }

    /// The peer's answer, read from its message: openraft's reply or the peer's error.
    fn answer<T, E>(&self, reply: Result<Reply<T, E>, Malformed>) -> RpcResult<T, RaftError<NodeId, E>>
    where
        E: std::error::Error,
    {
        reply
            .map_err(network_error)?
            .map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

fn request<T>(message: T, option: &RPCOption) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(option.hard_ttl());
    request
}

impl RaftNetwork<TypeConfig> for Network {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>, RaftError<NodeId>> {
        let reply = self.client()?.append_entries(request(rpc.into_pb(), &option)).await;
        self.answer(Reply::from_pb(reply.map_err(status_error)?.into_inner()))
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>> {
        let reply = self.client()?.install_snapshot(request(rpc.into_pb(), &option)).await;
        self.answer(Reply::from_pb(reply.map_err(status_error)?.into_inner()))
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>, RaftError<NodeId>> {
        let reply = self.client()?.vote(request(rpc.into_pb(), &option)).await;
        self.answer(Reply::from_pb(reply.map_err(status_error)?.into_inner()))
    }
}
