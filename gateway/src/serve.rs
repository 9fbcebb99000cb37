//! `arustio serve`: opens the node's state, then runs the S3 endpoint and the admin API
//! until SIGINT or SIGTERM.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arustio_backends::{MountOptions, Registry};
use arustio_cache::CacheManager;
use arustio_namespace::{KvStore, MemKv, MountEntry, MountTable, Namespace};
use arustio_raft::{MetaCmd, MetaStore, RocksKv, RootCredentials};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use rand::Rng;
use serde::Serialize;
use tokio::net::TcpListener;
use tracing::{error, info, warn};

use crate::config::{Config, MetadataBackend};

/// Flags of `arustio serve`; each overrides the config file and environment.
#[derive(Debug, Default, clap::Args, Serialize)]
pub struct ServeArgs {
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
    /// Metadata store [default: rocksdb; env: ARUSTIO_METADATA]
    #[arg(long, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<MetadataBackend>,
    /// Domain for virtual-host style requests [env: ARUSTIO_DOMAIN]
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<String>,
    /// TOML config file
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    config: Option<PathBuf>,
}

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("configuration: {0}")]
    Config(#[from] Box<figment::Error>),
    #[error("data dir {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("metadata: {0}")]
    Meta(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("{0}")]
    Other(String),
}

/// Runs the server.
pub fn run(args: ServeArgs) -> Result<(), ServeError> {
    let config = Config::load(args.config.as_deref(), &args)?;
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log).unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let rt = tokio::runtime::Runtime::new().map_err(|e| ServeError::Other(e.to_string()))?;
    rt.block_on(serve(config))
}

