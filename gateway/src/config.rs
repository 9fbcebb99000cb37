//! Configuration: one struct, loaded by figment from defaults, a TOML file, `ARUSTIO_*`
//! environment variables and command-line flags, in that order.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Where node metadata is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum MetadataBackend {
    /// RocksDB under the data dir (the default).
    Rocksdb,
    /// In memory, lost at exit (for tests).
    Memory,
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    /// One readable line per event (the default).
    Text,
    /// One JSON object per line, with the request's span fields (its `request_id`).
    Json,
}

/// A mount declared in the config file (`[[mounts]]`), applied at every start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MountConfig {
    /// The mount point, e.g. `/data/lake`.
    pub path: String,
    /// The store, e.g. `local:///srv/lake` or `mem://scratch`.
    pub uri: String,
    /// Store options (`-o key=value` on the CLI); the secret ones are never logged.
    #[serde(default)]
    pub options: arustio_backends::MountOptions,
    /// Refuse every write.
    #[serde(default)]
    pub readonly: bool,
}

/// A secret from the config: `{:?}` shows `****`, so no log or panic message prints it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"****\"")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// The configuration of `arustio serve`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Config {
    /// Directory for all node state: metadata, the root mount's files, multipart staging.
    pub data_dir: PathBuf,
    /// Address of the S3 endpoint.
    pub s3_addr: SocketAddr,
    /// Address of the gRPC admin API.
    pub grpc_addr: SocketAddr,
    /// Address of the plain-HTTP metrics and health endpoints (`/metrics`,
    /// `/health/live`, `/health/ready`); port 0 picks a free one.
    pub metrics_addr: SocketAddr,
    /// Metadata store: `rocksdb` or `memory`.
    pub metadata: MetadataBackend,
    /// Root access key; with `secret_key`, replaces any stored pair.
    pub access_key: Option<String>,
    /// Root secret key.
    pub secret_key: Option<Secret>,
    /// Domain for virtual-host style requests (`bucket.DOMAIN`); path style always works.
    pub domain: Option<String>,
    /// Seconds after which an unfinished multipart upload is removed.
    pub multipart_expiry_secs: u64,
    /// Log filter (tracing `EnvFilter` syntax, as `RUST_LOG`), e.g. `info` or
    /// `info,arustio_namespace=debug`; without it, `RUST_LOG`, else the default.
    pub log: Option<String>,
    /// Log format: `text` or `json`.
    pub log_format: LogFormat,
    /// Mounts applied at start, idempotently.
    pub mounts: Vec<MountConfig>,
    /// This node's id in the cluster.
    pub node_id: u64,
    /// A node of the cluster to join (`http://HOST:PORT`, its gRPC address), for a node
    /// with an empty data dir.
    pub join: Option<String>,
    /// The gRPC address peers use to reach this node; defaults to `grpc_addr`.
    pub advertise_addr: Option<String>,
    /// The secret every node of a cluster shares; peers sign their calls with it.
    pub cluster_secret: Option<Secret>,
    /// A file holding the cluster secret (so that it is not in `ps`); its trailing
    /// newline is dropped.
    pub cluster_secret_file: Option<PathBuf>,
    /// Open S3 connections at most; past it a client gets 503 SlowDown.
    pub s3_max_connections: usize,
    /// S3 requests in flight on the node at most (a request counts until its response
    /// body has gone out); past it a request gets 503 SlowDown at once, never a queue.
    pub s3_max_requests: usize,
    /// S3 requests in flight on one connection at most (HTTP/2 streams); past it 503
    /// SlowDown.
    pub s3_max_requests_per_connection: usize,
    /// Seconds a client has to send a request's headers (its first, or its next on a
    /// kept-alive connection) before the connection is closed.
    pub s3_header_timeout_secs: u64,
    /// Seconds a request passed to another node (for an upload staged there) may go
    /// without its body moving or an answer coming.
    pub forward_timeout_secs: u64,
    /// Seconds a request body may go without a byte from the client (an upload that
    /// stalls) before the request fails with RequestTimeout.
    pub s3_body_timeout_secs: u64,
    /// Bytes of the block cache's memory tier (`512MiB`, `2GiB`, or a number of bytes);
    /// `0` turns the cache off.
    pub cache_memory: ByteSize,
    /// Directory of the block cache's disk tier; none by default.
    pub cache_disk_dir: Option<PathBuf>,
    /// Bytes of the disk tier (with `cache_disk_dir`).
    pub cache_disk: ByteSize,
    /// The cache's block size; part of every block's key, so a change never serves a
    /// block cut another way.
    pub cache_block_size: ByteSize,
    /// The certificate (PEM, the chain from the node's own) that S3 and gRPC are served
    /// with; with `tls_key`, the node serves only TLS.
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// The CA (PEM) that peers' certificates are verified against.
    pub tls_ca: Option<PathBuf>,
    /// Serve plaintext on addresses other than loopback (`true`, or `1` in the environment).
    #[serde(deserialize_with = "lenient_bool")]
    pub insecure: bool,
}

