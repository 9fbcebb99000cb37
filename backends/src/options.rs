//! Mount options (`-o key=value`): validated per scheme, secrets masked when shown.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{BackendError, StoreKind};

/// Option keys whose values are secrets and are never shown (our names and
/// `object_store`'s canonical ones).
const SECRET_KEYS: &[&str] = &[
    "secret_access_key",
    "session_token",
    "access_key",
    "sas_token",
    "service_account_key",
    "aws_secret_access_key",
    "aws_session_token",
    "sse_customer_key_base64",
    "aws_sse_customer_key_base64",
    "azure_storage_account_key",
    "azure_storage_sas_key",
    "azure_storage_client_secret",
    "azure_storage_token",
    "azure_storage_encryption_key",
    "google_service_account_key",
    "google_bearer_token",
    "azure_fabric_session_token",
];

/// `scheme://user:password@host/...` with the user and password shown as `****`; any
/// other value as it is.
fn mask_userinfo(value: &str) -> std::borrow::Cow<'_, str> {
    if let Some((scheme, rest)) = value.split_once("://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if let Some((_, host)) = authority.rsplit_once('@') {
            let tail = &rest[authority.len()..];
            return format!("{scheme}://****@{host}{tail}").into();
        }
    }
    value.into()
}

/// Options valid on every store: `readonly`, and for remote stores `timeout` (time to the
/// first byte and idle time between body chunks, never a cap on a long transfer),
/// `connect_timeout` and `retries`; the cache's `cache`, `consistency` and `cache_on_write`.
pub(crate) const COMMON_KEYS: &[&str] = &[
    "readonly",
    "timeout",
    "connect_timeout",
    "retries",
    "cache",
    "consistency",
    "cache_on_write",
];

/// How a mount uses the block cache (options `cache`, `consistency`, `cache_on_write`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    /// Reads go through the cache: on by default for remote stores, off for node-local ones.
    pub enabled: bool,
    /// `consistency=ttl:SECONDS`: object metadata is trusted for this long; `None` is
    /// `strict` (the default): the version is checked on every read.
    pub ttl: Option<std::time::Duration>,
    /// `cache_on_write=true`: the blocks of a PUT through the gateway go into the cache.
    pub on_write: bool,
}

fn parse_consistency(v: &str) -> Option<Option<std::time::Duration>> {
    if v == "strict" {
        return Some(None);
    }
    let secs: u64 = v.strip_prefix("ttl:")?.parse().ok()?;
    Some(Some(std::time::Duration::from_secs(secs)))
}

/// The S3 option names of the original design, besides every `object_store` key.
const S3_KEYS: &[&str] = &[
    "access_key_id",
    "secret_access_key",
    "region",
    "endpoint",
    "session_token",
];

/// The Azure option names of the original design, besides every `object_store` key.
const AZURE_KEYS: &[&str] = &["account", "access_key"];

/// The GCS option names of the original design, besides every `object_store` key.
const GCS_KEYS: &[&str] = &["service_account_path", "service_account_key"];

/// The options of one mount, keyed by canonical name.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountOptions(pub BTreeMap<String, String>);

/// Masked, as [`MountOptions::masked`]: a `{:?}` in a log never shows a secret.
impl fmt::Debug for MountOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MountOptions({})", self.masked())
    }
}

impl MountOptions {
    /// Checks every key against the keys valid for `kind`, and returns the options under
    /// their canonical names (`object_store`'s, for a store's own keys).
    pub fn canonical(&self, kind: StoreKind) -> Result<Self, BackendError> {
        self.validate(kind)?;
        let mut out = BTreeMap::new();
        for (key, value) in &self.0 {
            let name = match kind {
                StoreKind::S3 if !COMMON_KEYS.contains(&key.as_str()) => s3_key(key).map(|k| k.as_ref().to_owned()),
                StoreKind::Gcs if !COMMON_KEYS.contains(&key.as_str()) => gcs_key(key).map(|k| k.as_ref().to_owned()),
                StoreKind::Azure if !COMMON_KEYS.contains(&key.as_str()) => {
                    azure_key(key).map(|k| k.as_ref().to_owned())
                }
                _ => None,
            };
            out.insert(name.unwrap_or_else(|| key.clone()), value.clone());
        }
        Ok(Self(out))
    }

    /// Checks every key against the keys valid for `kind`.
    pub fn validate(&self, kind: StoreKind) -> Result<(), BackendError> {
        for (key, value) in &self.0 {
            let known = COMMON_KEYS.contains(&key.as_str())
                || (kind == StoreKind::S3 && s3_key(key).is_some())
                || (kind == StoreKind::Azure && azure_key(key).is_some())
                || (kind == StoreKind::Gcs && gcs_key(key).is_some());
            if !known {
                let mut valid = COMMON_KEYS.to_vec();
                if kind == StoreKind::S3 {
                    valid.extend(S3_KEYS);
                    valid.push("or any object_store S3 key");
                }
                if kind == StoreKind::Gcs {
                    valid.extend(GCS_KEYS);
                    valid.push("or any object_store GCS key");
                }
                if kind == StoreKind::Azure {
                    valid.extend(AZURE_KEYS);
                    valid.push("or any object_store Azure key");
                }
                return Err(BackendError::InvalidOption {
                    scheme: kind.scheme().to_owned(),
                    key: key.clone(),
                    reason: format!("unknown option; valid options are: {}", valid.join(", ")),
                });
            }
            if key == "retries" && value.parse::<usize>().is_err() {
                return Err(BackendError::InvalidOption {
                    scheme: kind.scheme().to_owned(),
                    key: key.clone(),
                    reason: "expected a whole number".to_owned(),
                });
            }
            if key == "consistency" && parse_consistency(value).is_none() {
                return Err(BackendError::InvalidOption {
                    scheme: kind.scheme().to_owned(),
                    key: key.clone(),
                    reason: "expected strict or ttl:SECONDS".to_owned(),
                });
            }
            if matches!(key.as_str(), "readonly" | "cache" | "cache_on_write")
                && !matches!(value.as_str(), "true" | "false")
            {
                return Err(BackendError::InvalidOption {
                    scheme: kind.scheme().to_owned(),
                    key: key.clone(),
                    reason: "expected true or false".to_owned(),
                });
            }
        }
        Ok(())
    }

