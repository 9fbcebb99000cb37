//! How a node dials its peers' gRPC port, and the CLI a node's: plain HTTP/2 (`http://`),
//! or TLS (`https://`) with the server's certificate verified against a CA.

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

/// Plain, or TLS trusting one CA. A node dials every peer the same way: the nodes of a
/// cluster all use TLS, or none does.
#[derive(Debug, Clone, Default)]
pub struct Dial {
    /// The CA (PEM) server certificates must chain to; `None` dials plain HTTP/2.
    ca: Option<Certificate>,
}

impl Dial {
    /// Plain HTTP/2, no TLS.
    pub fn plain() -> Self {
        Self::default()
    }

    /// TLS, trusting the CA certificates in `ca_pem` (and nothing else).
    pub fn tls(ca_pem: impl AsRef<[u8]>) -> Self {
        Self {
            ca: Some(Certificate::from_pem(ca_pem)),
        }
    }

    /// Whether calls go over TLS.
    pub fn is_tls(&self) -> bool {
        self.ca.is_some()
    }

    /// The trusted CA certificates (PEM), with TLS.
    pub fn ca_pem(&self) -> Option<&[u8]> {
        self.ca.as_ref().map(Certificate::get_ref)
    }

    /// `https` or `http`.
    pub fn scheme(&self) -> &'static str {
        if self.is_tls() { "https" } else { "http" }
    }

    /// The URL of `addr` (`HOST:PORT`) in this dial's scheme.
    pub fn url(&self, addr: &str) -> String {
        format!("{}://{addr}", self.scheme())
    }

    /// An endpoint for `addr` (`HOST:PORT`); with TLS, the certificate must name `HOST`
    /// (a DNS or an IP address SAN).
    pub fn endpoint(&self, addr: &str) -> Result<Endpoint, tonic::transport::Error> {
        let endpoint = Endpoint::from_shared(self.url(addr))?;
        match &self.ca {
            Some(ca) => endpoint.tls_config(ClientTlsConfig::new().ca_certificate(ca.clone())),
            None => Ok(endpoint),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_follows_the_ca() {
        assert_eq!(Dial::plain().url("127.0.0.1:1"), "http://127.0.0.1:1");
        let tls = Dial::tls(b"not checked until a handshake".as_slice());
        assert!(tls.is_tls());
        assert_eq!(tls.url("localhost:2"), "https://localhost:2");
        assert!(Dial::plain().endpoint("bad address").is_err());
    }
}
