//! TLS for a node: the certificate and key it serves S3 and gRPC with, the CA it verifies
//! its peers (and the CLI its node) against, the refusal to serve plaintext beyond
//! loopback, and the S3 port's handshake.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arustio_proto::dial::Dial;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::server::TlsStream;
use tonic::transport::{Identity, ServerTlsConfig};
use tracing::debug;

use crate::config::Config;

/// How long a connection may take to finish its TLS handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why TLS could not be set up, or a plaintext port was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsError {
    #[error("{what} {path}: {source}")]
    Read {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("{what} {path}: {reason}")]
    Pem {
        what: &'static str,
        path: String,
        reason: String,
    },
    #[error("{0}")]
    Flags(&'static str),
    #[error("TLS certificate and key: {0}")]
    Rustls(#[from] tokio_rustls::rustls::Error),
    #[error(
        "refusing to serve plaintext {port} on {addr}, which is not a loopback address: \
         give --tls-cert and --tls-key, or --insecure to allow it"
    )]
    Plaintext { port: &'static str, addr: SocketAddr },
}

/// What a node serves with, when it serves TLS.
pub(crate) struct ServerTls {
    /// The S3 port's acceptor (ALPN `h2` and `http/1.1`).
    pub s3: TlsAcceptor,
    /// The gRPC port's configuration (tonic does that handshake).
    pub grpc: ServerTlsConfig,
}

/// The node's TLS, as the config sets it: serving, if a certificate and key are given, and
/// how peers are dialed.
pub(crate) struct NodeTls {
    pub server: Option<ServerTls>,
    pub dial: Dial,
}

/// Refuses a plaintext S3 or gRPC address other than loopback, unless `insecure`.
pub(crate) fn check_plaintext_binds(config: &Config) -> Result<(), TlsError> {
    if config.tls_cert.is_some() || config.insecure {
        return Ok(());
    }
    for (port, addr) in [("S3", config.s3_addr), ("gRPC", config.grpc_addr)] {
        if !addr.ip().is_loopback() {
            return Err(TlsError::Plaintext { port, addr });
        }
    }
    Ok(())
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.display().to_string(),
        source,
    })
}

fn certificates(what: &'static str, path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bad = |reason: String| TlsError::Pem {
        what,
        path: path.display().to_string(),
        reason,
    };
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate (BEGIN CERTIFICATE) in it".into()));
    }
    Ok(certs)
}

/// Reads a CA file (PEM), checking that it holds at least one certificate.
pub(crate) fn read_ca(path: &Path) -> Result<Vec<u8>, TlsError> {
    let pem = read("CA file", path)?;
    certificates("CA file", path, &pem)?;
    Ok(pem)
}

/// Loads the config's certificate, key and CA.
pub(crate) fn load(config: &Config) -> Result<NodeTls, TlsError> {
    let (cert_path, key_path) = match (&config.tls_cert, &config.tls_key) {
        (Some(c), Some(k)) => (c, k),
        (None, None) if config.tls_ca.is_some() => {
            return Err(TlsError::Flags(
                "--tls-ca needs --tls-cert and --tls-key: a node dials its peers over TLS only when it serves TLS",
            ));
        }
        (None, None) => {
            return Ok(NodeTls {
                server: None,
                dial: Dial::plain(),
            });
        }
        _ => return Err(TlsError::Flags("--tls-cert and --tls-key go together")),
    };
    let dial = match &config.tls_ca {
        Some(ca) => Dial::tls(read_ca(ca)?),
        None if config.cluster_secret.is_some() || config.cluster_secret_file.is_some() || config.join.is_some() => {
            return Err(TlsError::Flags(
                "a cluster node with TLS needs --tls-ca: the CA its peers' certificates are verified against",
            ));
        }
        // A node alone never dials a peer.
        None => Dial::tls(Vec::new()),
    };
    let cert_pem = read("certificate", cert_path)?;
    let key_pem = read("key", key_path)?;
    let chain = certificates("certificate", cert_path, &cert_pem)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Pem {
        what: "key",
        path: key_path.display().to_string(),
        reason: format!("{e} (expected a PEM private key: PKCS#8, PKCS#1 or SEC1)"),
    })?;
    let mut s3 = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    s3.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let grpc = ServerTlsConfig::new()
        .identity(Identity::from_pem(cert_pem, key_pem))
        .timeout(HANDSHAKE_TIMEOUT);
    Ok(NodeTls {
        server: Some(ServerTls {
            s3: TlsAcceptor::from(Arc::new(s3)),
            grpc,
        }),
        dial,
    })
}

