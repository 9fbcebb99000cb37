//! The S3 front end: the HTTP service before s3s, which mints the request id, refuses
//! form uploads, screens SigV2, passes other nodes' uploads on and sets
//! `x-amz-request-id` on every response.

use std::sync::Arc;

use s3s::service::S3Service;

use super::{drain, error, proxy, request_id, sigv2, sigv4};

/// The S3 service with an `x-amz-request-id` on every response, errors from s3s's own
/// parsing and authentication included.
#[derive(Clone)]
pub(crate) struct S3HttpService {
    pub(super) s3: S3Service,
    pub(super) owners: Arc<proxy::UploadRouter>,
    pub(super) sigv2: Arc<sigv2::SigV2>,
    /// How long a request body may stall before the request fails with RequestTimeout.
    pub(super) body_timeout: std::time::Duration,
    /// The request series.
    pub(super) metrics: crate::metrics::S3Metrics,
    /// For the mount a request's bytes are counted under.
    pub(super) ns: Arc<arustio_namespace::Namespace>,
    /// The caps on requests in flight.
    pub(super) admission: super::admission::Admission,
}

impl S3HttpService {
    /// The service for one new connection: the node's caps, and a connection's own.
    pub(crate) fn for_connection(&self) -> Self {
        Self {
            admission: self.admission.for_connection(),
            ..self.clone()
        }
    }
}

impl hyper::service::Service<http::Request<hyper::body::Incoming>> for S3HttpService {
    type Response = s3s::HttpResponse;
    type Error = s3s::HttpError;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn call(&self, mut req: http::Request<hyper::body::Incoming>) -> Self::Future {
        // The request's one id: the response header, any error body, and its log span.
        let id = request_id::mint();
        let span = tracing::info_span!("s3", request_id = %id, method = %req.method(), path = %req.uri().path());
        let start = std::time::Instant::now();
        let Some(places) = self.admission.admit() else {
            let resp = request_id::sync_scope(id.clone(), slow_down);
            self.metrics.request("unknown", resp.status(), start.elapsed());
            return Box::pin(std::future::ready(Ok(with_request_id(resp, &id))));
        };
        if is_post_object(&req) {
            let resp = request_id::sync_scope(id.clone(), post_object_refused);
            self.metrics.request("PostObject", resp.status(), start.elapsed());
            return Box::pin(std::future::ready(Ok(with_request_id(resp, &id))));
        }
        // SigV2's request time and signature, and SigV4 rules s3s does not apply, checked
        // before s3s (see sigv2.rs and sigv4.rs).
        let refused = request_id::sync_scope(id.clone(), || {
            self.sigv2.screen(&mut req).or_else(|| sigv4::screen(&mut req))
        });
        let (parts, body) = req.into_parts();
        let body = drain::SharedBody::new(body, self.body_timeout);
        let owner = self.owners.remote_owner(&parts.uri);
        let owners = Arc::clone(&self.owners);
        let service = self.s3.clone();
        let (metrics, ns) = (self.metrics.clone(), Arc::clone(&self.ns));
        let forwarded = owner.is_some();
        let served = async move {
            let mut resp = match (refused, owner) {
                (Some(refused), _) => refused,
                (None, None) => {
                    let req = http::Request::from_parts(parts, s3s::Body::http_body(body.clone()));
                    service.call(req).await?
                }
                (None, Some(Ok(addr))) => match owners.forward(&addr, parts, body.clone()).await {
                    Ok(resp) => resp,
                    Err(e) => {
                        tracing::warn!(error = %e, "passing a multipart request to its node failed");
                        let msg = match e {
                            proxy::ForwardError::Loop => {
                                "The upload is not staged on the node this request was passed to"
                            }
                            _ => "The node staging this upload is unavailable; retry later",
                        };
                        error::response(s3s::S3ErrorCode::ServiceUnavailable, msg)
                    }
                },
                (None, Some(Err(node))) => error::response(
                    s3s::S3ErrorCode::NoSuchUpload,
                    &format!("The upload belongs to node {node}, which is not known here"),
                ),
            };
            if let Some(timeout) = body.stall_response() {
                resp = timeout;
            }
            // An error before the body was read (a refused conditional PUT, say): read the
            // rest, or close the connection, so it is not taken for the next request.
            if !resp.status().is_success() && !body.drain().await {
                resp.headers_mut()
                    .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
            }
            if resp.status().is_client_error() || resp.status().is_server_error() {
                tracing::debug!(status = resp.status().as_u16(), "request failed");
            }
            Ok(counted(resp, &metrics, &ns, &body, forwarded, start))
        };
        Box::pin(async move {
            let resp = request_id::scope(id.clone(), tracing::Instrument::instrument(served, span)).await?;
            let resp = resp.map(|b| s3s::Body::http_body(super::admission::Held::new(b, places)));
            Ok(with_request_id(resp, &id))
        })
    }
}

/// Counts the request in the S3 series, under the operation s3s routed it to, and its
/// bytes under its mount: the response body as it goes out.
fn counted(
    resp: s3s::HttpResponse,
    metrics: &crate::metrics::S3Metrics,
    ns: &arustio_namespace::Namespace,
    body: &drain::SharedBody,
    forwarded: bool,
    start: std::time::Instant,
) -> s3s::HttpResponse {
    let route = request_id::route();
    let op = match &route {
        _ if forwarded => "Forwarded",
        Some(r) => r.op.as_str(),
        None => "unknown",
    };
    metrics.request(op, resp.status(), start.elapsed());
    let mount = route
        .as_ref()
        .and_then(|r| ns.mount_point(r.bucket.as_deref()?, r.key.as_deref().unwrap_or("")));
    let Some(mount) = mount else { return resp };
    metrics.received(&mount, body.received());
    if http_body::Body::is_end_stream(resp.body()) {
        return resp;
    }
    let sent = metrics.sent(&mount);
    resp.map(|b| s3s::Body::http_body(crate::metrics::CountedBody::new(b, sent)))
}

/// Sets the request's id as the response's `x-amz-request-id`.
fn with_request_id(mut resp: s3s::HttpResponse, id: &str) -> s3s::HttpResponse {
    if let Ok(v) = http::HeaderValue::from_str(id) {
        resp.headers_mut().insert("x-amz-request-id", v);
    }
    resp
}

/// A POST Object (an HTML form upload): s3s would read its file part into memory before
/// checking the form's signature, so anyone could make the node hold gigabytes. The
/// gateway does not take form uploads; it refuses them before reading a byte of the body.
fn is_post_object<B>(req: &http::Request<B>) -> bool {
    req.method() == http::Method::POST
        && req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// Past a cap on requests in flight: 503 SlowDown, as S3 answers a client to slow down.
fn slow_down() -> s3s::HttpResponse {
    let mut resp = error::response(
        s3s::S3ErrorCode::SlowDown,
        "Please reduce your request rate: this node is serving as many requests as it takes.",
    );
    resp.headers_mut()
        .insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("1"));
    resp
}

fn post_object_refused() -> s3s::HttpResponse {
    let mut resp = error::response(
        s3s::S3ErrorCode::NotImplemented,
        "POST Object (HTML form uploads) is not supported; use PUT or a presigned PUT URL",
    );
    // The body was not read: the connection cannot carry another request.
    resp.headers_mut()
        .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
    resp
}