    /// Whether the options make the mount read-only.
    pub fn readonly(&self) -> bool {
        self.0.get("readonly").is_some_and(|v| v == "true")
    }

    /// How the mount uses the block cache.
    pub fn cache_policy(&self, kind: StoreKind) -> CachePolicy {
        let flag = |k: &str| self.0.get(k).map(|v| v == "true");
        CachePolicy {
            enabled: flag("cache").unwrap_or(!kind.node_local()),
            ttl: self.0.get("consistency").and_then(|v| parse_consistency(v)).flatten(),
            on_write: flag("cache_on_write").unwrap_or(false),
        }
    }

    /// What tells this store apart from every other for the cache: the store's own
    /// non-secret options (endpoint, region, account, access key id...), sorted, without
    /// ours (timeouts, cache settings), which do not change the bytes.
    pub(crate) fn identity_part(&self) -> String {
        self.0
            .iter()
            .filter(|(k, _)| !COMMON_KEYS.contains(&k.as_str()) && !SECRET_KEYS.contains(&k.as_str()))
            .map(|(k, v)| format!("{k}={}", mask_userinfo(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The options as `k=v,...` with secrets shown as `****`.
    pub fn masked(&self) -> String {
        if self.0.is_empty() {
            return "-".to_owned();
        }
        self.0
            .iter()
            .map(|(k, v)| {
                if SECRET_KEYS.contains(&k.as_str()) {
                    format!("{k}=****")
                } else {
                    format!("{k}={}", mask_userinfo(v))
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl fmt::Display for MountOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

fn s3_key(key: &str) -> Option<object_store::aws::AmazonS3ConfigKey> {
    key.parse().ok()
}

fn gcs_key(key: &str) -> Option<object_store::gcp::GoogleConfigKey> {
    key.parse().ok()
}

fn azure_key(key: &str) -> Option<object_store::azure::AzureConfigKey> {
    // `account` is the original design's name for the storage account.
    if key == "account" {
        "account_name".parse().ok()
    } else {
        key.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_tokens_and_proxy_credentials() {
        let mut o = MountOptions::default();
        o.0.insert("azure_fabric_session_token".into(), "fabric-tok".into());
        o.0.insert("proxy_url".into(), "http://user:pa55@proxy.local:3128/x".into());
        o.0.insert("endpoint".into(), "http://minio:9000".into());
        let o = o.canonical(StoreKind::Azure).unwrap();
        for shown in [format!("{o:?}"), o.masked(), o.identity_part()] {
            assert!(
                !shown.contains("fabric-tok") && !shown.contains("pa55") && !shown.contains("user:"),
                "{shown}"
            );
            assert!(shown.contains("proxy.local:3128/x"), "{shown}");
        }
        assert!(format!("{o:?}").contains("http://minio:9000"));
    }

    #[test]
    fn masks_secrets_and_rejects_unknown_keys() {
        let mut o = MountOptions::default();
        o.0.insert("secret_access_key".into(), "hunter2".into());
        assert_eq!(o.masked(), "secret_access_key=****");
        let err = o.validate(StoreKind::Local).unwrap_err().to_string();
        assert!(err.contains("readonly"), "{err}");
        assert!(!err.contains("hunter2"));
    }

    #[test]
    fn s3_options_take_our_names_and_object_store_aliases() {
        let mut o = MountOptions::default();
        for (k, v) in [
            ("access_key_id", "AK"),
            ("secret_access_key", "SK"),
            ("aws_session_token", "T"),
            ("virtual_hosted_style_request", "false"),
            ("retries", "2"),
        ] {
            o.0.insert(k.into(), v.into());
        }
        let c = o.canonical(StoreKind::S3).unwrap();
        assert_eq!(c.0.get("aws_access_key_id").map(String::as_str), Some("AK"));
        assert_eq!(
            c.0.get("aws_virtual_hosted_style_request").map(String::as_str),
            Some("false")
        );
        assert_eq!(c.0.get("retries").map(String::as_str), Some("2"));
        let shown = c.masked();
        assert!(
            !shown.contains("SK") && !shown.contains("=T,") && shown.contains("aws_secret_access_key=****"),
            "{shown}"
        );
        let mut bad = MountOptions::default();
        bad.0.insert("no_such_key".into(), "x".into());
        let err = bad.validate(StoreKind::S3).unwrap_err().to_string();
        assert!(err.contains("endpoint"), "{err}");
    }
}