/// A client configuration trusting the CA `dial` names (none for a plain dial), for
/// forwarding S3 requests to other nodes.
pub(crate) fn https_client(dial: &Dial) -> ClientConfig {
    let mut roots = RootCertStore::empty();
    if let Some(pem) = dial.ca_pem() {
        roots.add_parsable_certificates(CertificateDer::pem_slice_iter(pem).filter_map(Result::ok));
    }
    ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// The body of the answer to a plain HTTP request on the TLS S3 port.
const PLAIN_HTTP_BODY: &str = "This port speaks HTTPS: use an https:// URL\n";

/// The TLS handshake of one S3 connection, within [`HANDSHAKE_TIMEOUT`]. A plain HTTP
/// request is answered with a 400 that says to use https; a failed handshake closes the
/// connection (logged at debug: scanners would flood the log).
pub(crate) async fn accept(
    acceptor: &TlsAcceptor,
    mut socket: TcpStream,
    peer: SocketAddr,
) -> Option<TlsStream<TcpStream>> {
    let handshake = async {
        let mut first = [0u8; 1];
        // Every TLS connection opens with a handshake record (content type 22).
        if socket.peek(&mut first).await? == 1 && first[0] != 22 {
            // Read what came, so that closing does not reset the connection before the
            // client reads the answer.
            let mut request = [0u8; 8192];
            let _ = socket.read(&mut request).await?;
            let reply = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{PLAIN_HTTP_BODY}",
                PLAIN_HTTP_BODY.len()
            );
            socket.write_all(reply.as_bytes()).await?;
            socket.shutdown().await?;
            return Err(std::io::Error::other("a plain HTTP request on the TLS port"));
        }
        acceptor.accept(socket).await
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(e)) => {
            debug!(%peer, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            debug!(%peer, "TLS handshake timed out");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(s3: &str, grpc: &str) -> Config {
        Config {
            s3_addr: s3.parse().unwrap(),
            grpc_addr: grpc.parse().unwrap(),
            ..Config::default()
        }
    }

    #[test]
    fn plaintext_beyond_loopback_is_refused_unless_insecure() {
        assert!(check_plaintext_binds(&config("127.0.0.1:1", "[::1]:2")).is_ok());
        let e = check_plaintext_binds(&config("0.0.0.0:1", "127.0.0.1:2")).unwrap_err();
        assert!(e.to_string().contains("plaintext S3 on 0.0.0.0:1"), "{e}");
        let e = check_plaintext_binds(&config("127.0.0.1:1", "10.0.0.5:2")).unwrap_err();
        assert!(e.to_string().contains("--insecure"), "{e}");
        let mut c = config("0.0.0.0:1", "0.0.0.0:2");
        c.insecure = true;
        assert!(check_plaintext_binds(&c).is_ok());
        c.insecure = false;
        c.tls_cert = Some("cert.pem".into());
        assert!(check_plaintext_binds(&c).is_ok());
    }

    #[test]
    fn flags_that_do_not_go_together_are_refused() {
        let mut c = Config::default();
        assert!(!load(&c).unwrap().dial.is_tls());
        c.tls_cert = Some("cert.pem".into());
        assert!(matches!(load(&c), Err(TlsError::Flags(_))));
        c.tls_cert = None;
        c.tls_ca = Some("ca.pem".into());
        assert!(matches!(load(&c), Err(TlsError::Flags(_))));
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "not a certificate").unwrap();
        let e = read_ca(&ca).unwrap_err();
        assert!(e.to_string().contains("no PEM certificate"), "{e}");
        assert!(matches!(
            read_ca(&dir.path().join("missing.pem")),
            Err(TlsError::Read { .. })
        ));
    }
}
