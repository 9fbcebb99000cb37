//! Errors of the backends layer.

use thiserror::Error;

/// The cause of a store failure, from `object_store` or from the S3 client.
pub type StoreCause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors building stores or talking to them. Carries the key or URI involved.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The mount URI could not be parsed or names an unknown scheme.
    #[error("invalid mount URI {uri:?}: {reason}")]
    InvalidUri {
        /// The mount URI as given.
        uri: String,
        /// Why, in a few words.
        reason: String,
    },
    /// An option is unknown or has a bad value.
    #[error("invalid option {key:?} for {scheme}://: {reason}")]
    InvalidOption {
        /// The URI scheme.
        scheme: String,
        /// The object key.
        key: String,
        /// Why, in a few words.
        reason: String,
    },
    /// The key cannot be held by this store.
    #[error("key {key:?} cannot be stored on {store}: {rule}")]
    InvalidKey {
        /// The object key.
        key: String,
        /// The store, as its URI names it.
        store: String,
        /// The rule the key breaks.
        rule: crate::KeyRule,
    },
    /// No object at this key.
    #[error("no such object {key:?}")]
    NotFound {
        /// The object key.
        key: String,
    },
    /// An object exists where the write demanded none.
    #[error("object {key:?} already exists")]
    AlreadyExists {
        /// The object key.
        key: String,
    },
    /// A version pin or precondition did not hold.
    #[error("precondition failed for {key:?}")]
    Precondition {
        /// The object key.
        key: String,
    },
    /// The store refused the credentials or the operation.
    #[error("the store {store} denied access to {key:?}")]
    Denied {
        /// The object key.
        key: String,
        /// The store, as its URI names it.
        store: String,
    },
    /// A remote store failed after its retries (timeouts, 5xx, unreachable).
    #[error("store unavailable for {key:?}: {source}")]
    Unavailable {
        /// The object key.
        key: String,
        #[source]
        /// The underlying error.
        source: StoreCause,
    },
    /// The store has no space left for the write (a full disk under a local store, or
    /// an S3-compatible store that says so).
    #[error("the store {store} is full (no space left) writing {key:?}")]
    Full {
        /// The object key.
        key: String,
        /// The store.
        store: String,
    },
    /// A remote store was still throttling requests after the retries (429, SlowDown).
    #[error("store throttling requests for {key:?}: {source}")]
    Throttled {
        /// The object key.
        key: String,
        #[source]
        /// The underlying error.
        source: StoreCause,
    },
    /// The store holds a key `object_store` cannot represent (an empty, `.` or `..`
    /// segment, as other tools can write) on GCS or Azure: a listing over it fails,
    /// whatever is retried. (S3 mounts list every key as it is.)
    #[error("the store holds a key this mount cannot list: {reason}")]
    UnlistableKey {
        /// Why, in a few words.
        reason: String,
    },
    /// Any other store failure.
    #[error("store error on {key:?}: {source}")]
    Store {
        /// The object key.
        key: String,
        #[source]
        /// The underlying error.
        source: StoreCause,
    },
    /// Local I/O failure (listing a local store, staging).
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The path.
        path: String,
        #[source]
        /// The underlying error.
        source: std::io::Error,
    },
}

/// An error and its causes in one string, each cause said once.
fn chain_text(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let next = c.to_string();
        if !text.contains(&next) {
            text = format!("{text}: {next}");
        }
        cur = c.source();
    }
    text
}

