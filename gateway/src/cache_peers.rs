//! The cache's peer transport over gRPC: `GetBlock` and `Invalidate` to other nodes'
//! admin port, signed with the cluster secret; and the service that answers them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arustio_cache::{BlockRequest, CacheError, CacheNode, ObjectId, PeerTransport};
use arustio_namespace::{Namespace, NsError};
use arustio_proto::auth::{Key, Signed};
use arustio_proto::cache::peer_client::PeerClient;
use arustio_proto::cache::peer_server::Peer;
use arustio_proto::cache::{
    self as pb, BlockChunk, InvalidateRequest, InvalidateResponse, LookupRequest, LookupResponse, PutBlockRequest,
    PutBlockResponse,
};
use arustio_proto::dial::Dial;
use bytes::{Bytes, BytesMut};
use futures::stream::{BoxStream, StreamExt};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

/// The largest message of a block stream.
const CHUNK: usize = 1024 * 1024;
/// The largest block (`PutBlock` carries one whole), with room for its names.
pub(crate) const MAX_BLOCK: usize = (64 << 20) + (1 << 20);

type Client = PeerClient<Signed<Channel>>;

/// Reaches other cache nodes, one lazily connected channel each.
pub(crate) struct GrpcPeers {
    key: Key,
    dial: Dial,
    clients: Mutex<HashMap<String, Client>>,
}

impl GrpcPeers {
    /// Signs every call with the cluster `key`; dials as `dial` says.
    pub(crate) fn new(key: Key, dial: Dial) -> Self {
        Self {
            key,
            dial,
            clients: Mutex::default(),
        }
    }

    fn client(&self, node: &CacheNode) -> Result<Client, CacheError> {
        let mut map = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = map.get(&node.addr) {
            return Ok(c.clone());
        }
        let endpoint = self
            .dial
            .endpoint(&node.addr)
            .map_err(|e| CacheError::Peer {
                node: node.id,
                reason: format!("bad address {:?}: {e}", node.addr),
            })?
            .connect_timeout(Duration::from_secs(1))
            .tcp_nodelay(true);
        let c = PeerClient::new(Signed::new(endpoint.connect_lazy(), self.key.clone()))
            .max_decoding_message_size(2 * CHUNK)
            .max_encoding_message_size(MAX_BLOCK);
        map.insert(node.addr.clone(), c.clone());
        Ok(c)
    }
}

fn to_pb(req: &BlockRequest) -> pb::BlockRequest {
    pb::BlockRequest {
        locator: req.locator.clone(),
        store: req.object.store.to_string(),
        key: req.object.key.clone(),
        version: req.object.version.clone(),
        size: req.object.size,
        block_size: req.block_size,
        index: req.index,
    }
}

fn from_pb(r: pb::BlockRequest) -> BlockRequest {
    BlockRequest {
        locator: r.locator,
        object: ObjectId {
            store: r.store.into(),
            key: r.key,
            version: r.version,
            size: r.size,
        },
        block_size: r.block_size,
        index: r.index,
    }
}

fn peer_err(node: &CacheNode, s: &Status) -> CacheError {
    CacheError::Peer {
        node: node.id,
        reason: format!("{:?}: {}", s.code(), s.message()),
    }
}

#[async_trait::async_trait]
impl PeerTransport for GrpcPeers {
    async fn get_block(&self, node: &CacheNode, req: &BlockRequest) -> Result<Bytes, CacheError> {
        let mut c = self.client(node)?;
        let msg = to_pb(req);
        let mut stream = c.get_block(msg).await.map_err(|s| peer_err(node, &s))?.into_inner();
        let want = req
            .block_size
            .min(req.object.size.saturating_sub(req.index.saturating_mul(req.block_size)));
        let mut buf = BytesMut::with_capacity(usize::try_from(want).unwrap_or(0));
        while let Some(chunk) = stream.message().await.map_err(|s| peer_err(node, &s))? {
            buf.extend_from_slice(&chunk.data);
        }
        Ok(buf.freeze())
    }

    async fn invalidate(&self, node: &CacheNode, store: &str, key: &str, blocks: bool) -> Result<(), CacheError> {
        let mut c = self.client(node)?;
        let msg = InvalidateRequest {
            store: store.to_owned(),
            key: key.to_owned(),
            blocks,
        };
        c.invalidate(msg).await.map_err(|s| peer_err(node, &s))?;
        Ok(())
    }

    async fn put_block(&self, node: &CacheNode, req: &BlockRequest, data: Bytes) -> Result<(), CacheError> {
        let mut c = self.client(node)?;
        let msg = PutBlockRequest {
            block: Some(to_pb(req)),
            data: data.to_vec(),
        };
        c.put_block(msg).await.map_err(|s| peer_err(node, &s))?;
        Ok(())
    }

    async fn lookup(&self, node: &CacheNode, store: &str, key: &str) -> Result<Option<(String, Vec<u8>)>, CacheError> {
        let mut c = self.client(node)?;
        let msg = LookupRequest {
            store: store.to_owned(),
            key: key.to_owned(),
        };
        let r = c.lookup(msg).await.map_err(|s| peer_err(node, &s))?.into_inner();
        Ok(r.found.then_some((r.version, r.object_info)))
    }
}

/// Answers other nodes' block fetches and invalidations.
pub(crate) struct PeerService {
    pub ns: Arc<Namespace>,
}

#[tonic::async_trait]
impl Peer for PeerService {
    type GetBlockStream = BoxStream<'static, Result<BlockChunk, Status>>;

    async fn get_block(&self, req: Request<pb::BlockRequest>) -> Result<Response<Self::GetBlockStream>, Status> {
        let req = from_pb(req.into_inner());
        let block = self.ns.serve_block(&req).await.map_err(|e| match e {
            NsError::Changed { .. } => Status::failed_precondition(e.to_string()),
            NsError::NoMount { .. } => Status::not_found(e.to_string()),
            other => Status::unavailable(other.to_string()),
        })?;
        let chunks: Vec<Result<BlockChunk, Status>> = (0..block.len())
            .step_by(CHUNK)
            .map(|at| {
                Ok(BlockChunk {
                    data: block.slice(at..(at + CHUNK).min(block.len())).to_vec(),
                })
            })
            .collect();
        Ok(Response::new(futures::stream::iter(chunks).boxed()))
    }

    async fn invalidate(&self, req: Request<InvalidateRequest>) -> Result<Response<InvalidateResponse>, Status> {
        let r = req.into_inner();
        self.ns.drop_cached(&r.store, &r.key, r.blocks);
        Ok(Response::new(InvalidateResponse {}))
    }

    async fn put_block(&self, req: Request<PutBlockRequest>) -> Result<Response<PutBlockResponse>, Status> {
        let r = req.into_inner();
        let block = r.block.ok_or_else(|| Status::invalid_argument("no block named"))?;
        self.ns.cache().accept_block(&from_pb(block), Bytes::from(r.data));
        Ok(Response::new(PutBlockResponse {}))
    }

    async fn lookup(&self, req: Request<LookupRequest>) -> Result<Response<LookupResponse>, Status> {
        let r = req.into_inner();
        let reply = match self.ns.last_seen(&r.store, &r.key) {
            Some((version, object_info)) => LookupResponse {
                found: true,
                version,
                object_info,
            },
            None => LookupResponse::default(),
        };
        Ok(Response::new(reply))
    }
}
