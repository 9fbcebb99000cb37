//! `arustio serve`: opens the node's state, then runs the S3 endpoint and the admin API
//! until SIGINT or SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arustio_namespace::Namespace;
use serde::Serialize;
use tokio::net::TcpListener;
use tracing::{debug, error, info, warn};

use crate::config::{Config, LogFormat};
use crate::node::open_node;
use crate::serve_error::ServeError;

/// Flags of `arustio serve`; each overrides the config file and environment.
#[derive(Debug, Default, clap::Args, Serialize)]
pub(crate) struct ServeArgs {
    /// Directory for all node state [default: ./arustio-data; env: ARUSTIO_DATA_DIR]
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    /// S3 endpoint address [default: 127.0.0.1:39999; env: ARUSTIO_S3_ADDR]
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    s3_addr: Option<String>,
    /// gRPC admin address [default: 127.0.0.1:50051; env: ARUSTIO_GRPC_ADDR]
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    grpc_addr: Option<String>,
    /// Metrics and health address, plain HTTP [default: 127.0.0.1:39998; env: ARUSTIO_METRICS_ADDR]
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_addr: Option<String>,
    /// Log filter, as RUST_LOG [default: RUST_LOG, else info,s3s::ops=off,openraft=warn; env: ARUSTIO_LOG]
    #[arg(long, value_name = "FILTER")]
    #[serde(skip_serializing_if = "Option::is_none")]
    log: Option<String>,
    /// Log format [default: text; env: ARUSTIO_LOG_FORMAT]
    #[arg(long, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    log_format: Option<crate::config::LogFormat>,
    /// Metadata store [default: rocksdb; env: ARUSTIO_METADATA]
    #[arg(long, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<crate::config::MetadataBackend>,
    /// Domain for virtual-host style requests [env: ARUSTIO_DOMAIN]
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<String>,
    /// This node's id in the cluster [default: 1; env: ARUSTIO_NODE_ID]
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    node_id: Option<u64>,
    /// Join the cluster that the node at this gRPC address belongs to (http:// or https://HOST:PORT)
    #[arg(long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    join: Option<String>,
    /// The address peers reach this node's gRPC at [default: --grpc-addr]
    #[arg(long, value_name = "HOST:PORT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    advertise_addr: Option<String>,
    /// The secret all nodes of a cluster share, 16 characters or more [env: ARUSTIO_CLUSTER_SECRET]
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster_secret: Option<crate::config::Secret>,
    /// A file holding the cluster secret, which keeps it out of `ps` [env: ARUSTIO_CLUSTER_SECRET_FILE]
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster_secret_file: Option<PathBuf>,
    /// Bytes of the block cache's memory tier, e.g. 1GiB; 0 turns the cache off [default: 512MiB; env: ARUSTIO_CACHE_MEMORY]
    #[arg(long, value_name = "SIZE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_memory: Option<crate::config::ByteSize>,
    /// Directory of the block cache's disk tier [default: none; env: ARUSTIO_CACHE_DISK_DIR]
    #[arg(long, value_name = "DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_disk_dir: Option<PathBuf>,
    /// Bytes of the disk tier [default: 10GiB; env: ARUSTIO_CACHE_DISK]
    #[arg(long, value_name = "SIZE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_disk: Option<crate::config::ByteSize>,
    /// The cache's block size [default: 4MiB; env: ARUSTIO_CACHE_BLOCK_SIZE]
    #[arg(long, value_name = "SIZE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_block_size: Option<crate::config::ByteSize>,
    /// Serve S3 and gRPC over TLS with this certificate (PEM) [env: ARUSTIO_TLS_CERT]
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM) [env: ARUSTIO_TLS_KEY]
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_key: Option<PathBuf>,
    /// The CA peers' certificates are verified against: the global --tls-ca
    #[arg(skip)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<PathBuf>,
    /// Allow plaintext on addresses other than loopback [env: ARUSTIO_INSECURE]
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    insecure: bool,
    /// TOML config file
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    config: Option<PathBuf>,
}

/// Runs the server.
pub(crate) fn run(args: ServeArgs) -> Result<(), ServeError> {
    let config = Config::load(args.config.as_deref(), &args)?;
    init_logging(&config)?;
    fixed_mmap_threshold();
    let rt = tokio::runtime::Runtime::new().map_err(|e| ServeError::Other(e.to_string()))?;
    rt.block_on(serve(config))
}

