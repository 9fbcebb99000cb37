//! The admin CLI: connects to a node's gRPC admin API with signed calls.

pub(crate) mod cache;
pub(crate) mod cluster;
mod copy;
pub(crate) mod fs;
pub(crate) mod health;
mod list;
mod table;
pub(crate) mod user;

use std::path::{Path, PathBuf};

use arustio_proto::admin::admin_client::AdminClient;
use arustio_proto::dial::Dial;
use arustio_raft::RootCredentials;
use serde::Deserialize;
use tonic::transport::Channel;

use crate::admin::Signed;

/// An admin client whose every call is signed, and how it dialed its node (to reach the
/// node's peers the same way).
pub(crate) struct Client {
    admin: AdminClient<Signed<Channel>>,
    dial: Dial,
}

impl std::ops::Deref for Client {
    type Target = AdminClient<Signed<Channel>>;
    fn deref(&self) -> &Self::Target {
        &self.admin
    }
}

impl std::ops::DerefMut for Client {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.admin
    }
}

impl Client {
    /// A client of another node, at `addr` (`HOST:PORT`), dialed as this one was.
    pub(crate) async fn peer(&self, addr: &str) -> Result<Self, CliError> {
        open(&self.dial.url(addr), self.dial.clone(), addr).await
    }
}

/// A CLI failure, printed as one line.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
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
            // What a plaintext call to a TLS port ends in: the server drops the connection,
            // maybe after a TLS alert.
            tonic::Code::Unknown | tonic::Code::Internal
                if msg == "transport error" || msg.starts_with("h2 protocol error") =>
            {
                Self::Status(format!(
                    "{msg} (if the node serves TLS, give an https:// address and --tls-ca)"
                ))
            }
            _ => Self::Status(msg),
        }
    }
}

impl CliError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
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
    tls_ca: Option<PathBuf>,
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

/// The server URL (`-s`, `ARUSTIO_SERVER`, the config file, or the default) and the CA
/// (`--tls-ca`, `ARUSTIO_TLS_CA`, the config file, or none).
pub(crate) fn server_url(flag: Option<String>, tls_ca: Option<PathBuf>) -> (String, Option<PathBuf>) {
    let file = cli_config();
    let tls_ca = tls_ca.or(file.tls_ca);
    let default = if tls_ca.is_some() { "https" } else { "http" };
    let server = flag
        .or(file.server)
        .unwrap_or_else(|| format!("{default}://127.0.0.1:50051"));
    (server, tls_ca)
}

/// How to dial `server` (`http://HOST:PORT`, `https://HOST:PORT` or `HOST:PORT`), and its
/// `HOST:PORT`: https needs the CA, and a CA asks for https.
fn dial_for(server: &str, tls_ca: Option<&Path>) -> Result<(Dial, String), CliError> {
    let (scheme, rest) = server.split_once("://").unwrap_or(("", server));
    let addr = rest.trim_end_matches('/').to_owned();
    match (scheme, tls_ca) {
        ("https" | "", Some(ca)) => {
            let pem = crate::tls::read_ca(ca).map_err(|e| CliError::Usage(e.to_string()))?;
            Ok((Dial::tls(pem), addr))
        }
        ("http" | "", None) => Ok((Dial::plain(), addr)),
        ("https", None) => Err(CliError::Usage(format!(
            "{server}: https needs --tls-ca FILE (or ARUSTIO_TLS_CA), the CA that signed the server's certificate"
        ))),
        ("http", Some(_)) => Err(CliError::Usage(format!(
            "{server}: --tls-ca is for an https:// server; use https://{addr}"
        ))),
        (other, _) => Err(CliError::Usage(format!(
            "{server}: unknown scheme {other}:// (use http:// or https://)"
        ))),
    }
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

/// Connects to `server` with the CLI's credentials; over https, verifies its certificate
/// against `tls_ca`.
pub(crate) async fn connect(server: &str, tls_ca: Option<&Path>) -> Result<Client, CliError> {
    let (dial, addr) = dial_for(server, tls_ca)?;
    open(server, dial, &addr).await
}

async fn open(server: &str, dial: Dial, addr: &str) -> Result<Client, CliError> {
    let creds = credentials()?;
    let bad = |reason: String| CliError::Connect {
        server: server.to_owned(),
        reason,
    };
    let endpoint = dial.endpoint(addr).map_err(|e| bad(e.to_string()))?;
    let channel = endpoint
        .connect_timeout(std::time::Duration::from_secs(5))
        .tcp_nodelay(true)
        .connect()
        .await
        .map_err(|e| bad(std::error::Error::source(&e).map_or_else(|| e.to_string(), ToString::to_string)))?;
    let admin = AdminClient::new(Signed::new(channel, creds.into())).max_decoding_message_size(64 * 1024 * 1024);
    Ok(Client { admin, dial })
}