/// A boolean written as `true`/`false`, `1`/`0` or `yes`/`no` (environment variables
/// are commonly set to `1`).
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        B(bool),
        N(u64),
        S(String),
    }
    match Raw::deserialize(d)? {
        Raw::B(b) => Ok(b),
        Raw::N(0) => Ok(false),
        Raw::N(1) => Ok(true),
        Raw::S(s) if ["1", "true", "yes", "on"].contains(&s.to_ascii_lowercase().as_str()) => Ok(true),
        Raw::S(s) if ["0", "false", "no", "off", ""].contains(&s.to_ascii_lowercase().as_str()) => Ok(false),
        _ => Err(serde::de::Error::custom("expected true or false (or 1 or 0)")),
    }
}

/// A size in bytes, written as a number or with a binary unit (`4MiB`, `1GiB`; `K`, `M`,
/// `G`, `T` alone mean the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteSize(pub u64);

impl std::str::FromStr for ByteSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("{s:?}: expected a size such as 512MiB"))?;
        let shift = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 0,
            "k" | "kb" | "kib" => 10,
            "m" | "mb" | "mib" => 20,
            "g" | "gb" | "gib" => 30,
            "t" | "tb" | "tib" => 40,
            _ => return Err(format!("{s:?}: unknown unit (use KiB, MiB, GiB or TiB)")),
        };
        n.checked_mul(1 << shift)
            .map(Self)
            .ok_or_else(|| format!("{s:?}: too large"))
    }
}

impl Serialize for ByteSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(Self(n)),
            Raw::S(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: crate::default_data_dir(),
            s3_addr: SocketAddr::from(([127, 0, 0, 1], 39999)),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            metrics_addr: SocketAddr::from(([127, 0, 0, 1], 39998)),
            metadata: MetadataBackend::Rocksdb,
            access_key: None,
            secret_key: None,
            domain: None,
            multipart_expiry_secs: 24 * 3600,
            log: None,
            log_format: LogFormat::Text,
            mounts: Vec::new(),
            node_id: 1,
            join: None,
            advertise_addr: None,
            cluster_secret: None,
            cluster_secret_file: None,
            s3_max_connections: 1024,
            s3_max_requests: 1024,
            s3_max_requests_per_connection: 128,
            s3_header_timeout_secs: 30,
            forward_timeout_secs: 120,
            s3_body_timeout_secs: 60,
            cache_memory: ByteSize(512 << 20),
            cache_disk_dir: None,
            cache_disk: ByteSize(10 << 30),
            cache_block_size: ByteSize(arustio_cache::CHUNK_SIZE),
            tls_cert: None,
            tls_key: None,
            tls_ca: None,
            insecure: false,
        }
    }
}

/// The log filter when neither `log` nor `RUST_LOG` gives one.
pub(crate) const DEFAULT_LOG: &str = "info,s3s::ops=off,openraft=warn";

