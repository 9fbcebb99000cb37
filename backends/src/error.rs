//! Errors of the backends layer.

use thiserror::Error;

/// Errors building stores or talking to them. Carries the key or URI involved.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The mount URI could not be parsed or names an unknown scheme.
    #[error("invalid mount URI {uri:?}: {reason}")]
    InvalidUri { uri: String, reason: String },
    /// An option is unknown or has a bad value.
    #[error("invalid option {key:?} for {scheme}://: {reason}")]
    InvalidOption {
        scheme: String,
        key: String,
        reason: String,
    },
    /// The key cannot be held by this store.
    #[error("key {key:?} cannot be stored on {store}: {rule}")]
    InvalidKey {
        key: String,
        store: String,
        rule: crate::KeyRule,
    },
    /// No object at this key.
    #[error("no such object {key:?}")]
    NotFound { key: String },
    /// An object exists where the write demanded none.
    #[error("object {key:?} already exists")]
    AlreadyExists { key: String },
    /// A version pin or precondition did not hold.
    #[error("precondition failed for {key:?}")]
    Precondition { key: String },
    /// The store refused the credentials or the operation.
    #[error("access denied by the store for {key:?}")]
    Denied { key: String },
    /// A remote store failed after its retries (timeouts, throttling, 5xx, unreachable).
    #[error("store unavailable for {key:?}: {source}")]
    Unavailable {
        key: String,
        #[source]
        source: object_store::Error,
    },
    /// Any other store failure.
    #[error("store error on {key:?}: {source}")]
    Store {
        key: String,
        #[source]
        source: object_store::Error,
    },
    /// Local I/O failure (listing a local store, staging).
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl BackendError {
    /// Wraps an `object_store` error, keeping the common kinds distinct.
    pub fn from_store(key: &str, source: object_store::Error) -> Self {
        let key = key.to_owned();
        match source {
            object_store::Error::NotFound { .. } => Self::NotFound { key },
            object_store::Error::AlreadyExists { .. } => Self::AlreadyExists { key },
            object_store::Error::Precondition { .. } | object_store::Error::NotModified { .. } => {
                Self::Precondition { key }
            }
            object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
                Self::Denied { key }
            }
            source => Self::Store { key, source },
        }
    }
}
