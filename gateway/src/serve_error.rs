//! The errors that stop the server from starting, shared by `serve` and the node set-up.

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServeError {
    #[error("configuration: {0}")]
    Config(#[from] Box<figment::Error>),
    #[error("data dir {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("metadata: {0}")]
    Meta(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("{0}")]
    Other(String),
}
