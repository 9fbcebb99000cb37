//! The gRPC admin API: mounts and file operations on the namespace, and the cluster.

mod cache;
mod cluster;
mod users;

use std::net::SocketAddr;
use std::sync::Arc;

use arustio_backends::{MountOptions, MountUri};
use arustio_namespace::{FsEntry, MountEntry, MountTable, Namespace, NsError, PutOptions, StoreFault};
use arustio_proto::admin::admin_server::{Admin, AdminServer};
use arustio_proto::admin::{
    AddNodeRequest, CacheFreeResponse, CacheLoadResponse, CacheStatsReply, CacheStatsRequest, ClusterStatusReply,
    ClusterStatusRequest, DataChunk, FileInfo, GetInfoRequest, GetInfoResponse, GrantRequest, ListMountsRequest,
    ListMountsResponse, ListRequest, ListResponse, ListUploadsRequest, ListUploadsResponse, ListUsersRequest,
    MkdirRequest, MountInfo, MountRequest, PathRequest, RemoveNodeRequest, RemoveRequest, RemoveResponse,
    RenameRequest, UnmountRequest, UnmountResponse, UserCredentials, UserList, UserName, WriteRequest,
};
use arustio_proto::auth::{AuthLayer, Key};
use arustio_raft::{ClusterError, ClusterNode, LinearizableReadHandle, MetaStore, RaftService};
use futures::stream::{BoxStream, StreamExt};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status, Streaming};

use crate::mounts::{self, Checks, MountError, mount_entry};
use crate::uploads::ListedUpload;

pub(crate) use arustio_proto::auth::Signed;

/// Most entries one List call returns.
const MAX_LIST: u32 = 1000;

struct AdminService {
    meta: Arc<MetaStore>,
    ns: Arc<Namespace>,
    cluster: Arc<ClusterNode>,
    reads: LinearizableReadHandle,
    /// The S3 endpoint's address, once it is open.
    s3_addr: tokio::sync::watch::Receiver<Option<SocketAddr>>,
    /// Seals users' secrets.
    sealer: Arc<crate::seal::Sealer>,
}

impl AdminService {
    fn users(&self) -> users::Users<'_> {
        users::Users {
            meta: &self.meta,
            cluster: &self.cluster,
            reads: &self.reads,
            sealer: &self.sealer,
        }
    }
}

impl AdminService {
    /// A linearizable read first, when asked for.
    async fn read_barrier(&self, consistent: bool) -> Result<(), Status> {
        if consistent {
            self.reads.ensure().await.map_err(cluster_status)?;
        }
        Ok(())
    }
}

/// Maps a namespace error to a gRPC status with a one-line message.
fn status(e: NsError) -> Status {
    let msg = e.to_string();
    match e {
        NsError::NotFound { .. }
        | NsError::NoSuchKey { .. }
        | NsError::NoSuchBucket { .. }
        | NsError::NoMount { .. } => Status::not_found(msg),
        NsError::ReadOnly { .. } => Status::permission_denied(msg),
        NsError::InvalidKey { .. }
        | NsError::InvalidBucketName { .. }
        | NsError::KeyTooLong { .. }
        | NsError::InvalidArgument(_)
        | NsError::Store {
            fault: StoreFault::InvalidKey { .. },
            ..
        } => Status::invalid_argument(msg),
        NsError::MountRefused { .. }
        | NsError::FsRefused { .. }
        | NsError::BucketExists { .. }
        | NsError::BucketNotEmpty { .. }
        | NsError::BucketIsMount { .. }
        | NsError::UploadsInFlight { .. }
        | NsError::PreconditionFailed { .. } => Status::failed_precondition(msg),
        NsError::Body { .. } => Status::aborted(msg),
        other => {
            tracing::error!(error = %other, "admin call failed");
            Status::internal(other.to_string())
        }
    }
}

/// Maps a cluster error to a gRPC status with a one-line message.
fn cluster_status(e: ClusterError) -> Status {
    let msg = e.to_string();
    match e {
        ClusterError::Refused(_) => Status::failed_precondition(msg),
        ClusterError::NoQuorum(_) | ClusterError::Unreachable { .. } => Status::unavailable(msg),
        ClusterError::Invalid(_) => Status::invalid_argument(msg),
        ClusterError::Raft(_) => Status::internal(msg),
    }
}

