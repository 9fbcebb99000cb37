//! The node's Prometheus series (`prometheus-client`) and its health, served on the metrics
//! port: `/metrics`, `/health/live` and `/health/ready`.
//!
//! Counters of what happens (S3 requests, admin calls, store requests, connections) are
//! updated as it happens; figures the node already keeps (the cache's, Raft's, the
//! process's) are read at each scrape.

mod admin_calls;
mod collect;
mod http;
mod s3;

use std::sync::{Arc, OnceLock};

use arustio_backends::UpstreamMetrics;
use arustio_namespace::Namespace;
use arustio_raft::ClusterNode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

pub(crate) use admin_calls::AdminCallsLayer;
pub(crate) use http::{Health, serve};
pub(crate) use s3::{CountedBody, S3Metrics};

/// The parts of a node whose figures are read at each scrape, known once it is open.
pub(crate) struct NodeParts {
    pub namespace: Arc<Namespace>,
    pub cluster: Arc<ClusterNode>,
}

/// Every series of the node.
pub(crate) struct Metrics {
    registry: Registry,
    /// S3 requests and bytes.
    pub s3: S3Metrics,
    /// Requests to the stores (the registry of stores counts them).
    pub upstream: UpstreamMetrics,
    /// Admin and peer gRPC calls.
    pub admin: AdminCallsLayer,
    /// S3 connections open now.
    pub connections: Gauge,
    /// S3 connections accepted.
    pub connections_accepted: Counter,
    /// The node, once open.
    parts: Arc<OnceLock<NodeParts>>,
    /// The cache's figures, read before each scrape (reading them is async).
    cache: Arc<collect::CacheSnapshot>,
    /// One scrape at a time (the cache snapshot is shared).
    scrape: tokio::sync::Mutex<()>,
}

impl Metrics {
    /// Every series, registered; the node's parts come later ([`Metrics::attach`]).
    pub(crate) fn new() -> Self {
        let mut registry = Registry::default();
        let s3 = S3Metrics::default();
        s3.register(&mut registry);
        let upstream = UpstreamMetrics::default();
        upstream.register(&mut registry);
        let admin = AdminCallsLayer::default();
        admin.register(&mut registry);
        let connections = Gauge::default();
        registry.register("arustio_s3_connections", "S3 connections open now", connections.clone());
        let connections_accepted = Counter::default();
        registry.register(
            "arustio_s3_connections_accepted",
            "S3 connections accepted (refused ones included)",
            connections_accepted.clone(),
        );
        let parts = Arc::new(OnceLock::new());
        let cache = Arc::new(collect::CacheSnapshot::default());
        registry.register_collector(Box::new(Arc::clone(&cache)));
        registry.register_collector(Box::new(collect::RaftCollector(Arc::clone(&parts))));
        registry.register_collector(Box::new(collect::ProcessCollector));
        Self {
            registry,
            s3,
            upstream,
            admin,
            connections,
            connections_accepted,
            parts,
            cache,
            scrape: tokio::sync::Mutex::new(()),
        }
    }

    /// The node's parts, once it is open.
    pub(crate) fn attach(&self, parts: NodeParts) {
        let _ = self.parts.set(parts);
    }

    /// The node's cluster, once it is open.
    pub(crate) fn cluster(&self) -> Option<&Arc<ClusterNode>> {
        self.parts.get().map(|p| &p.cluster)
    }

    /// Every series as OpenMetrics text.
    pub(crate) async fn render(&self) -> String {
        let _one = self.scrape.lock().await;
        let stats = match self.parts.get() {
            Some(p) => p.namespace.cache().stats().await,
            None => None,
        };
        self.cache.set(stats);
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::warn!(error = %e, "encoding the metrics failed");
        }
        text
    }
}
