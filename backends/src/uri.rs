//! Mount URIs: the scheme names the kind of store.

use std::fmt;
use std::path::PathBuf;

use crate::BackendError;

/// The kinds of store a mount can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreKind {
    /// A directory on this node (`local://`, `file://`).
    Local,
    /// A named in-memory store on this node (`mem://`).
    Memory,
    /// Amazon S3 or an S3-compatible store (`s3://`, `s3a://`).
    S3,
    /// Azure Blob Storage (`az://`, `azure://`, `abfs[s]://`).
    Azure,
    /// Google Cloud Storage (`gs://`).
    Gcs,
}

impl StoreKind {
    /// The name shown in mount listings.
    pub fn label(self) -> &'static str {
        match self {
            Self::Local => "Local",
            Self::Memory => "Memory",
            Self::S3 => "S3",
            Self::Azure => "Azure",
            Self::Gcs => "GCS",
        }
    }

    /// Whether the store lives on this node (a local directory or memory): written by this
    /// node only, and without attributes of its own.
    pub fn node_local(self) -> bool {
        matches!(self, Self::Local | Self::Memory)
    }

    /// The capability row of this kind of store: operation → supported / emulated /
    /// refused, with the reason.
    pub fn capabilities(self) -> Vec<(&'static str, &'static str)> {
        let node_local = self.node_local();
        vec![
            ("ranged_get", "supported: ranges passed to the store"),
            (
                "conditional_get",
                "emulated: evaluated on the gateway's ETag, the read pinned to the store's version",
            ),
            (
                "conditional_put",
                if node_local {
                    "emulated: writes of one key are serialised on the node, which owns the store"
                } else {
                    "supported up to 8 MiB bodies (the store refuses a write over another version); larger bodies: serialised per node only"
                },
            ),
            (
                "server_side_copy",
                if node_local {
                    "supported: the store's own copy within the store"
                } else {
                    "supported: the store's own copy within the store; with REPLACE metadata, streamed through the gateway so the store's attributes are rewritten"
                },
            ),
            (
                "multipart",
                "emulated: parts staged on the node's disk, then one streamed multipart write",
            ),
            (
                "metadata",
                if node_local {
                    "emulated: Content-Type, user metadata and the MD5 ETag in a node-local record"
                } else if self == Self::Azure {
                    "supported: Content-Type, Cache-Control & co, the MD5 ETag and user metadata as blob attributes (names that are C# identifiers only; others in a node-local record)"
                } else {
                    "supported: Content-Type, Cache-Control & co, user metadata and the MD5 ETag as object attributes"
                },
            ),
            (
                "key_rules",
                if self == Self::Local {
                    "refused with InvalidArgument: empty, '.', '..' segments, control characters, segments over 255 bytes, name#digits, a name both object and prefix"
                } else {
                    "refused with InvalidArgument: empty, '.', '..' segments, control characters"
                },
            ),
        ]
    }

    /// The canonical scheme.
    pub fn scheme(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Memory => "mem",
            Self::S3 => "s3",
            Self::Azure => "az",
            Self::Gcs => "gs",
        }
    }
}

/// A parsed mount URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MountUri {
    /// The kind of store.
    pub kind: StoreKind,
    /// For local stores the absolute directory; for memory stores the name; for cloud
    /// stores the bucket or container.
    pub location: String,
    /// For cloud stores, the key prefix inside the bucket (no leading or trailing `/`).
    pub prefix: String,
    /// For `abfs[s]://container@ACCOUNT.dfs.core.windows.net/...`, the storage account.
    pub account: Option<String>,
}

