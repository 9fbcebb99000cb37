//! What the stores are asked, counted: requests, failures and latency per store, kind of
//! store and operation, as Prometheus series (the gateway registers them).

use std::future::Future;
use std::time::Instant;

use futures::StreamExt;
use futures::stream::BoxStream;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry as Prometheus, Unit};

use crate::BackendError;

/// The labels of one series: the store (its URI, which carries no secret), its kind and
/// the operation.
pub(crate) type Labels = [(&'static str, String); 3];

fn latency() -> Histogram {
    // 0.5 ms .. about 65 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 18))
}

/// The upstream series of one registry of stores, shared by its backends.
#[derive(Debug, Clone)]
pub struct UpstreamMetrics {
    requests: Family<Labels, Counter>,
    errors: Family<Labels, Counter>,
    seconds: Family<Labels, Histogram, fn() -> Histogram>,
}

impl Default for UpstreamMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            errors: Family::default(),
            seconds: Family::new_with_constructor(latency),
        }
    }
}

impl UpstreamMetrics {
    /// Adds the series to `registry` (`arustio_upstream_*`).
    pub fn register(&self, registry: &mut Prometheus) {
        registry.register(
            "arustio_upstream_requests",
            "Requests to the stores, by store, kind and operation",
            self.requests.clone(),
        );
        registry.register(
            "arustio_upstream_errors",
            "Store requests that failed (not counting not-found and precondition answers)",
            self.errors.clone(),
        );
        registry.register_with_unit(
            "arustio_upstream_request_duration",
            "Time to a store's answer (its first byte, for a read)",
            Unit::Seconds,
            self.seconds.clone(),
        );
    }

    /// Counts one request of `op` that began at `start` and ended with `result`.
    pub(crate) fn record<T>(&self, labels: &Labels, start: Instant, result: &Result<T, BackendError>) {
        self.requests.get_or_create(labels).inc();
        self.seconds
            .get_or_create(labels)
            .observe(start.elapsed().as_secs_f64());
        if let Err(e) = result
            && failed(e)
        {
            self.errors.get_or_create(labels).inc();
        }
    }

    /// Runs `call`, one request of `op`, and counts it.
    pub(crate) async fn observe<T>(
        &self,
        labels: Labels,
        call: impl Future<Output = Result<T, BackendError>>,
    ) -> Result<T, BackendError> {
        let start = Instant::now();
        let result = call.await;
        self.record(&labels, start, &result);
        result
    }

    /// The number of `op` requests to `store` so far (for tests).
    #[cfg(test)]
    pub(crate) fn count(&self, labels: &Labels) -> (u64, u64) {
        (
            self.requests.get(labels).map_or(0, |c| c.get()),
            self.errors.get(labels).map_or(0, |c| c.get()),
        )
    }
}

/// `stream`, one listing, counted once: timed to its first entry (or its end), failed if
/// any page of it fails.
pub(crate) fn observe_stream<T: Send + 'static>(
    metrics: UpstreamMetrics,
    labels: Labels,
    stream: BoxStream<'static, Result<T, BackendError>>,
) -> BoxStream<'static, Result<T, BackendError>> {
    let start = Instant::now();
    let mut first = true;
    metrics.requests.get_or_create(&labels).inc();
    stream
        .inspect(move |item| {
            if std::mem::take(&mut first) {
                metrics
                    .seconds
                    .get_or_create(&labels)
                    .observe(start.elapsed().as_secs_f64());
            }
            if let Err(e) = item
                && failed(e)
            {
                metrics.errors.get_or_create(&labels).inc();
            }
        })
        .boxed()
}

/// Whether an error is the store's failure, rather than an answer (absent, or changed).
fn failed(e: &BackendError) -> bool {
    !matches!(e, BackendError::NotFound { .. } | BackendError::Precondition { .. })
}

#[cfg(test)]
mod tests {
    use crate::{MountOptions, Registry};

    #[tokio::test]
    async fn requests_and_failures_are_counted_per_store_and_op() {
        let registry = Registry::new();
        let b = registry.backend("mem://counted", &MountOptions::default()).unwrap();
        let mut w = b.writer("a").unwrap();
        w.write(bytes::Bytes::from_static(b"hello")).await.unwrap();
        w.finish().await.unwrap();
        b.head("a").await.unwrap();
        assert!(b.head("missing").await.is_err());
        let m = registry.upstream_metrics();
        let labels = |op: &str| [("store", b.id()), ("kind", "memory".to_owned()), ("op", op.to_owned())];
        assert_eq!(m.count(&labels("put")), (1, 0));
        assert_eq!(
            m.count(&labels("head")),
            (2, 0),
            "a missing key is an answer, not a failure"
        );
        let mut text = String::new();
        let mut reg = prometheus_client::registry::Registry::default();
        m.register(&mut reg);
        prometheus_client::encoding::text::encode(&mut text, &reg).unwrap();
        assert!(
            text.contains(r#"arustio_upstream_requests_total{store="mem://counted",kind="memory",op="head"} 2"#),
            "{text}"
        );
    }
}