impl Config {
    /// The log filter: `log`, else `RUST_LOG`, else [`DEFAULT_LOG`].
    pub(crate) fn log_filter(&self) -> String {
        self.log
            .clone()
            .or_else(|| std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty()))
            .unwrap_or_else(|| DEFAULT_LOG.to_owned())
    }

    /// Loads defaults, then `file`, then `ARUSTIO_*` env, then `overrides`.
    pub(crate) fn load(file: Option<&Path>, overrides: &impl Serialize) -> Result<Self, Box<figment::Error>> {
        let mut fig = Figment::from(Serialized::defaults(Self::default()));
        if let Some(file) = file {
            if !file.is_file() {
                let msg = format!("config file {} does not exist", file.display());
                return Err(Box::new(figment::Error::from(msg)));
            }
            fig = fig.merge(Toml::file(file));
        }
        fig.merge(Env::prefixed("ARUSTIO_"))
            .merge(Serialized::globals(overrides))
            .extract()
            .map_err(Box::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct NoOverrides {}

    #[test]
    fn file_then_env_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("arustio.toml");
        std::fs::write(&file, "s3_addr = \"127.0.0.1:1234\"\nlog = \"debug\"\n").unwrap();
        let cfg = Config::load(Some(&file), &NoOverrides {}).unwrap();
        assert_eq!(cfg.s3_addr.port(), 1234);
        assert_eq!(cfg.log.as_deref(), Some("debug"));
        assert_eq!(cfg.grpc_addr.port(), 50051);
        #[derive(Serialize)]
        struct Flags {
            s3_addr: &'static str,
        }
        let cfg = Config::load(Some(&file), &Flags { s3_addr: "127.0.0.1:9" }).unwrap();
        assert_eq!(cfg.s3_addr.port(), 9);
        assert!(Config::load(Some(&dir.path().join("missing.toml")), &NoOverrides {}).is_err());
    }

    #[test]
    fn debug_shows_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("arustio.toml");
        std::fs::write(
            &file,
            "secret_key = \"root-s3cret\"\ncluster_secret = \"cluster-s3cret\"\n\
             [[mounts]]\npath = \"/a\"\nuri = \"s3://b\"\noptions = { secret_access_key = \"mount-s3cret\", region = \"eu\" }\n",
        )
        .unwrap();
        let cfg = Config::load(Some(&file), &NoOverrides {}).unwrap();
        assert_eq!(cfg.secret_key, Some(Secret("root-s3cret".into())));
        assert_eq!(cfg.mounts[0].options.0.get("region").map(String::as_str), Some("eu"));
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn cache_sizes_take_units() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("arustio.toml");
        std::fs::write(&file, "cache_memory = \"1GiB\"\ncache_block_size = 1048576\n").unwrap();
        let cfg = Config::load(Some(&file), &NoOverrides {}).unwrap();
        assert_eq!(cfg.cache_memory, ByteSize(1 << 30));
        assert_eq!(cfg.cache_block_size, ByteSize(1 << 20));
        assert_eq!(cfg.cache_disk_dir, None);
        assert_eq!(Config::default().cache_memory, ByteSize(512 << 20));
        assert_eq!("4MiB".parse::<ByteSize>(), Ok(ByteSize(4 << 20)));
        assert_eq!("64k".parse::<ByteSize>(), Ok(ByteSize(64 << 10)));
        assert!("4 parsecs".parse::<ByteSize>().is_err());
        std::fs::write(&file, "cache_memory = \"lots\"\n").unwrap();
        assert!(Config::load(Some(&file), &NoOverrides {}).is_err());
    }

    #[test]
    fn insecure_takes_a_bool_or_one_or_zero() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("arustio.toml");
        for (text, want) in [
            ("true", true),
            ("1", true),
            ("\"1\"", true),
            ("\"no\"", false),
            ("0", false),
        ] {
            std::fs::write(&file, format!("insecure = {text}\n")).unwrap();
            assert_eq!(
                Config::load(Some(&file), &NoOverrides {}).unwrap().insecure,
                want,
                "{text}"
            );
        }
        std::fs::write(&file, "insecure = 2\n").unwrap();
        assert!(Config::load(Some(&file), &NoOverrides {}).is_err());
        assert!(!Config::default().insecure);
    }
}
