//! Virtual-host style addressing: `BUCKET.DOMAIN[:port]` names a bucket; any other host
//! (an IP, `localhost`, the bare domain) is path style.

use s3s::S3Result;
use s3s::host::{S3Host, VirtualHost};

/// Parses Host headers against one base domain, ignoring the port.
#[derive(Debug)]
pub(super) struct Domain(String);

impl Domain {
    /// A domain such as `s3.example.com`.
    pub(super) fn new(domain: &str) -> Result<Self, String> {
        let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        if d.is_empty() || d.contains(['/', ':']) {
            return Err(format!("expected a domain name like s3.example.com, not {domain:?}"));
        }
        Ok(Self(d))
    }
}

fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

impl S3Host for Domain {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        let bare = strip_port(host);
        let bucket = bare
            .len()
            .checked_sub(self.0.len() + 1)
            .filter(|&n| bare[n + 1..].eq_ignore_ascii_case(&self.0) && bare.as_bytes()[n] == b'.')
            .map(|n| &bare[..n]);
        Ok(match bucket {
            Some(b) if !b.is_empty() => VirtualHost::new(bare).with_bucket(b.to_ascii_lowercase()),
            _ => VirtualHost::new(bare),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_from_subdomains_only() {
        let d = Domain::new("s3.example.com").unwrap();
        let vh = d.parse_host_header("logs.s3.example.com:39999").unwrap();
        assert_eq!(vh.bucket(), Some("logs"));
        for path_style in ["s3.example.com", "127.0.0.1:39999", "localhost", "evils3.example.com"] {
            assert_eq!(d.parse_host_header(path_style).unwrap().bucket(), None, "{path_style}");
        }
        assert!(Domain::new("http://x").is_err());
    }
}
