//! The metrics port: plain HTTP/1 with three routes. `/metrics` (OpenMetrics text),
//! `/health/live` (the process answers) and `/health/ready` (the metadata is loaded, a
//! leader is known and the S3 port is open: 200, else 503, with a JSON body saying which).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Response, StatusCode, header};
use http_body_util::Full;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tracing::debug;

use super::Metrics;

/// What readiness waits for.
pub(crate) struct Health {
    /// The node's metadata is open.
    pub metadata: AtomicBool,
    /// The S3 port, once open.
    pub s3: tokio::sync::watch::Receiver<Option<SocketAddr>>,
}

/// Readiness: each condition, and whether all hold.
#[derive(serde::Serialize)]
struct Ready {
    ready: bool,
    metadata: bool,
    leader: Option<u64>,
    s3: bool,
}

fn ready(metrics: &Metrics, health: &Health) -> Ready {
    let metadata = health.metadata.load(Ordering::Relaxed);
    let leader = metrics
        .cluster()
        .and_then(|c| c.raft().metrics().borrow().current_leader);
    let s3 = health.s3.borrow().is_some();
    Ready {
        ready: metadata && leader.is_some() && s3,
        metadata,
        leader,
        s3,
    }
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    resp
}

async fn route<B>(req: http::Request<B>, metrics: &Metrics, health: &Health) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "GET only\n".into());
    }
    match req.uri().path() {
        "/metrics" => text(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.render().await,
        ),
        "/health/live" => text(StatusCode::OK, "text/plain", "ok\n".into()),
        "/health/ready" => {
            let r = ready(metrics, health);
            let status = if r.ready {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            let body = serde_json::to_string(&r).unwrap_or_default() + "\n";
            text(status, "application/json", body)
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: /metrics, /health/live, /health/ready\n".into(),
        ),
    }
}

/// Serves the metrics port until `stop`.
pub(crate) async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut stopped = std::pin::pin!(async move {
        let _ = stop.wait_for(|s| *s).await;
    });
    loop {
        let (socket, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    debug!(error = %e, "metrics accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = stopped.as_mut() => return,
        };
        let (metrics, health) = (Arc::clone(&metrics), Arc::clone(&health));
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let (metrics, health) = (Arc::clone(&metrics), Arc::clone(&health));
                async move { Ok::<_, Infallible>(route(req, &metrics, &health).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(socket), service);
            if let Err(e) = conn.await {
                debug!(error = %e, "metrics connection ended");
            }
        });
    }
}
