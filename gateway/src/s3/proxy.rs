//! Multipart uploads are staged on the disk of the node that created them, and their ids
//! name it (`<node>-<id>`). A request for another node's upload is passed, as it came, to
//! that node's S3 endpoint: its signature still holds, the root credentials being the
//! cluster's. So an upload started through one node can be continued and completed
//! through any other.

use std::sync::Arc;

use arustio_raft::MetaStore;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::drain::SharedBody;

/// The node an upload id names.
pub fn upload_node(upload_id: &str) -> Option<u64> {
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
pub struct Owners {
    node: u64,
    meta: Arc<MetaStore>,
    client: Client<HttpConnector, SharedBody>,
}

impl Owners {
    pub fn new(node: u64, meta: Arc<MetaStore>) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(std::time::Duration::from_secs(5)));
        Self {
            node,
            meta,
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// The S3 address of the node that owns the upload this request names, when that is
    /// another node.
    pub fn remote_owner(&self, uri: &http::Uri) -> Option<Result<String, u64>> {
        let node = upload_node(&query_upload_id(uri)?)?;
        if node == self.node {
            return None;
        }
        Some(self.meta.node_s3_addr(node).ok_or(node))
    }

    /// Sends the request to `addr` and returns its answer, streaming both bodies.
    pub async fn forward(
        &self,
        addr: &str,
        mut parts: http::request::Parts,
        body: SharedBody,
    ) -> Result<s3s::HttpResponse, String> {
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = format!("http://{addr}{path}")
            .parse()
            .map_err(|e| format!("bad address {addr}: {e}"))?;
        // This node already answered any `Expect: 100-continue`.
        parts.headers.remove(http::header::EXPECT);
        let resp = self
            .client
            .request(http::Request::from_parts(parts, body))
            .await
            .map_err(|e| format!("node at {addr}: {e}"))?;
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