impl BackendError {
    /// Whether an error (or one of its causes) is a full disk: ENOSPC or EDQUOT, or a
    /// store's word for it.
    pub fn is_full(source: &(dyn std::error::Error + 'static)) -> bool {
        let mut cur = Some(source);
        while let Some(e) = cur {
            if let Some(io) = e.downcast_ref::<std::io::Error>()
                && matches!(io.raw_os_error(), Some(28 | 122))
            {
                return true;
            }
            cur = e.source();
        }
        let text = chain_text(source);
        ["No space left on device", "Disk quota exceeded", "XMinioStorageFull"]
            .iter()
            .any(|t| text.contains(t))
    }

    /// Whether a store's failure is throttling (HTTP 429, or S3's and Azure's busy codes).
    pub fn is_throttling(source: &(dyn std::error::Error + 'static)) -> bool {
        if let Some(f) = source.downcast_ref::<crate::s3::S3Failure>() {
            return f.throttling();
        }
        let text = chain_text(source);
        [
            "429 Too Many Requests",
            "<Code>SlowDown</Code>",
            "<Code>ServerBusy</Code>",
            "TooManyRequests",
        ]
        .iter()
        .any(|t| text.contains(t))
    }

    /// A short one-line reason for people: the HTTP status, error code and message a remote
    /// store sent (without its XML, request ids or times), or else the innermost cause.
    pub fn summary(&self) -> String {
        if let Some(f) = self.s3_failure() {
            return f.summary();
        }
        let chain = chain_text(self);
        let chain = chain.split_whitespace().collect::<Vec<_>>().join(" ");
        let tag = |name: &str| {
            let (_, rest) = chain.split_once(&format!("<{name}>"))?;
            rest.split_once(&format!("</{name}>")).map(|(v, _)| v.trim().to_owned())
        };
        let status = chain
            .split_once("status code: ")
            .and_then(|(_, rest)| rest.split(':').next())
            .map(str::trim);
        let reason = match (tag("Code"), status) {
            (Some(code), status) => {
                let message = tag("Message").unwrap_or_default();
                let message = message.split(" RequestId:").next().unwrap_or_default();
                format!(
                    "{}{code}: {message}",
                    status.map(|s| format!("{s}, ")).unwrap_or_default()
                )
            }
            (None, Some(status)) => format!("HTTP {status}"),
            // object_store's "... in 1ms - <cause>": the cause is the part worth reading.
            (None, None) => chain.rsplit(" - ").next().unwrap_or_default().to_owned(),
        };
        reason.chars().take(300).collect()
    }

    /// The S3 client's failure under this error, if that is its cause.
    fn s3_failure(&self) -> Option<&crate::s3::S3Failure> {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(self);
        while let Some(c) = cur {
            if let Some(f) = c.downcast_ref::<crate::s3::S3Failure>() {
                return Some(f);
            }
            cur = c.source();
        }
        None
    }

    /// Wraps an `object_store` error, keeping the common kinds distinct.
    pub fn from_store(store: &str, key: &str, source: object_store::Error) -> Self {
        let key = key.to_owned();
        match source {
            object_store::Error::NotFound { .. } => Self::NotFound { key },
            object_store::Error::AlreadyExists { .. } => Self::AlreadyExists { key },
            object_store::Error::Precondition { .. } | object_store::Error::NotModified { .. } => {
                Self::Precondition { key }
            }
            object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
                Self::Denied {
                    key,
                    store: store.to_owned(),
                }
            }
            object_store::Error::InvalidPath { source } => Self::UnlistableKey {
                reason: source.to_string(),
            },
            source if Self::is_full(&source) => Self::Full {
                key,
                store: store.to_owned(),
            },
            source => Self::Store {
                key,
                source: Box::new(source),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unavailable(cause: &str) -> BackendError {
        BackendError::Unavailable {
            key: String::new(),
            source: Box::new(object_store::Error::Generic {
                store: "S3",
                source: Box::new(std::io::Error::other(cause.to_owned())),
            }),
        }
    }

    #[test]
    fn summary_keeps_the_code_and_message_and_drops_the_xml() {
        let e = unavailable(
            "Error performing GET http://h/b?list-type=2 in 2ms - Server returned non-2xx status code: \
             404 Not Found: <?xml version=\"1.0\"?>\n<Error>\n  <Code>NoSuchBucket</Code>\n  \
             <Message>The specified bucket does not exist RequestId:42 Time:now</Message><HostId>x</HostId></Error>",
        );
        assert_eq!(
            e.summary(),
            "404 Not Found, NoSuchBucket: The specified bucket does not exist"
        );
    }

    #[test]
    fn summary_without_a_body_gives_the_cause() {
        let e = unavailable("Error performing GET http://h/b in 1ms - tcp connect error: Connection refused");
        assert_eq!(e.summary(), "tcp connect error: Connection refused");
        let e = unavailable(
            "Error performing GET http://h/b in 1ms - Server returned non-2xx status code: 503 Service Unavailable: ",
        );
        assert_eq!(e.summary(), "HTTP 503 Service Unavailable");
    }

    #[test]
    fn throttling_is_told_from_other_failures() {
        let generic = |text: &str| object_store::Error::Generic {
            store: "S3",
            source: Box::new(std::io::Error::other(text.to_owned())),
        };
        assert!(BackendError::is_throttling(&generic(
            "status code: 429 Too Many Requests"
        )));
        assert!(BackendError::is_throttling(&generic(
            "503 Service Unavailable: <Error><Code>SlowDown</Code></Error>"
        )));
        assert!(!BackendError::is_throttling(&generic(
            "status code: 503 Service Unavailable: "
        )));
    }
}
