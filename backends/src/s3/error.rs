//! The S3 client's failures as [`BackendError`]s: the status, code and message the store
//! sent, kept apart so that people get one line and the gateway the right S3 error.

use std::fmt;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::BackendError;

/// A failed request to an S3 store, as it answered (or why it did not).
#[derive(Debug)]
pub(crate) struct S3Failure {
    /// The HTTP status, when the store answered.
    pub status: Option<u16>,
    /// The S3 error code (`NoSuchBucket`, `SlowDown`, ...), when the body had one.
    pub code: Option<String>,
    message: Option<String>,
    /// The whole chain of causes, for the log.
    detail: String,
}

impl fmt::Display for S3Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.detail)
    }
}

impl std::error::Error for S3Failure {}

/// S3's and S3-compatible stores' codes for "slow down".
const THROTTLING: &[&str] = &[
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequests",
    "ServerBusy",
];

impl S3Failure {
    fn new<E: ProvideErrorMetadata + std::error::Error + 'static>(
        e: &SdkError<E, HttpResponse>,
        status: Option<u16>,
    ) -> Self {
        Self {
            status,
            code: e.code().map(str::to_owned),
            message: e.message().map(str::to_owned),
            detail: DisplayErrorContext(e).to_string(),
        }
    }

    /// An idle timeout on a body, or a body cut short.
    pub(crate) fn body(detail: String) -> Self {
        Self {
            status: None,
            code: None,
            message: None,
            detail,
        }
    }

    /// Whether the store asked to slow down.
    pub(crate) fn throttling(&self) -> bool {
        self.status == Some(429) || self.code.as_deref().is_some_and(|c| THROTTLING.contains(&c))
    }

    /// One line for people: `404 Not Found, NoSuchBucket: The specified bucket does not
    /// exist`, or the innermost cause when the store did not answer.
    pub(crate) fn summary(&self) -> String {
        let status = self.status.map(|s| {
            let reason = http::StatusCode::from_u16(s)
                .ok()
                .and_then(|c| c.canonical_reason())
                .unwrap_or_default();
            format!("{s} {reason}").trim().to_owned()
        });
        let line = match (&self.code, status) {
            (Some(code), status) => format!(
                "{}{code}: {}",
                status.map(|s| format!("{s}, ")).unwrap_or_default(),
                self.message.as_deref().unwrap_or_default()
            ),
            (None, Some(status)) => format!("HTTP {status}"),
            (None, None) => self.detail.rsplit(": ").next().unwrap_or_default().to_owned(),
        };
        line.trim().chars().take(300).collect()
    }
}

/// Maps a failed request on `key` (mount-relative) of the store `store`.
pub(crate) fn map<E>(store: &str, key: &str, e: SdkError<E, HttpResponse>) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let failure = S3Failure::new(&e, status);
    let key = key.to_owned();
    let code = failure.code.as_deref();
    match (status, code) {
        (_, Some("NoSuchBucket")) => BackendError::Unavailable {
            key,
            source: Box::new(failure),
        },
        (Some(404), _) | (_, Some("NoSuchKey" | "NotFound")) => BackendError::NotFound { key },
        (Some(304 | 412), _) | (_, Some("PreconditionFailed" | "ConditionalRequestConflict")) => {
            BackendError::Precondition { key }
        }
        (Some(401 | 403), _) | (_, Some("AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch")) => {
            BackendError::Denied {
                key,
                store: store.to_owned(),
            }
        }
        (_, Some("XMinioStorageFull")) | (Some(507), _) => BackendError::Full {
            key,
            store: store.to_owned(),
        },
        // A 503 without a code is S3's SlowDown to a HEAD (whose answer has no body).
        _ if failure.throttling() || (status == Some(503) && code.is_none()) => BackendError::Throttled {
            key,
            source: Box::new(failure),
        },
        _ => BackendError::Unavailable {
            key,
            source: Box::new(failure),
        },
    }
}