impl MountUri {
    /// Parses `local:///abs/dir`, `file:///abs/dir` or `mem://NAME`.
    pub fn parse(uri: &str) -> Result<Self, BackendError> {
        let bad = |reason: &str| BackendError::InvalidUri {
            uri: uri.to_owned(),
            reason: reason.to_owned(),
        };
        let (scheme, rest) = uri.split_once("://").ok_or_else(|| bad("expected SCHEME://..."))?;
        match scheme {
            "local" | "file" => {
                if !rest.starts_with('/') {
                    return Err(bad("a local path must be absolute, e.g. local:///srv/data"));
                }
                let path = PathBuf::from(rest);
                if path.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
                    return Err(bad("a local path must not contain '..'"));
                }
                let location = rest.trim_end_matches('/');
                let location = if location.is_empty() { "/" } else { location };
                Ok(Self {
                    kind: StoreKind::Local,
                    location: location.to_owned(),
                    prefix: String::new(),
                    account: None,
                })
            }
            "mem" | "memory" => {
                let name = rest.trim_end_matches('/');
                if name.is_empty() || name.contains('/') {
                    return Err(bad("expected mem://NAME with a one-segment name"));
                }
                Ok(Self {
                    kind: StoreKind::Memory,
                    location: name.to_owned(),
                    prefix: String::new(),
                    account: None,
                })
            }
            "s3" | "s3a" | "az" | "azure" | "abfs" | "abfss" | "gs" => {
                let kind = match scheme {
                    "s3" | "s3a" => StoreKind::S3,
                    "gs" => StoreKind::Gcs,
                    _ => StoreKind::Azure,
                };
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                let (bucket, account) = match (scheme, bucket.split_once('@')) {
                    ("abfs" | "abfss", Some((container, host))) => (
                        container,
                        host.split('.').next().filter(|a| !a.is_empty()).map(str::to_owned),
                    ),
                    ("abfs" | "abfss", None) => {
                        return Err(bad(
                            "expected abfs[s]://CONTAINER@ACCOUNT.dfs.core.windows.net[/PREFIX]",
                        ));
                    }
                    _ => (bucket, None),
                };
                if bucket.is_empty() {
                    return Err(bad("expected SCHEME://BUCKET[/PREFIX]"));
                }
                let prefix = prefix.trim_matches('/');
                if prefix.split('/').any(|s| s == "." || s == "..") || prefix.contains("//") {
                    return Err(bad("the prefix may not hold '.', '..' or empty segments"));
                }
                Ok(Self {
                    kind,
                    location: bucket.to_owned(),
                    prefix: prefix.to_owned(),
                    account,
                })
            }
            _ => Err(bad(
                "unknown scheme; expected local://, file://, mem://, s3://, s3a://, gs://, az://, azure:// or abfs[s]://",
            )),
        }
    }
}

impl fmt::Display for MountUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            StoreKind::Local => write!(f, "local://{}", self.location),
            StoreKind::Memory => write!(f, "mem://{}", self.location),
            StoreKind::S3 if self.prefix.is_empty() => write!(f, "s3://{}", self.location),
            StoreKind::S3 => write!(f, "s3://{}/{}", self.location, self.prefix),
            StoreKind::Gcs if self.prefix.is_empty() => write!(f, "gs://{}", self.location),
            StoreKind::Gcs => write!(f, "gs://{}/{}", self.location, self.prefix),
            StoreKind::Azure => {
                let account = self.account.as_ref().map(|a| format!("@{a}")).unwrap_or_default();
                let prefix = if self.prefix.is_empty() {
                    String::new()
                } else {
                    format!("/{}", self.prefix)
                };
                write!(f, "az://{}{account}{prefix}", self.location)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_local_and_mem() {
        let u = MountUri::parse("file:///tmp/x/").unwrap();
        assert_eq!(u.kind, StoreKind::Local);
        assert_eq!(u.to_string(), "local:///tmp/x");
        assert_eq!(MountUri::parse("mem://a").unwrap().to_string(), "mem://a");
        let s3 = MountUri::parse("s3a://bkt/dir1/dir2/").unwrap();
        assert_eq!(
            (s3.kind, s3.location.as_str(), s3.prefix.as_str()),
            (StoreKind::S3, "bkt", "dir1/dir2")
        );
        assert_eq!(s3.to_string(), "s3://bkt/dir1/dir2");
        let az = MountUri::parse("abfss://cont@acct.dfs.core.windows.net/p/q").unwrap();
        assert_eq!(
            (az.kind, az.location.as_str(), az.prefix.as_str(), az.account.as_deref()),
            (StoreKind::Azure, "cont", "p/q", Some("acct"))
        );
        assert_eq!(MountUri::parse("az://cont").unwrap().to_string(), "az://cont");
    }

    #[test]
    fn refuses_bad_uris() {
        for bad in [
            "local://rel/dir",
            "mem://",
            "mem://a/b",
            "ftp://x",
            "nothing",
            "local:///a/../b",
        ] {
            assert!(MountUri::parse(bad).is_err(), "{bad}");
        }
    }
}
