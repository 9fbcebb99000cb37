//! A node's state: its KV store, the replicated metadata and its Raft, the namespace; and
//! how a node comes into a cluster (its own, or one it joins) at start.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arustio_backends::{MountOptions, Registry, UpstreamMetrics};
use arustio_cache::{CacheConfig, CacheManager, Members};
use arustio_namespace::{MountEntry, MountTable, Namespace};
use arustio_proto::auth::Key;
use arustio_proto::dial::Dial;
use arustio_raft::{
    ClusterError, ClusterNode, LeaderOp, MetaCmd, MetaStore, RootCredentials, Timings, forward_to, retry_until,
};
use arustio_storage::{KvStore, MemKv, RocksKv};
use rand::Rng;
use tracing::{info, warn};

use crate::config::{Config, MetadataBackend};
use crate::mounts::{self, Checks, mount_entry};
use crate::serve_error::ServeError;

fn create_private_dir(path: &Path) -> Result<(), ServeError> {
    use std::os::unix::fs::PermissionsExt;
    let err = |source| ServeError::DataDir {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(path).map_err(err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(err)
}

fn meta_err(e: impl std::fmt::Display) -> ServeError {
    ServeError::Meta(e.to_string())
}

/// The node's state, opened (a set of handles: a clone shares it).
#[derive(Clone)]
pub(crate) struct Node {
    pub meta: Arc<MetaStore>,
    pub namespace: Arc<Namespace>,
    pub cluster: Arc<ClusterNode>,
    /// Signs and checks peer calls; `None` without a cluster secret (a node alone).
    pub cluster_key: Option<Key>,
    /// Seals users' secrets at rest.
    pub sealer: Arc<crate::seal::Sealer>,
}

/// Opens (or creates) the state under the data dir and starts the node's Raft, which
/// dials its peers as `dial` says.
/// Requests to the stores are counted in `upstream`.
pub(crate) async fn open_node(config: &Config, dial: Dial, upstream: UpstreamMetrics) -> Result<Node, ServeError> {
    let cluster_secret = crate::secret::cluster_secret(config)?;
    let data = &config.data_dir;
    create_private_dir(data)?;
    let data = data.canonicalize().map_err(|source| ServeError::DataDir {
        path: data.display().to_string(),
        source,
    })?;
    let kv: Arc<dyn KvStore> = match config.metadata {
        MetadataBackend::Rocksdb => Arc::new(RocksKv::open(&data.join("meta")).map_err(meta_err)?),
        MetadataBackend::Memory => Arc::new(MemKv::default()),
    };
    // `/` is each node's own directory unless a replicated mount takes it.
    let root = data.join("root");
    create_private_dir(&root)?;
    let local_root = MountEntry {
        path: String::new(),
        uri: format!("local://{}", root.display()),
        options: MountOptions::default(),
        readonly: false,
    };
    let meta = Arc::new(MetaStore::open(Arc::clone(&kv), Some(local_root)).map_err(meta_err)?);
    let sealer = Arc::new(match &cluster_secret {
        Some(secret) => crate::seal::Sealer::from_cluster_secret(secret),
        None => crate::seal::Sealer::from_node_key(&data).map_err(|source| ServeError::DataDir {
            path: data.display().to_string(),
            source,
        })?,
    });
    let cluster_key = cluster_secret.map(|secret| Key {
        id: "cluster".into(),
        secret,
    });
    // A node alone still signs (nobody will check): a key of its own.
    let signing = cluster_key.clone().unwrap_or_else(|| Key {
        id: "cluster".into(),
        secret: random_string(32, b"abcdefghijklmnopqrstuvwxyz0123456789"),
    });
    let cache = open_cache(config, &data).await?;
    cache.attach(
        Arc::clone(&meta) as Arc<dyn Members>,
        Arc::new(crate::cache_peers::GrpcPeers::new(signing.clone(), dial.clone())),
    );
    let cluster = ClusterNode::start(
        config.node_id,
        Arc::clone(&kv),
        Arc::clone(&meta),
        signing,
        dial,
        &Timings::default(),
    )
    .await
    .map_err(meta_err)?;
    // No mount may expose the node's state (RocksDB holds the secrets), only its own `/`.
    let mut protected = vec![data.clone()];
    protected.extend(config.cache_disk_dir.iter().map(|d| data.join(d)));
    let registry =
        Arc::new(Registry::protecting(&protected, std::slice::from_ref(&root)).with_upstream_metrics(upstream));
    let staging = data.join("multipart");
    create_private_dir(&staging)?;
    let mounts: Arc<dyn MountTable> = Arc::clone(&meta) as Arc<dyn MountTable>;
    let namespace = Arc::new(Namespace::new(mounts, Arc::clone(&registry), kv, cache, staging));
    // Nothing is in flight yet: what staging holds beyond whole uploads is a crash's, and
    // so are temporary files in this node's own root (only the gateway writes there).
    namespace.reclaim_staging().await;
    let root_dir = root.clone();
    let reclaimed = tokio::task::spawn_blocking(move || arustio_backends::reclaim_temp_files(&root_dir))
        .await
        .unwrap_or_default();
    if reclaimed > 0 {
        info!(
            count = reclaimed,
            "removed the temporary files of writes a crash cut short"
        );
    }
    Ok(Node {
        meta,
        namespace,
        cluster,
        cluster_key,
        sealer,
    })
}

/// The block cache the config asks for: off with `cache_memory = 0`.
async fn open_cache(config: &Config, data: &Path) -> Result<CacheManager, ServeError> {
    if config.cache_memory.0 == 0 {
        return Ok(CacheManager::passthrough());
    }
    let disk_dir = config
        .cache_disk_dir
        .as_ref()
        .map(|d| if d.is_absolute() { d.clone() } else { data.join(d) });
    let cfg = CacheConfig {
        node_id: config.node_id,
        memory: config.cache_memory.0,
        disk_dir,
        disk: config.cache_disk.0,
        block_size: config.cache_block_size.0,
        ..CacheConfig::default()
    };
    if cfg.block_size < 4096 || cfg.block_size > 64 << 20 {
        return Err(ServeError::Other(format!(
            "cache_block_size {} is out of range: use 4KiB to 64MiB",
            cfg.block_size
        )));
    }
    CacheManager::open(cfg)
        .await
        .map_err(|e| ServeError::Other(format!("block cache: {e}")))
}

/// `http://HOST:PORT` (or `HOST:PORT`) to `HOST:PORT`.
fn host_port(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.trim_end_matches('/')
}

impl Node {
    /// Brings the node into its cluster: a new node makes a cluster of one, or asks the
    /// cluster at `--join` to add it; then it catches up. Returns the root credentials.
    pub(crate) async fn form_cluster(&self, config: &Config, advertise: &str) -> Result<RootCredentials, ServeError> {
        let joining = !self.cluster.is_initialized().await.map_err(meta_err)?;
        match (&config.join, joining) {
            (Some(url), true) => {
                let key = self.cluster_key.as_ref().ok_or_else(|| {
                    ServeError::Other("--join needs the cluster's secret: set --cluster-secret".into())
                })?;
                let target = host_port(url);
                info!(
                    node = config.node_id,
                    cluster = target,
                    "asking the cluster to add this node"
                );
                let op = LeaderOp::AddNode {
                    id: config.node_id,
                    addr: advertise.to_owned(),
                    voter: true,
                };
                // The cluster may be starting too: ask again for a while.
                let retryable = |e: &ClusterError| {
                    let again = !matches!(e, ClusterError::Refused(_) | ClusterError::Invalid(_));
                    if again {
                        warn!(error = %e, "the cluster did not take this node yet; asking again");
                    }
                    again
                };
                let ask = || forward_to(target, key, self.cluster.dial(), &op);
                retry_until(Duration::from_secs(30), Duration::from_millis(500), retryable, ask)
                    .await
                    .map_err(|e| ServeError::Other(format!("joining the cluster at {url}: {e}")))?;
                self.cluster
                    .wait_until_caught_up(Duration::from_secs(60))
                    .await
                    .map_err(|e| ServeError::Other(format!("catching up with the cluster: {e}")))?;
                info!(node = config.node_id, "joined the cluster");
            }
            (None, true) => {
                self.cluster.initialize(advertise).await.map_err(meta_err)?;
                info!(node = config.node_id, addr = advertise, "made a new cluster of one");
                self.cluster
                    .wait_until_caught_up(Duration::from_secs(30))
                    .await
                    .map_err(meta_err)?;
            }
            (join, false) => {
                if join.is_some() {
                    info!("this node is already a cluster member; --join ignored");
                }
                // A restarted node serves what it has even without a quorum.
                if let Err(e) = self.cluster.wait_until_caught_up(Duration::from_secs(10)).await {
                    warn!(error = %e, "not caught up with the cluster yet; serving local state");
                }
            }
        }
        self.apply_config_mounts(config).await?;
        self.root_credentials(config, config.join.is_some() && joining).await
    }

    /// Registers this node on the cache's ring (peers fetch its blocks at `addr`, its gRPC
    /// address), unless it already is, at that address.
    pub(crate) async fn register_cache_node(&self, id: u64, addr: &str) {
        if !self.namespace.cache().enabled() || self.meta.cache_node_addr(id).as_deref() == Some(addr) {
            return;
        }
        let cmd = MetaCmd::AddCacheNode {
            id,
            addr: addr.to_owned(),
        };
        if let Err(e) = self.cluster.write(cmd).await {
            warn!(error = %e, "could not register this node's cache; peers will not fetch blocks from it");
        }
    }

    /// Records where this node's S3 endpoint is, unless the cluster already has it.
    pub(crate) async fn register_s3_endpoint(&self, id: u64, s3_addr: &str) {
        if self.meta.node_s3_addr(id).as_deref() == Some(s3_addr) {
            return;
        }
        let cmd = MetaCmd::SetNodeEndpoint {
            id,
            s3_addr: s3_addr.to_owned(),
        };
        if let Err(e) = self.cluster.write(cmd).await {
            warn!(error = %e, "could not record this node's S3 endpoint; uploads staged here serve only through it");
        }
    }

    /// Applies the config's `[[mounts]]`: an identical mount is left alone, a missing one
    /// is made (so an unmounted config mount comes back) as the admin API makes one, except
    /// that a store need not answer yet and a config mount may hide objects (it is
    /// declared, as `--shadow` is), and a different mount at the same path stops the start.
    async fn apply_config_mounts(&self, config: &Config) -> Result<(), ServeError> {
        for m in &config.mounts {
            let bad = |e: &dyn std::fmt::Display| ServeError::Other(format!("config mount {} {}: {e}", m.path, m.uri));
            let entry = mount_entry(&m.path, &m.uri, &m.options, m.readonly).map_err(|e| bad(&e))?;
            match self.meta.mounts().iter().find(|e| e.path == entry.path) {
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
                    let checks = Checks {
                        shadow: true,
                        probe: false,
                    };
                    mounts::mount(&self.namespace, &self.cluster, &self.meta, &entry, checks)
                        .await
                        .map_err(|e| bad(&e))?;
                    info!(path = %entry.display_path(), uri = %entry.uri, "mounted from the config");
                }
            }
        }
        Ok(())
    }

    /// The root pair: from the config (replacing the stored one), else stored, else made
    /// now and printed once to stdout, never to the log. A node that joined a cluster takes
    /// the cluster's.
    async fn root_credentials(&self, config: &Config, joined: bool) -> Result<RootCredentials, ServeError> {
        if joined {
            // The first node may still be setting them.
            let stored = || async { self.meta.root_credentials().ok_or(()) };
            let creds = retry_until(Duration::from_secs(30), Duration::from_millis(200), |_| true, stored)
                .await
                .map_err(|()| ServeError::Meta("the cluster has no root credentials".into()))?;
            if config.access_key.as_ref().is_some_and(|k| *k != creds.access_key) {
                warn!("ARUSTIO_ACCESS_KEY differs from the cluster's root credentials; using the cluster's");
            }
            return Ok(creds);
        }
        let stored = self.meta.root_credentials();
        match (&config.access_key, &config.secret_key) {
            (Some(access_key), Some(secret_key)) => {
                if access_key.is_empty() || secret_key.0.len() < 8 {
                    return Err(ServeError::Other(
                        "ARUSTIO_ACCESS_KEY must not be empty and ARUSTIO_SECRET_KEY needs at least 8 characters"
                            .into(),
                    ));
                }
                let creds = RootCredentials {
                    access_key: access_key.clone(),
                    secret_key: secret_key.0.clone(),
                };
                if stored.as_ref() != Some(&creds) {
                    self.cluster
                        .write(MetaCmd::SetRootCredentials(creds.clone()))
                        .await
                        .map_err(meta_err)?;
                    info!("root credentials set from the configuration");
                }
                Ok(creds)
            }
            (Some(_), None) | (None, Some(_)) => Err(ServeError::Other(
                "set both ARUSTIO_ACCESS_KEY and ARUSTIO_SECRET_KEY, or neither".into(),
            )),
            (None, None) => {
                if let Some(creds) = stored {
                    return Ok(creds);
                }
                let creds = RootCredentials {
                    access_key: random_string(20, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
                    secret_key: random_string(40, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
                };
                self.cluster
                    .write(MetaCmd::SetRootCredentials(creds.clone()))
                    .await
                    .map_err(meta_err)?;
                print_new_credentials(&creds);
                Ok(creds)
            }
        }
    }
}

fn print_new_credentials(creds: &RootCredentials) {
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
}

/// `len` characters drawn from `alphabet`.
pub(crate) fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}
