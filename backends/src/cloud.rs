//! Cloud stores built with `object_store`'s builders from canonical mount options.
//! The server never reads cloud credentials from its own environment: the CLI sends its
//! environment's values as options at mount time, so every node builds the same store.

use std::str::FromStr;
use std::sync::Arc;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::{ClientConfigKey, ObjectStore, RetryConfig};

use crate::{BackendError, MountOptions, MountUri};

fn bad(uri: &MountUri, key: &str, reason: String) -> BackendError {
    BackendError::InvalidOption {
        scheme: uri.kind.scheme().to_owned(),
        key: key.to_owned(),
        reason,
    }
}

/// Builds an S3 (or S3-compatible) store. An `http://` endpoint implies `allow_http`; the
/// region defaults to `us-east-1`.
pub(crate) fn build_s3(uri: &MountUri, options: &MountOptions) -> Result<Arc<dyn ObjectStore>, BackendError> {
    let mut b = AmazonS3Builder::new()
        .with_bucket_name(&uri.location)
        .with_region("us-east-1");
    for (key, value) in &options.0 {
        b = match key.as_str() {
            "readonly" => b,
            "timeout" => b.with_config(AmazonS3ConfigKey::Client(ClientConfigKey::ReadTimeout), value),
            "connect_timeout" => b.with_config(AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout), value),
            "retries" => {
                let n = value
                    .parse()
                    .map_err(|_| bad(uri, key, "expected a whole number".to_owned()))?;
                b.with_retry(RetryConfig {
                    max_retries: n,
                    ..RetryConfig::default()
                })
            }
            _ => {
                let k = AmazonS3ConfigKey::from_str(key).map_err(|e| bad(uri, key, e.to_string()))?;
                if k == AmazonS3ConfigKey::Endpoint && value.starts_with("http://") {
                    b = b.with_allow_http(true);
                }
                b.with_config(k, value)
            }
        };
    }
    let store = b.build().map_err(|e| BackendError::InvalidUri {
        uri: uri.to_string(),
        reason: e.to_string(),
    })?;
    Ok(Arc::new(store))
}

/// Builds an Azure Blob store. The account comes from `account` (or an `abfs` URI's
/// host); an `http://` endpoint (Azurite: `http://127.0.0.1:10000/devstoreaccount1`)
/// implies `allow_http`.
pub(crate) fn build_azure(uri: &MountUri, options: &MountOptions) -> Result<Arc<dyn ObjectStore>, BackendError> {
    let mut b = MicrosoftAzureBuilder::new().with_container_name(&uri.location);
    if let Some(account) = &uri.account {
        b = b.with_account(account);
    }
    for (key, value) in &options.0 {
        b = match key.as_str() {
            "readonly" => b,
            "timeout" => b.with_config(AzureConfigKey::Client(ClientConfigKey::ReadTimeout), value),
            "connect_timeout" => b.with_config(AzureConfigKey::Client(ClientConfigKey::ConnectTimeout), value),
            "retries" => {
                let n = value
                    .parse()
                    .map_err(|_| bad(uri, key, "expected a whole number".to_owned()))?;
                b.with_retry(RetryConfig {
                    max_retries: n,
                    ..RetryConfig::default()
                })
            }
            _ => {
                let k = AzureConfigKey::from_str(key).map_err(|e| bad(uri, key, e.to_string()))?;
                if k == AzureConfigKey::Endpoint && value.starts_with("http://") {
                    b = b.with_allow_http(true);
                }
                b.with_config(k, value)
            }
        };
    }
    let store = b.build().map_err(|e| BackendError::InvalidUri {
        uri: uri.to_string(),
        reason: e.to_string(),
    })?;
    Ok(Arc::new(store))
}

/// Builds a Google Cloud Storage store. A service-account key whose `gcs_base_url` is
/// `http://` (an emulator) implies `allow_http`.
pub(crate) fn build_gcs(uri: &MountUri, options: &MountOptions) -> Result<Arc<dyn ObjectStore>, BackendError> {
    let mut b = GoogleCloudStorageBuilder::new().with_bucket_name(&uri.location);
    for (key, value) in &options.0 {
        b = match key.as_str() {
            "readonly" => b,
            "timeout" => b.with_config(GoogleConfigKey::Client(ClientConfigKey::ReadTimeout), value),
            "connect_timeout" => b.with_config(GoogleConfigKey::Client(ClientConfigKey::ConnectTimeout), value),
            "retries" => {
                let n = value
                    .parse()
                    .map_err(|_| bad(uri, key, "expected a whole number".to_owned()))?;
                b.with_retry(RetryConfig {
                    max_retries: n,
                    ..RetryConfig::default()
                })
            }
            _ => {
                let k = GoogleConfigKey::from_str(key).map_err(|e| bad(uri, key, e.to_string()))?;
                let http = value.starts_with("http://")
                    || value.contains("\"gcs_base_url\":\"http://")
                    || value.contains("\"gcs_base_url\": \"http://");
                if http {
                    b = b.with_client_options(object_store::ClientOptions::new().with_allow_http(true));
                }
                b.with_config(k, value)
            }
        };
    }
    let store = b.build().map_err(|e| BackendError::InvalidUri {
        uri: uri.to_string(),
        reason: e.to_string(),
    })?;
    Ok(Arc::new(store))
}