fn mount_status(e: MountError) -> Status {
    let msg = e.to_string();
    match e {
        MountError::Invalid(why) => Status::invalid_argument(why),
        MountError::Refused(e) => status(e),
        MountError::Cluster(e) => cluster_status(e),
        MountError::NotAMount(_) => Status::not_found(msg),
        MountError::Root | MountError::UploadsInFlight { .. } => Status::failed_precondition(msg),
    }
}

fn mount_info(m: &MountEntry) -> MountInfo {
    let kind = MountUri::parse(&m.uri).ok().map(|u| u.kind);
    MountInfo {
        path: m.display_path(),
        capabilities: kind
            .map(|k| {
                k.capabilities()
                    .into_iter()
                    .map(|(a, b)| (a.to_owned(), b.to_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        kind: kind.map_or_else(|| "?".to_owned(), |k| k.label().to_owned()),
        uri: m.uri.clone(),
        options: m.options.masked(),
        readonly: m.readonly,
        node_local: kind.is_some_and(|k| k.node_local()),
    }
}

fn file_info(e: FsEntry) -> FileInfo {
    FileInfo {
        path: e.path,
        is_dir: e.is_dir,
        size: e.size,
        modified_ms: e.modified.timestamp_millis(),
        mount: e.mount,
        etag: e.etag,
        content_type: e.content_type.unwrap_or_default(),
        is_mount_point: e.is_mount_point,
    }
}

/// Splits `/bucket/key` for object calls; a bucket alone is not a file.
fn object_path(path: &str) -> Result<(String, String), Status> {
    let norm = arustio_namespace::normalize_path(path).map_err(status)?;
    match norm.split_once('/') {
        Some((b, k)) => Ok((b.to_owned(), k.to_owned())),
        None => Err(Status::invalid_argument(format!(
            "{path}: not a file path (expected /BUCKET/KEY)"
        ))),
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn get_info(&self, _req: Request<GetInfoRequest>) -> Result<Response<GetInfoResponse>, Status> {
        Ok(Response::new(GetInfoResponse {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            s3_addr: self.s3_addr.borrow().map(|a| a.to_string()).unwrap_or_default(),
            mount_count: u32::try_from(self.meta.mounts().len()).unwrap_or(u32::MAX),
        }))
    }

    async fn mount(&self, req: Request<MountRequest>) -> Result<Response<MountInfo>, Status> {
        let r = req.into_inner();
        let options = MountOptions(r.options.into_iter().collect());
        let entry = mount_entry(&r.path, &r.uri, &options, r.readonly).map_err(mount_status)?;
        // The check reads the mount table: strictly, so a mount just made elsewhere counts.
        self.read_barrier(true).await?;
        let checks = Checks {
            shadow: r.shadow,
            probe: !r.no_check,
        };
        mounts::mount(&self.ns, &self.cluster, &self.meta, &entry, checks)
            .await
            .map_err(mount_status)?;
        tracing::info!(path = %entry.display_path(), uri = %entry.uri, options = %entry.options, "mounted");
        Ok(Response::new(mount_info(&entry)))
    }

    async fn unmount(&self, req: Request<UnmountRequest>) -> Result<Response<UnmountResponse>, Status> {
        let r = req.into_inner();
        // The check reads the mount table: strictly, so a mount just made elsewhere counts.
        self.read_barrier(true).await?;
        let aborted = mounts::unmount(&self.ns, &self.cluster, &self.meta, &r.path, r.force)
            .await
            .map_err(mount_status)?;
        Ok(Response::new(UnmountResponse {
            aborted_uploads: u32::try_from(aborted).unwrap_or(u32::MAX),
        }))
    }

    async fn list_mounts(&self, _req: Request<ListMountsRequest>) -> Result<Response<ListMountsResponse>, Status> {
        self.read_barrier(true).await?;
        let mut mounts: Vec<MountInfo> = self.meta.mounts().iter().map(mount_info).collect();
        mounts.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Response::new(ListMountsResponse { mounts }))
    }

    async fn list(&self, req: Request<ListRequest>) -> Result<Response<ListResponse>, Status> {
        let r = req.into_inner();
        self.read_barrier(r.consistent).await?;
        let after = (!r.after.is_empty()).then_some((r.after, r.after_is_dir));
        let limit = if r.limit == 0 { MAX_LIST } else { r.limit.min(MAX_LIST) };
        let (entries, truncated) = self.ns.fs_list(&r.path, after, limit as usize).await.map_err(status)?;
        Ok(Response::new(ListResponse {
            entries: entries.into_iter().map(file_info).collect(),
            truncated,
        }))
    }

    async fn stat(&self, req: Request<PathRequest>) -> Result<Response<FileInfo>, Status> {
        let r = req.into_inner();
        self.read_barrier(r.consistent).await?;
        Ok(Response::new(file_info(
            self.ns.fs_stat(&r.path).await.map_err(status)?,
        )))
    }

    async fn mkdir(&self, req: Request<MkdirRequest>) -> Result<Response<FileInfo>, Status> {
        let r = req.into_inner();
        Ok(Response::new(file_info(
            self.ns.fs_mkdir(&r.path, r.parents).await.map_err(status)?,
        )))
    }

    async fn remove(&self, req: Request<RemoveRequest>) -> Result<Response<RemoveResponse>, Status> {
        let r = req.into_inner();
        let removed = self.ns.fs_remove(&r.path, r.recursive).await.map_err(status)?;
        Ok(Response::new(RemoveResponse { removed }))
    }

    async fn rename(&self, req: Request<RenameRequest>) -> Result<Response<FileInfo>, Status> {
        let r = req.into_inner();
        Ok(Response::new(file_info(
            self.ns.fs_rename(&r.src, &r.dst).await.map_err(status)?,
        )))
    }

    type ReadStream = BoxStream<'static, Result<DataChunk, Status>>;

    async fn read(&self, req: Request<PathRequest>) -> Result<Response<Self::ReadStream>, Status> {
        let PathRequest { path, consistent } = req.into_inner();
        self.read_barrier(consistent).await?;
        let entry = self.ns.fs_stat(&path).await.map_err(status)?;
        if entry.is_dir {
            return Err(Status::failed_precondition(format!("{}: is a directory", entry.path)));
        }
        let (bucket, key) = object_path(&path)?;
        let handle = self.ns.head(&bucket, &key).await.map_err(status)?;
        let body = self.ns.open(&handle, None).await.map_err(status)?;
        let out = body.map(|chunk| {
            chunk
                .map(|data| DataChunk { data: data.to_vec() })
                .map_err(|e| Status::unavailable(e.to_string()))
        });
        Ok(Response::new(out.boxed()))
    }

    async fn cluster_status(&self, req: Request<ClusterStatusRequest>) -> Result<Response<ClusterStatusReply>, Status> {
        cluster::status(&self.cluster, req.into_inner().local).await
    }

    async fn add_node(&self, req: Request<AddNodeRequest>) -> Result<Response<ClusterStatusReply>, Status> {
        cluster::add_node(&self.cluster, req.into_inner()).await
    }

    async fn remove_node(&self, req: Request<RemoveNodeRequest>) -> Result<Response<ClusterStatusReply>, Status> {
        cluster::remove_node(&self.cluster, req.into_inner()).await
    }

    async fn list_uploads(&self, req: Request<ListUploadsRequest>) -> Result<Response<ListUploadsResponse>, Status> {
        let r = req.into_inner();
        let uploads = self.ns.list_uploads(&r.bucket, &r.prefix).await.map_err(status)?;
        let uploads = uploads
            .iter()
            .map(|u| ListedUpload::new(self.cluster.id(), u).into())
            .collect();
        Ok(Response::new(ListUploadsResponse { uploads }))
    }

    async fn add_user(&self, req: Request<UserName>) -> Result<Response<UserCredentials>, Status> {
        self.users().add(req.into_inner()).await
    }

    async fn rotate_user(&self, req: Request<UserName>) -> Result<Response<UserCredentials>, Status> {
        self.users().rotate(req.into_inner()).await
    }

    async fn remove_user(&self, req: Request<UserName>) -> Result<Response<UserList>, Status> {
        self.users().remove(req.into_inner()).await
    }

    async fn list_users(&self, _req: Request<ListUsersRequest>) -> Result<Response<UserList>, Status> {
        self.users().list().await
    }

    async fn grant_user(&self, req: Request<GrantRequest>) -> Result<Response<UserList>, Status> {
        self.users().grant(req.into_inner()).await
    }

    async fn revoke_user(&self, req: Request<GrantRequest>) -> Result<Response<UserList>, Status> {
        self.users().revoke(req.into_inner()).await
    }

    async fn cache_stats(&self, _req: Request<CacheStatsRequest>) -> Result<Response<CacheStatsReply>, Status> {
        cache::stats(&self.ns).await
    }

    async fn cache_load(&self, req: Request<PathRequest>) -> Result<Response<CacheLoadResponse>, Status> {
        cache::load(&self.ns, req.into_inner()).await
    }

    async fn cache_free(&self, req: Request<PathRequest>) -> Result<Response<CacheFreeResponse>, Status> {
        cache::free(&self.ns, &req.into_inner())
    }

    async fn write(&self, req: Request<Streaming<WriteRequest>>) -> Result<Response<FileInfo>, Status> {
        let mut stream = req.into_inner();
        let first = stream
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("empty write stream"))?;
        let (bucket, key) = object_path(&first.path)?;
        if key.ends_with('/') {
            return Err(Status::invalid_argument(format!(
                "{}: a file path cannot end in '/'",
                first.path
            )));
        }
        let head = futures::stream::iter((!first.data.is_empty()).then(|| Ok(bytes::Bytes::from(first.data))));
        let rest = stream.map(|m| {
            m.map(|w| bytes::Bytes::from(w.data))
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { Box::new(e) })
        });
        let body = head.chain(rest).boxed();
        self.ns
            .put(&bucket, &key, body, PutOptions::default())
            .await
            .map_err(status)?;
        let entry = self.ns.fs_stat(&first.path).await.map_err(status)?;
        Ok(Response::new(file_info(entry)))
    }
}

/// The gRPC port: its listener, and TLS if the node serves it.
pub(crate) struct GrpcPort {
    pub listener: TcpListener,
    pub tls: Option<tonic::transport::ServerTlsConfig>,
    /// Counts the port's calls.
    pub calls: crate::metrics::AdminCallsLayer,
}

/// Serves the admin API and the Raft peer RPCs on `port` until `stop` turns true.
/// Admin calls must be signed with the root credentials, peer calls with the cluster key.
pub(crate) async fn serve(
    port: GrpcPort,
    node: crate::node::Node,
    s3_addr: tokio::sync::watch::Receiver<Option<SocketAddr>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), tonic::transport::Error> {
    let crate::node::Node {
        meta,
        namespace: ns,
        cluster,
        cluster_key,
        sealer,
    } = node;
    let keys = Arc::clone(&meta);
    let key_for = move |path: &str| {
        if path.starts_with("/arustio.raft.v1.Raft/") || path.starts_with("/arustio.cache.v1.Peer/") {
            cluster_key
                .clone()
                .ok_or("this node has no cluster secret: start every node with --cluster-secret")
        } else {
            keys.root_credentials()
                .map(Key::from)
                .ok_or("this node has no root credentials yet (it is joining a cluster)")
        }
    };
    let peer = crate::cache_peers::PeerService { ns: Arc::clone(&ns) };
    let admin = AdminService {
        meta,
        ns,
        reads: LinearizableReadHandle::new(Arc::clone(&cluster)),
        cluster: Arc::clone(&cluster),
        s3_addr,
        sealer,
    };
    // Small request/response calls (Raft heartbeats, admin calls): no Nagle delay.
    let incoming = TcpListenerStream::new(port.listener).map(|conn| {
        conn.inspect(|c| {
            let _ = c.set_nodelay(true);
        })
    });
    let mut server = tonic::transport::Server::builder();
    if let Some(tls) = port.tls {
        // tonic runs each handshake in a task of its own, within the config's timeout.
        server = server.tls_config(tls)?;
    }
    server
        .layer(port.calls)
        .layer(AuthLayer::new(Arc::new(key_for)))
        .add_service(AdminServer::new(admin))
        .add_service(
            arustio_proto::cache::peer_server::PeerServer::new(peer)
                .max_decoding_message_size(crate::cache_peers::MAX_BLOCK),
        )
        .add_service(
            arustio_proto::raft::raft_server::RaftServer::new(RaftService::new(cluster))
                .max_decoding_message_size(256 << 20),
        )
        .serve_with_incoming_shutdown(incoming, async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await
}
