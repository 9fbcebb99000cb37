//! The S3 endpoint's series: requests by operation and status, their latency, and the
//! bytes clients sent and received per mount.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

type OpStatus = [(&'static str, String); 2];
type Op = [(&'static str, String); 1];
type Mount = [(&'static str, String); 1];

fn latency() -> Histogram {
    // 0.25 ms .. about 65 s.
    Histogram::new(exponential_buckets(0.00025, 2.0, 19))
}

/// The S3 series.
#[derive(Clone)]
pub(crate) struct S3Metrics {
    requests: Family<OpStatus, Counter>,
    seconds: Family<Op, Histogram, fn() -> Histogram>,
    bytes_in: Family<Mount, Counter>,
    bytes_out: Family<Mount, Counter>,
}

impl Default for S3Metrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            seconds: Family::new_with_constructor(latency),
            bytes_in: Family::default(),
            bytes_out: Family::default(),
        }
    }
}

impl S3Metrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "arustio_s3_requests",
            "S3 requests, by operation (unknown: refused before routing) and HTTP status",
            self.requests.clone(),
        );
        registry.register_with_unit(
            "arustio_s3_request_duration",
            "Time from an S3 request's arrival to its response's headers, by operation",
            Unit::Seconds,
            self.seconds.clone(),
        );
        registry.register_with_unit(
            "arustio_s3_received",
            "Request body bytes clients sent, by the mount that served them",
            Unit::Bytes,
            self.bytes_in.clone(),
        );
        registry.register_with_unit(
            "arustio_s3_sent",
            "Response body bytes sent to clients, by the mount that served them",
            Unit::Bytes,
            self.bytes_out.clone(),
        );
    }

    /// Counts one answered request.
    pub(crate) fn request(&self, op: &str, status: http::StatusCode, took: Duration) {
        let op = op.to_owned();
        self.requests
            .get_or_create(&[("operation", op.clone()), ("status", status.as_u16().to_string())])
            .inc();
        self.seconds
            .get_or_create(&[("operation", op)])
            .observe(took.as_secs_f64());
    }

    /// Counts `n` request body bytes for `mount`.
    pub(crate) fn received(&self, mount: &str, n: u64) {
        if n > 0 {
            self.bytes_in.get_or_create(&[("mount", mount.to_owned())]).inc_by(n);
        }
    }

    /// The counter of response bytes for `mount`.
    pub(crate) fn sent(&self, mount: &str) -> Counter {
        self.bytes_out.get_or_create_owned(&[("mount", mount.to_owned())])
    }
}

/// A response body that counts its bytes as they go out.
pub(crate) struct CountedBody {
    inner: s3s::Body,
    sent: Counter,
}

impl CountedBody {
    /// `inner`, counted in `sent`.
    pub(crate) fn new(inner: s3s::Body, sent: Counter) -> Self {
        Self { inner, sent }
    }
}

impl Body for CountedBody {
    type Data = Bytes;
    type Error = s3s::StdError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.sent.inc_by(data.len() as u64);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
