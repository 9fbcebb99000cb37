//! The admin CLI: connects to a node's gRPC admin API with signed calls.

pub mod cache;
pub mod cluster;
mod copy;
pub mod fs;

use std::path::PathBuf;

use arustio_proto::admin::admin_client::AdminClient;
use arustio_raft::RootCredentials;
use serde::Deserialize;
use tonic::transport::{Channel, Endpoint};

use crate::admin::Signed;

/// An admin client whose every call is signed.
pub type Client = AdminClient<Signed<Channel>>;

/// A CLI failure, printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("cannot reach the admin API at {server}: {reason}")]
    Connect { server: String, reason: String },
    #[error("{0}")]
    Status(String),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

impl From<tonic::Status> for CliError {
    fn from(s: tonic::Status) -> Self {
        let msg = s.message().to_owned();
        match s.code() {
            tonic::Code::Unauthenticated => Self::Status(format!("admin call refused: {msg}")),
            tonic::Code::Unavailable => Self::Status(format!("server unavailable: {msg}")),
            _ => Self::Status(msg),
        }
    }
}

impl CliError {
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// `~/.config/arustio/config.toml`.
#[derive(Debug, Default, Deserialize)]
struct CliConfig {
    server: Option<String>,
    access_key: Option<String>,
    secret_key: Option<String>,
}

fn cli_config() -> CliConfig {
    let Some(home) = std::env::var_os("HOME") else {
        return CliConfig::default();
    };
    let path = PathBuf::from(home).join(".config/arustio/config.toml");
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| toml::from_str(&s).ok())
        .unwrap_or_default()
}

/// The server URL: `-s`, `ARUSTIO_SERVER`, the config file, or the default.
pub fn server_url(flag: Option<String>) -> String {
    flag.or_else(|| cli_config().server)
        .unwrap_or_else(|| "http://127.0.0.1:50051".to_owned())
}

fn credentials() -> Result<RootCredentials, CliError> {
    let file = cli_config();
    let ak = std::env::var("ARUSTIO_ACCESS_KEY").ok().or(file.access_key);
    let sk = std::env::var("ARUSTIO_SECRET_KEY").ok().or(file.secret_key);
    match (ak, sk) {
        (Some(access_key), Some(secret_key)) => Ok(RootCredentials { access_key, secret_key }),
        _ => Err(CliError::Usage(
            "no admin credentials: set ARUSTIO_ACCESS_KEY and ARUSTIO_SECRET_KEY (printed by the first `arustio serve`), \
             or access_key and secret_key in ~/.config/arustio/config.toml"
                .to_owned(),
        )),
    }
}

/// Connects to `server` with the CLI's credentials.
pub async fn connect(server: &str) -> Result<Client, CliError> {
    let creds = credentials()?;
    let bad = |reason: String| CliError::Connect {
        server: server.to_owned(),
        reason,
    };
    let endpoint = Endpoint::from_shared(server.to_owned()).map_err(|e| bad(e.to_string()))?;
    let channel = endpoint
        .connect_timeout(std::time::Duration::from_secs(5))
        .tcp_nodelay(true)
        .connect()
        .await
        .map_err(|e| bad(std::error::Error::source(&e).map_or_else(|| e.to_string(), ToString::to_string)))?;
    Ok(AdminClient::new(Signed::new(channel, creds.into())).max_decoding_message_size(64 * 1024 * 1024))
}
