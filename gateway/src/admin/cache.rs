//! The admin API's cache calls: this node's figures, loading and freeing files' blocks.

use arustio_namespace::Namespace;
use arustio_proto::admin::{CacheFreeResponse, CacheLoadResponse, CacheStatsReply, PathRequest};
use tonic::{Response, Status};

use super::status;

/// This node's cache figures (none when the cache is off).
pub(super) async fn stats(ns: &Namespace) -> Result<Response<CacheStatsReply>, Status> {
    let stats = ns.cache().stats().await.map(crate::cache_pb::stats_pb);
    Ok(Response::new(CacheStatsReply { stats }))
}

/// The namespace path of a file path (`/bucket/key` → `bucket/key`).
fn file_path(path: &str) -> Result<String, Status> {
    let norm = arustio_namespace::normalize_path(path).map_err(status)?;
    if !norm.contains('/') {
        return Err(Status::invalid_argument(format!(
            "{path}: not a file path (expected /BUCKET/KEY)"
        )));
    }
    Ok(norm)
}

/// Reads one file through the cache.
pub(super) async fn load(ns: &Namespace, r: PathRequest) -> Result<Response<CacheLoadResponse>, Status> {
    let path = file_path(&r.path)?;
    let (bytes, sources) = ns.load_cached(&path).await.map_err(status)?;
    Ok(Response::new(CacheLoadResponse {
        bytes,
        source: sources.header(),
    }))
}

/// Drops one file's blocks and metadata, here and on the other nodes.
pub(super) fn free(ns: &Namespace, r: &PathRequest) -> Result<Response<CacheFreeResponse>, Status> {
    let path = file_path(&r.path)?;
    ns.free_cached(&path).map_err(status)?;
    Ok(Response::new(CacheFreeResponse {}))
}
