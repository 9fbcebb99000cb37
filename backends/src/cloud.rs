//! GCS and Azure stores built with `object_store`'s builders from canonical mount options.
//! The server never reads cloud credentials from its own environment: the CLI sends its
//! environment's values as options at mount time, so every node builds the same store.

use std::str::FromStr;
use std::sync::Arc;

use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::{ClientConfigKey, ClientOptions, ObjectStore, RetryConfig};

use crate::{BackendError, MountOptions, MountUri};

/// What the option loop needs from each `object_store` builder.
trait CloudBuilder: Sized {
    type Key: FromStr<Err = object_store::Error> + PartialEq;
    /// The store's own key for a client option (timeouts).
    fn client_key(k: ClientConfigKey) -> Self::Key;
    /// Whether this key and value point the store at plain HTTP (an emulator).
    fn is_http(key: &Self::Key, value: &str) -> bool;
    fn config(self, key: Self::Key, value: &str) -> Self;
    fn retry(self, retry: RetryConfig) -> Self;
    fn allow_http(self) -> Self;
    fn finish(self) -> object_store::Result<Arc<dyn ObjectStore>>;
}

/// The Azure builder: an `Endpoint` key and `with_allow_http`.
macro_rules! endpoint_builder {
    ($builder:ty, $key:ident) => {
        impl CloudBuilder for $builder {
            type Key = $key;
            fn client_key(k: ClientConfigKey) -> Self::Key {
                $key::Client(k)
            }
            fn is_http(key: &Self::Key, value: &str) -> bool {
                *key == $key::Endpoint && value.starts_with("http://")
            }
            fn config(self, key: Self::Key, value: &str) -> Self {
                self.with_config(key, value)
            }
            fn retry(self, retry: RetryConfig) -> Self {
                self.with_retry(retry)
            }
            fn allow_http(self) -> Self {
                self.with_allow_http(true)
            }
            fn finish(self) -> object_store::Result<Arc<dyn ObjectStore>> {
                Ok(Arc::new(self.build()?))
            }
        }
    };
}

endpoint_builder!(MicrosoftAzureBuilder, AzureConfigKey);

impl CloudBuilder for GoogleCloudStorageBuilder {
    type Key = GoogleConfigKey;
    fn client_key(k: ClientConfigKey) -> Self::Key {
        GoogleConfigKey::Client(k)
    }
    fn is_http(_key: &Self::Key, value: &str) -> bool {
        // A service-account key whose `gcs_base_url` is plain HTTP, or a plain-HTTP base URL.
        value.starts_with("http://") || value.replace(' ', "").contains("\"gcs_base_url\":\"http://")
    }
    fn config(self, key: Self::Key, value: &str) -> Self {
        self.with_config(key, value)
    }
    fn retry(self, retry: RetryConfig) -> Self {
        self.with_retry(retry)
    }
    fn allow_http(self) -> Self {
        self.with_client_options(ClientOptions::new().with_allow_http(true))
    }
    fn finish(self) -> object_store::Result<Arc<dyn ObjectStore>> {
        Ok(Arc::new(self.build()?))
    }
}

fn bad(uri: &MountUri, key: &str, reason: String) -> BackendError {
    BackendError::InvalidOption {
        scheme: uri.kind.scheme().to_owned(),
        key: key.to_owned(),
        reason,
    }
}

/// Applies the mount's options to a builder: ours (`timeout` is the read timeout: time to
/// the first byte and between body chunks, never a cap on a long transfer;
/// `connect_timeout`; `retries`; `readonly`, which the namespace enforces) and the store's
/// own keys. A plain-HTTP endpoint implies `allow_http`.
fn build<B: CloudBuilder>(
    mut b: B,
    uri: &MountUri,
    options: &MountOptions,
) -> Result<Arc<dyn ObjectStore>, BackendError> {
    for (key, value) in &options.0 {
        b = match key.as_str() {
            "readonly" | "cache" | "consistency" | "cache_on_write" => b,
            "timeout" => b.config(B::client_key(ClientConfigKey::ReadTimeout), value),
            "connect_timeout" => b.config(B::client_key(ClientConfigKey::ConnectTimeout), value),
            "retries" => {
                let n = value
                    .parse()
                    .map_err(|_| bad(uri, key, "expected a whole number".to_owned()))?;
                b.retry(RetryConfig {
                    max_retries: n,
                    ..RetryConfig::default()
                })
            }
            _ => {
                let k = B::Key::from_str(key).map_err(|e| bad(uri, key, e.to_string()))?;
                if B::is_http(&k, value) {
                    b = b.allow_http();
                }
                b.config(k, value)
            }
        };
    }
    b.finish().map_err(|e| BackendError::InvalidUri {
        uri: uri.to_string(),
        reason: e.to_string(),
    })
}

/// Builds an Azure Blob store. The account comes from `account` or an `abfs` URI's host;
/// for Azurite the endpoint is `http://127.0.0.1:10000/devstoreaccount1`.
pub(crate) fn build_azure(uri: &MountUri, options: &MountOptions) -> Result<Arc<dyn ObjectStore>, BackendError> {
    let mut b = MicrosoftAzureBuilder::new().with_container_name(&uri.location);
    if let Some(account) = &uri.account {
        b = b.with_account(account);
    }
    build(b, uri, options)
}

/// Builds a Google Cloud Storage store.
pub(crate) fn build_gcs(uri: &MountUri, options: &MountOptions) -> Result<Arc<dyn ObjectStore>, BackendError> {
    build(
        GoogleCloudStorageBuilder::new().with_bucket_name(&uri.location),
        uri,
        options,
    )
}
