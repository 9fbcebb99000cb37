//! The gRPC port's calls (admin, Raft and cache peers) by method and result: a tower
//! layer around the whole tonic server, so refusals by the auth layer count too.

use std::task::{Context, Poll};

use futures::future::BoxFuture;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

type MethodResult = [(&'static str, String); 2];

/// Counts each call in `arustio_grpc_calls_total{method, result}`.
#[derive(Clone, Default)]
pub(crate) struct AdminCallsLayer {
    calls: Family<MethodResult, Counter>,
}

impl AdminCallsLayer {
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "arustio_grpc_calls",
            "Calls on the gRPC port (admin, Raft and cache peers), by method and gRPC result",
            self.calls.clone(),
        );
    }
}

impl<S> tower::Layer<S> for AdminCallsLayer {
    type Service = AdminCalls<S>;

    fn layer(&self, inner: S) -> AdminCalls<S> {
        AdminCalls {
            inner,
            calls: self.calls.clone(),
        }
    }
}

/// The counting service.
#[derive(Clone)]
pub(crate) struct AdminCalls<S> {
    inner: S,
    calls: Family<MethodResult, Counter>,
}

/// The result of a response: its `grpc-status` header, present on an error answered at
/// once (a status in the trailers, after a streamed body, is not seen here).
fn result_of<B>(resp: &http::Response<B>) -> String {
    let code = resp
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map_or(tonic::Code::Ok, tonic::Code::from_i32);
    format!("{code:?}")
}

impl<S, B, RB> tower::Service<http::Request<B>> for AdminCalls<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        // `/arustio.admin.v1.Admin/Mount` → `Admin/Mount`; only our services are named,
        // so a client cannot make up label values.
        let path = req.uri().path();
        let method = path
            .strip_prefix("/arustio.")
            .and_then(|rest| rest.split_once('.'))
            .and_then(|(_, rest)| rest.split_once('.'))
            .map(|(_, m)| m.to_owned());
        let fut = self.inner.call(req);
        let calls = self.calls.clone();
        Box::pin(async move {
            let resp = fut.await;
            let result = match &resp {
                Ok(r) => result_of(r),
                Err(_) => "TransportError".to_owned(),
            };
            let method = match method {
                Some(m) if result != "Unimplemented" => m,
                _ => "unknown".to_owned(),
            };
            calls.get_or_create(&[("method", method), ("result", result)]).inc();
            resp
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_is_the_status_header_or_ok() {
        let ok = http::Response::new(());
        assert_eq!(result_of(&ok), "Ok");
        let denied = http::Response::builder().header("grpc-status", "16").body(()).unwrap();
        assert_eq!(result_of(&denied), "Unauthenticated");
    }
}