fn create_private_dir(path: &Path) -> Result<(), ServeError> {
    use std::os::unix::fs::PermissionsExt;
    let err = |source| ServeError::DataDir {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(path).map_err(err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(err)
}

/// The node's state, opened.
pub struct Node {
    pub meta: Arc<MetaStore>,
    pub namespace: Arc<Namespace>,
    pub credentials: RootCredentials,
}

/// Opens (or creates) the state under the data dir.
pub fn open_node(config: &Config) -> Result<Node, ServeError> {
    let data = &config.data_dir;
    create_private_dir(data)?;
    let data = data.canonicalize().map_err(|source| ServeError::DataDir {
        path: data.display().to_string(),
        source,
    })?;
    let kv: Arc<dyn KvStore> = match config.metadata {
        MetadataBackend::Rocksdb => Arc::new(
            RocksKv::open(&data.join("meta"))
                .map_err(|e| ServeError::Meta(format!("{e} (is another arustio using this data dir?)")))?,
        ),
        MetadataBackend::Memory => Arc::new(MemKv::default()),
    };
    let meta = Arc::new(MetaStore::open(Arc::clone(&kv)).map_err(|e| ServeError::Meta(e.to_string()))?);
    if !meta.mounts().iter().any(|m| m.path.is_empty()) {
        let root = data.join("root");
        create_private_dir(&root)?;
        let entry = MountEntry {
            path: String::new(),
            uri: format!("local://{}", root.display()),
            options: MountOptions::default(),
            readonly: false,
        };
        meta.apply(&MetaCmd::Mount(entry))
            .map_err(|e| ServeError::Meta(e.to_string()))?;
        info!(root = %root.display(), "mounted the root / on a local directory");
    }
    let registry = Arc::new(Registry::new());
    apply_config_mounts(config, &meta, &registry)?;
    let credentials = root_credentials(config, &meta)?;
    let staging = data.join("multipart");
    create_private_dir(&staging)?;
    let mounts: Arc<dyn MountTable> = Arc::clone(&meta) as Arc<dyn MountTable>;
    let namespace = Arc::new(Namespace::new(
        mounts,
        registry,
        kv,
        CacheManager::passthrough(),
        staging,
    ));
    Ok(Node {
        meta,
        namespace,
        credentials,
    })
}

/// Applies the config's `[[mounts]]`: an identical mount is left alone, a missing one is
/// made (so an unmounted config mount comes back), and a different mount at the same
/// path stops the start.
fn apply_config_mounts(config: &Config, meta: &MetaStore, registry: &Registry) -> Result<(), ServeError> {
    for m in &config.mounts {
        let bad = |e: &dyn std::fmt::Display| ServeError::Other(format!("config mount {} {}: {e}", m.path, m.uri));
        let path = arustio_namespace::check_mount_path(&m.path).map_err(|e| bad(&e))?;
        let kind = arustio_backends::MountUri::parse(&m.uri).map_err(|e| bad(&e))?.kind;
        let options = MountOptions(m.options.clone()).canonical(kind).map_err(|e| bad(&e))?;
        let readonly = m.readonly || options.readonly();
        registry.backend(&m.uri, &options).map_err(|e| bad(&e))?;
        let entry = MountEntry {
            path,
            uri: m.uri.clone(),
            options,
            readonly,
        };
        match meta.mounts().iter().find(|e| e.path == entry.path) {
            Some(existing) if *existing == entry => {}
            Some(existing) => {
                return Err(ServeError::Other(format!(
                    "config mount {} {} conflicts with the runtime mount {} {}; unmount one of them",
                    entry.display_path(),
                    entry.uri,
                    existing.display_path(),
                    existing.uri
                )));
            }
            None => {
                meta.apply(&MetaCmd::Mount(entry.clone())).map_err(|e| bad(&e))?;
                info!(path = %entry.display_path(), uri = %entry.uri, "mounted from the config");
            }
        }
    }
    Ok(())
}

/// The root pair: from the config (replacing the stored one), else stored, else made
/// now and printed once to stdout, never to the log.
fn root_credentials(config: &Config, meta: &MetaStore) -> Result<RootCredentials, ServeError> {
    let meta_err = |e: arustio_raft::ApplyError| ServeError::Meta(e.to_string());
    match (&config.access_key, &config.secret_key) {
        (Some(access_key), Some(secret_key)) => {
            if access_key.is_empty() || secret_key.len() < 8 {
                return Err(ServeError::Other(
                    "ARUSTIO_ACCESS_KEY must not be empty and ARUSTIO_SECRET_KEY needs at least 8 characters".into(),
                ));
            }
            let creds = RootCredentials {
                access_key: access_key.clone(),
                secret_key: secret_key.clone(),
            };
            if meta.root_credentials().map_err(meta_err)?.as_ref() != Some(&creds) {
                meta.apply(&MetaCmd::SetRootCredentials(creds.clone()))
                    .map_err(meta_err)?;
                info!("root credentials set from the configuration");
            }
            Ok(creds)
        }
        (Some(_), None) | (None, Some(_)) => Err(ServeError::Other(
            "set both ARUSTIO_ACCESS_KEY and ARUSTIO_SECRET_KEY, or neither".into(),
        )),
        (None, None) => {
            if let Some(creds) = meta.root_credentials().map_err(meta_err)? {
                return Ok(creds);
            }
            let creds = RootCredentials {
                access_key: random_string(20, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
                secret_key: random_string(40, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
            };
            meta.apply(&MetaCmd::SetRootCredentials(creds.clone()))
                .map_err(meta_err)?;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "# New root credentials (shown once; stored in the data dir). Paste into your shell:"
            );
            let _ = writeln!(
                out,
                "export AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}",
                creds.access_key, creds.secret_key
            );
            let _ = writeln!(
                out,
                "export ARUSTIO_ACCESS_KEY={} ARUSTIO_SECRET_KEY={}",
                creds.access_key, creds.secret_key
            );
            let _ = out.flush();
            Ok(creds)
        }
    }
}

fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

async fn serve(config: Config) -> Result<(), ServeError> {
    let node = open_node(&config)?;
    let s3_listener = TcpListener::bind(config.s3_addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.s3_addr.to_string(),
            source,
        })?;
    let grpc_listener = TcpListener::bind(config.grpc_addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.grpc_addr.to_string(),
            source,
        })?;
    let s3_addr = s3_listener.local_addr().map_err(|e| ServeError::Other(e.to_string()))?;
    let service = crate::s3::build_service(Arc::clone(&node.namespace), &node.credentials, config.domain.as_deref())
        .map_err(|e| ServeError::Other(format!("domain {:?}: {e}", config.domain)))?;
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let grpc = tokio::spawn(crate::admin::serve(
        grpc_listener,
        Arc::clone(&node.meta),
        Arc::clone(&node.namespace),
        node.credentials.clone(),
        s3_addr,
        shutdown_rx.clone(),
    ));
    spawn_upload_sweeper(
        Arc::clone(&node.namespace),
        Duration::from_secs(config.multipart_expiry_secs),
        shutdown_rx,
    );
    info!(s3 = %s3_addr, grpc = %config.grpc_addr, data_dir = %config.data_dir.display(), "arustio is serving");
    println!(
        "arustio: S3 endpoint http://{s3_addr}, admin gRPC http://{}",
        config.grpc_addr
    );

    let http = ConnBuilder::new(TokioExecutor::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut stop = std::pin::pin!(shutdown_signal());
    loop {
        let (socket, _) = tokio::select! {
            res = s3_listener.accept() => match res {
                Ok(conn) => conn,
                Err(e) => { warn!(error = %e, "accept failed"); continue; }
            },
            () = stop.as_mut() => break,
        };
        let conn = http.serve_connection(TokioIo::new(socket), service.clone());
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            let _ = conn.await;
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
    Ok(())
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
