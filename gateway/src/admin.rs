//! The gRPC admin API (for now: node info).

use std::net::SocketAddr;
use std::sync::Arc;

use arustio_namespace::MountTable;
use arustio_proto::admin::admin_server::{Admin, AdminServer};
use arustio_proto::admin::{GetInfoRequest, GetInfoResponse};
use arustio_raft::MetaStore;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

struct AdminService {
    meta: Arc<MetaStore>,
    s3_addr: SocketAddr,
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn get_info(&self, _req: Request<GetInfoRequest>) -> Result<Response<GetInfoResponse>, Status> {
        Ok(Response::new(GetInfoResponse {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            s3_addr: self.s3_addr.to_string(),
            mount_count: u32::try_from(self.meta.mounts().len()).unwrap_or(u32::MAX),
        }))
    }
}

/// Serves the admin API on `listener` until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    meta: Arc<MetaStore>,
    s3_addr: SocketAddr,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder()
        .add_service(AdminServer::new(AdminService { meta, s3_addr }))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await
}
