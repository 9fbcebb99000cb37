//! Multipart uploads are staged on the disk of the node that created them, and their ids
//! name it (`<node>-<id>`). A request for another node's upload is passed, as it came, to
//! that node's S3 endpoint: its signature still holds, the root credentials being the
//! cluster's. So an upload started through one node can be continued and completed
//! through any other.

use std::sync::Arc;

use arustio_proto::admin::ListUploadsRequest;
use arustio_proto::admin::admin_client::AdminClient;
use arustio_proto::auth::{Key, Signed};
use arustio_raft::{ClusterNode, MetaStore};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::drain::SharedBody;
use crate::uploads::ListedUpload;

/// Marks a request one node passed to another, with the sender's id.
const FORWARDED: &str = "x-arustio-forwarded-by";

/// Why a request could not be passed to its upload's node.
#[derive(Debug, thiserror::Error)]
pub(super) enum ForwardError {
    /// It came from another node already: passing it on could go round forever.
    #[error("the request was forwarded to this node already, which does not hold the upload")]
    Loop,
    /// The node took neither body nor answered within the timeout.
    #[error("node at {0} did not answer within the forwarding timeout")]
    Timeout(String),
    #[error("{0}")]
    Failed(String),
}

/// The node an upload id names.
pub(super) fn upload_node(upload_id: &str) -> Option<u64> {
    upload_id.split_once('-')?.0.parse().ok()
}

/// The `uploadId` of a request's query string, if any.
fn query_upload_id(uri: &http::Uri) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "uploadId").then(|| v.to_owned())
    })
}

/// Passes requests for other nodes' uploads to them.
pub(super) struct UploadRouter {
    node: u64,
    meta: Arc<MetaStore>,
    cluster: Arc<ClusterNode>,
    /// Speaks https to the other nodes when the cluster dials over TLS (trusting its CA).
    client: Client<HttpsConnector<HttpConnector>, SharedBody>,
    /// How long a forwarded request may go without body sent or an answer.
    timeout: std::time::Duration,
}

impl UploadRouter {
    pub(super) fn new(
        node: u64,
        meta: Arc<MetaStore>,
        cluster: Arc<ClusterNode>,
        timeout: std::time::Duration,
    ) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(std::time::Duration::from_secs(5)));
        connector.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(crate::tls::https_client(cluster.dial()))
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        Self {
            node,
            meta,
            cluster,
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
        }
    }

    /// The uploads staged on the other nodes of the cluster, asked of each over the admin
    /// API. A node that does not answer within 3 s is left out (and logged).
    pub(super) async fn peer_uploads(&self, bucket: &str, prefix: &str) -> Vec<ListedUpload> {
        let Some(creds) = self.meta.root_credentials() else {
            return Vec::new();
        };
        let key = Key::from(creds);
        let peers: Vec<(u64, String)> = self
            .cluster
            .local_status()
            .members
            .into_iter()
            .filter(|m| m.id != self.node)
            .map(|m| (m.id, m.addr))
            .collect();
        let dial = self.cluster.dial();
        let asks = peers.into_iter().map(|(id, addr)| {
            let key = key.clone();
            let req = ListUploadsRequest {
                bucket: bucket.to_owned(),
                prefix: prefix.to_owned(),
            };
            async move {
                let asked = async {
                    let channel = dial
                        .endpoint(&addr)
                        .map_err(|e| e.to_string())?
                        .connect_timeout(std::time::Duration::from_secs(2))
                        .tcp_nodelay(true)
                        .connect_lazy();
                    let reply = AdminClient::new(Signed::new(channel, key))
                        .list_uploads(req)
                        .await
                        .map_err(|s| s.message().to_owned())?;
                    Ok::<_, String>(reply.into_inner().uploads.into_iter().map(ListedUpload::from).collect())
                };
                match tokio::time::timeout(std::time::Duration::from_secs(3), asked).await {
                    Ok(Ok(list)) => list,
                    Ok(Err(e)) => {
                        tracing::warn!(node = id, error = %e, "a node did not list its multipart uploads");
                        Vec::new()
                    }
                    Err(_) => {
                        tracing::warn!(node = id, "a node did not list its multipart uploads within 3 s");
                        Vec::new()
                    }
                }
            }
        });
        futures::future::join_all(asks).await.into_iter().flatten().collect()
    }

    /// The S3 address of the node that owns the upload this request names, when that is
    /// another node.
    pub(super) fn remote_owner(&self, uri: &http::Uri) -> Option<Result<String, u64>> {
        let node = upload_node(&query_upload_id(uri)?)?;
        if node == self.node {
            return None;
        }
        Some(self.meta.node_s3_addr(node).ok_or(node))
    }

    /// Sends the request to `addr` and returns its answer, streaming both bodies. A request
    /// forwarded once is never forwarded again (a stale address could name this node), and
    /// one that neither sends body nor gets an answer for `timeout` is given up.
    pub(super) async fn forward(
        &self,
        addr: &str,
        mut parts: http::request::Parts,
        body: SharedBody,
    ) -> Result<s3s::HttpResponse, ForwardError> {
        if parts.headers.contains_key(FORWARDED) {
            return Err(ForwardError::Loop);
        }
        // The owner checks the client's signature, which covers the host the client named:
        // an HTTP/2 request carries it in its URI, not in a Host header.
        if !parts.headers.contains_key(http::header::HOST)
            && let Some(host) = parts
                .uri
                .authority()
                .and_then(|a| http::HeaderValue::from_str(a.as_str()).ok())
        {
            parts.headers.insert(http::header::HOST, host);
        }
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = format!("{}{path}", self.cluster.dial().url(addr))
            .parse()
            .map_err(|e| ForwardError::Failed(format!("bad address {addr}: {e}")))?;
        // The node-to-node hop is HTTP/1.1 whatever the client spoke.
        parts.version = http::Version::HTTP_11;
        // This node already answered any `Expect: 100-continue`.
        parts.headers.remove(http::header::EXPECT);
        parts.headers.insert(FORWARDED, http::HeaderValue::from(self.node));
        let watch = body.clone();
        let mut call = std::pin::pin!(self.client.request(http::Request::from_parts(parts, body)));
        let resp = loop {
            tokio::select! {
                r = call.as_mut() => break r.map_err(|e| ForwardError::Failed(format!("node at {addr}: {e}")))?,
                () = tokio::time::sleep(self.timeout / 4) => {
                    if watch.idle() >= self.timeout {
                        return Err(ForwardError::Timeout(addr.to_owned()));
                    }
                }
            }
        };
        Ok(resp.map(s3s::Body::http_body_unsync))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_ids_name_their_node() {
        assert_eq!(upload_node("3-0a1b"), Some(3));
        assert_eq!(upload_node("0a1b2c"), None);
        let uri: http::Uri = "/b/k?partNumber=2&uploadId=12-abc".parse().unwrap();
        assert_eq!(query_upload_id(&uri).as_deref(), Some("12-abc"));
        assert_eq!(query_upload_id(&"/b/k?uploads".parse().unwrap()), None);
    }
}