/// Logs to stderr, filtered and formatted as the config says.
fn init_logging(config: &Config) -> Result<(), ServeError> {
    let spec = config.log_filter();
    let filter = tracing_subscriber::EnvFilter::try_new(&spec)
        .map_err(|e| ServeError::Other(format!("log filter {spec:?}: {e}")))?;
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        // Colours only on a terminal: a log file gets plain text.
        LogFormat::Text => fmt
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        // The request's span (its request_id) goes with each line, not the whole stack.
        LogFormat::Json => fmt.json().with_current_span(true).with_span_list(false).init(),
    }
    Ok(())
}

/// Cache blocks (4 MiB) are allocated and freed all the time. glibc raises its mmap
/// threshold to the size of each freed mmapped chunk, after which blocks come from the heap
/// and its fragments stay resident: measured, 1,491 MiB RSS after 4 GiB through a 1 GiB
/// memory tier, and 1,199 MiB with the threshold held at 1 MiB (the default behaviour
/// for anything larger, without the dynamic rise). `MALLOC_MMAP_THRESHOLD_` overrides it.
fn fixed_mmap_threshold() {
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some() {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: mallopt takes two plain integers and only changes allocator tuning; it is
    // called before the runtime starts any other thread, and a refusal (0) changes nothing.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

async fn bind(addr: std::net::SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr).await.map_err(|source| ServeError::Bind {
        addr: addr.to_string(),
        source,
    })
}

async fn serve(config: Config) -> Result<(), ServeError> {
    crate::tls::check_plaintext_binds(&config)?;
    let tls = crate::tls::load(&config)?;
    let (s3_tls, grpc_tls) = tls.server.map(|t| (t.s3, t.grpc)).unzip();
    let scheme = tls.dial.scheme();
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    // The S3 port opens once the node is in its cluster; peers and the admin API need the
    // gRPC port before that, and probes the metrics port.
    let s3_port = tokio::sync::watch::channel(None::<std::net::SocketAddr>);
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let health = Arc::new(crate::metrics::Health {
        metadata: std::sync::atomic::AtomicBool::new(false),
        s3: s3_port.1.clone(),
    });
    let metrics_listener = bind(config.metrics_addr).await?;
    let metrics_addr = metrics_listener
        .local_addr()
        .map_err(|e| ServeError::Other(e.to_string()))?;
    tokio::spawn(crate::metrics::serve(
        metrics_listener,
        Arc::clone(&metrics),
        Arc::clone(&health),
        shutdown_rx.clone(),
    ));
    let node = open_node(&config, tls.dial, metrics.upstream.clone()).await?;
    health.metadata.store(true, std::sync::atomic::Ordering::Relaxed);
    metrics.attach(crate::metrics::NodeParts {
        namespace: Arc::clone(&node.namespace),
        cluster: Arc::clone(&node.cluster),
    });
    let grpc_listener = bind(config.grpc_addr).await?;
    let advertise = match &config.advertise_addr {
        Some(a) => a.clone(),
        None if config.grpc_addr.ip().is_unspecified() => {
            return Err(ServeError::Other(format!(
                "--grpc-addr {} is not an address peers can reach: set --advertise-addr HOST:PORT",
                config.grpc_addr
            )));
        }
        None => config.grpc_addr.to_string(),
    };
    let grpc = tokio::spawn(crate::admin::serve(
        crate::admin::GrpcPort {
            listener: grpc_listener,
            tls: grpc_tls,
            calls: metrics.admin.clone(),
        },
        node.clone(),
        s3_port.1,
        shutdown_rx.clone(),
    ));
    let formed = node.form_cluster(&config, &advertise).await;
    if let Err(e) = formed {
        let _ = shutdown_tx.send(true);
        node.cluster.shutdown().await;
        return Err(e);
    }
    let s3_listener = bind(config.s3_addr).await?;
    let s3_addr = s3_listener.local_addr().map_err(|e| ServeError::Other(e.to_string()))?;
    let _ = s3_port.0.send(Some(s3_addr));
    // Peers pass requests for uploads staged here to this address.
    let s3_public = if s3_addr.ip().is_unspecified() {
        let host = advertise.rsplit_once(':').map_or(advertise.as_str(), |(h, _)| h);
        format!("{host}:{}", s3_addr.port())
    } else {
        s3_addr.to_string()
    };
    node.register_s3_endpoint(config.node_id, &s3_public).await;
    node.register_cache_node(config.node_id, &advertise).await;
    let service = crate::s3::build_service(
        &node,
        config.domain.as_deref(),
        Duration::from_secs(config.forward_timeout_secs.max(1)),
        Duration::from_secs(config.s3_body_timeout_secs.max(1)),
        metrics.s3.clone(),
        crate::s3::Caps {
            node: config.s3_max_requests,
            connection: config.s3_max_requests_per_connection,
        },
    )
    .map_err(|e| ServeError::Other(format!("domain {:?}: {e}", config.domain)))?;
    spawn_upload_sweeper(
        Arc::clone(&node.namespace),
        Duration::from_secs(config.multipart_expiry_secs),
        shutdown_rx,
    );
    info!(s3 = %s3_addr, grpc = %config.grpc_addr, metrics = %metrics_addr, node = config.node_id, data_dir = %config.data_dir.display(), "arustio is serving");
    println!(
        "arustio: S3 endpoint {scheme}://{s3_addr}, admin gRPC {scheme}://{}, metrics http://{metrics_addr}",
        config.grpc_addr
    );

    let limits = crate::listener::Limits {
        max_connections: config.s3_max_connections,
        header_timeout: Duration::from_secs(config.s3_header_timeout_secs.max(1)),
    };
    let http = crate::listener::http(limits);
    let gate = crate::listener::Gate::new(limits);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut stop = std::pin::pin!(shutdown_signal());
    let mut backoff = None;
    loop {
        let (socket, peer) = tokio::select! {
            res = s3_listener.accept() => match res {
                Ok(conn) => { backoff = None; conn }
                Err(e) => {
                    backoff = crate::listener::backoff(&e, backoff);
                    match backoff {
                        Some(wait) => tokio::select! {
                            () = tokio::time::sleep(wait) => {},
                            () = stop.as_mut() => break,
                        },
                        None => debug!(error = %e, "accept failed"),
                    }
                    continue;
                }
            },
            () = stop.as_mut() => break,
        };
        // Without it a response written as headers, then body, waits for the client's
        // delayed ACK (p90 44 ms for a 4 KiB GET, measured).
        if let Err(e) = socket.set_nodelay(true) {
            warn!(error = %e, "could not set TCP_NODELAY");
        }
        let admit = gate.admit();
        metrics.connections_accepted.inc();
        let open = OpenConnection::new(&metrics.connections);
        let (tls, http, service, watcher) = (
            s3_tls.clone(),
            http.clone(),
            service.for_connection(),
            graceful.watcher(),
        );
        // The handshake and the refusal run in the connection's task, so a slow one never
        // holds up accepting the next.
        tokio::spawn(async move {
            use crate::listener::{Admit, refuse, serve};
            let (permit, refusing) = match admit {
                Admit::Serve(p) => (p, false),
                Admit::Refuse(p) => (p, true),
                Admit::Drop => return,
            };
            match (tls, refusing) {
                (Some(tls), _) => {
                    let Some(stream) = crate::tls::accept(&tls, socket, peer).await else {
                        return;
                    };
                    if refusing {
                        refuse(stream).await;
                    } else {
                        serve(&http, stream, service, limits, watcher).await;
                    }
                }
                (None, true) => refuse(socket).await,
                (None, false) => serve(&http, socket, service, limits, watcher).await,
            }
            drop(permit);
            drop(open);
        });
    }
    info!("shutting down");
    let _ = shutdown_tx.send(true);
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(Duration::from_secs(10)) => warn!("connections still open after 10 s; closing"),
    }
    match grpc.await {
        Ok(Err(e)) => error!(error = %e, "admin API failed"),
        Err(e) => error!(error = %e, "admin API task failed"),
        Ok(Ok(())) => {}
    }
    node.cluster.shutdown().await;
    Ok(())
}

/// One open S3 connection in the `arustio_s3_connections` gauge, until dropped.
struct OpenConnection(prometheus_client::metrics::gauge::Gauge);

impl OpenConnection {
    fn new(gauge: &prometheus_client::metrics::gauge::Gauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}

/// Removes unfinished multipart uploads older than `max_age`, checking every few minutes.
fn spawn_upload_sweeper(ns: Arc<Namespace>, max_age: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = (max_age / 4).clamp(Duration::from_secs(1), Duration::from_secs(300));
    tokio::spawn(async move {
        loop {
            match ns.expire_uploads(max_age).await {
                Ok(0) => {}
                Ok(n) => info!(count = n, "expired unfinished multipart uploads"),
                Err(e) => warn!(error = %e, "sweeping expired multipart uploads failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {},
                _ = stop.changed() => return,
            }
        }
    });
}
