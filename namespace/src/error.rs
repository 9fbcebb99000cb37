//! Errors of the namespace layer, each carrying the path or key involved.

use arustio_backends::BackendError;
use arustio_storage::KvError;
use thiserror::Error;

/// A namespace operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NsError {
    /// No bucket (top-level directory) of that name.
    #[error("no such bucket {bucket:?}")]
    NoSuchBucket {
        /// The bucket.
        bucket: String,
    },
    /// No object at that key.
    #[error("no such key {key:?} in bucket {bucket:?}")]
    NoSuchKey {
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
    },
    /// The bucket already exists.
    #[error("bucket {bucket:?} already exists")]
    BucketExists {
        /// The bucket.
        bucket: String,
    },
    /// The bucket still holds objects or mount points.
    #[error("bucket {bucket:?} is not empty: {reason}")]
    BucketNotEmpty {
        /// The bucket.
        bucket: String,
        /// Why, in a few words.
        reason: String,
    },
    /// The bucket is a mount point; unmount it instead.
    #[error("bucket {bucket:?} is a mount point; unmount it with `arustio fs unmount /{bucket}`")]
    BucketIsMount {
        /// The bucket.
        bucket: String,
    },
    /// The bucket name breaks S3's naming rules.
    #[error("invalid bucket name {bucket:?}: {reason}")]
    InvalidBucketName {
        /// The bucket.
        bucket: String,
        /// Why, in a few words.
        reason: String,
    },
    /// The key is malformed or cannot be held by the store behind it.
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey {
        /// The object key.
        key: String,
        /// Why, in a few words.
        reason: String,
    },
    /// The key is longer than 1024 bytes.
    #[error("key is {len} bytes; the limit is 1024")]
    KeyTooLong {
        /// The length in bytes.
        len: usize,
    },
    /// User metadata is larger than 2 KB.
    #[error("user metadata is {len} bytes; the limit is 2048")]
    MetadataTooLarge {
        /// The length in bytes.
        len: usize,
    },
    /// A write under a read-only mount.
    #[error("{path} is on the read-only mount {mount}")]
    ReadOnly {
        /// The path.
        path: String,
        /// The mount the path is under.
        mount: String,
    },
    /// No mount covers the path.
    #[error("no mount covers {path}")]
    NoMount {
        /// The path.
        path: String,
    },
    /// A precondition (If-Match, If-None-Match, ...) failed.
    #[error("precondition failed for {key:?}")]
    PreconditionFailed {
        /// The object key.
        key: String,
    },
    /// Not modified (conditional GET/HEAD): the 304 carries the object's ETag and date.
    #[error("not modified: {key:?}")]
    NotModified {
        /// The object key.
        key: String,
        /// The object's current ETag.
        etag: String,
        /// Its last modification time.
        last_modified: chrono::DateTime<chrono::Utc>,
    },
    /// The object changed while it was read; retry.
    #[error("object {key:?} changed while it was read")]
    Changed {
        /// The object key.
        key: String,
    },
    /// The body did not match its Content-MD5.
    #[error("the Content-MD5 you specified did not match what was received")]
    BadDigest,
    /// The request body failed (short body, bad checksum, client gone).
    #[error("request body failed: {source}")]
    Body {
        #[source]
        /// The underlying error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No such multipart upload.
    #[error("no such upload {upload_id:?}")]
    NoSuchUpload {
        /// The upload id.
        upload_id: String,
    },
    /// The part list of a Complete is wrong.
    #[error("invalid part list: {reason}")]
    InvalidPart {
        /// Why, in a few words.
        reason: String,
    },
    /// The part list is not in ascending order.
    #[error("parts must be listed in ascending order")]
    InvalidPartOrder,
    /// A part other than the last is smaller than 5 MiB.
    #[error("part {part} is {size} bytes; every part but the last must be at least 5 MiB")]
    EntityTooSmall {
        /// The part number.
        part: i32,
        /// The size in bytes.
        size: u64,
    },
    /// Multipart uploads are in flight under the path.
    #[error("{count} multipart upload(s) in flight under {path}")]
    UploadsInFlight {
        /// The path.
        path: String,
        /// How many there are.
        count: usize,
    },
    /// A non-empty body for a `dir/` marker on a store that keeps markers as records.
    #[error("key {key:?} ends in '/', so it is a directory marker and must have an empty body")]
    MarkerWithBody {
        /// The object key.
        key: String,
    },
    /// A copy onto itself that changes nothing.
    #[error("copying {key:?} onto itself without changing its metadata is not allowed")]
    CopyToSelf {
        /// The object key.
        key: String,
    },
    /// A request argument is out of range.
    #[error("{0}")]
    InvalidArgument(String),
    /// A mount was refused (already mounted, inside a read-only mount, shadowing, ...).
    #[error("cannot mount at {path}: {reason}")]
    MountRefused {
        /// The path.
        path: String,
        /// Why, in a few words.
        reason: String,
    },
    /// A file-system operation does not apply (a directory where a file is expected, ...).
    #[error("{path}: {reason}")]
    FsRefused {
        /// The path.
        path: String,
        /// Why, in a few words.
        reason: String,
    },
    /// No file or directory at the path.
    #[error("{path}: no such file or directory")]
    NotFound {
        /// The path.
        path: String,
    },
    /// The node-local metadata store failed.
    #[error("metadata store: {0}")]
    Kv(#[from] KvError),
    /// A store failed; `fault` says what that means to a caller, which needs no more of
    /// the backends' errors than that.
    #[error("{source}")]
    Store {
        /// What kind of store failure it was.
        fault: StoreFault,
        /// The underlying error.
        source: BackendError,
    },
    /// Local staging I/O failed.
    #[error("staging I/O on {path}: {source}")]
    Io {
        /// The path.
        path: String,
        #[source]
        /// The underlying error.
        source: std::io::Error,
    },
}

impl NsError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

impl From<BackendError> for NsError {
    fn from(source: BackendError) -> Self {
        Self::Store {
            fault: StoreFault::of(&source),
            source,
        }
    }
}

/// What a store's failure means, in the namespace's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreFault {
    /// No object at the key.
    NotFound,
    /// A condition did not hold, or an object exists where the write wanted none.
    Conflict,
    /// The store cannot hold the key: the rule it breaks.
    InvalidKey {
        /// The object key.
        key: String,
        /// The rule the key breaks.
        rule: String,
    },
    /// The store refused the credentials or the operation.
    Denied {
        /// The object key.
        key: String,
    },
    /// The store was still throttling after the retries.
    Throttled {
        /// The object key.
        key: String,
    },
    /// The store was unreachable, timing out or failing after the retries.
    Unavailable {
        /// The object key.
        key: String,
    },
    /// The store has no space left.
    Full {
        /// The object key.
        key: String,
    },
    /// The store holds a key its client cannot list.
    Unlistable,
    /// Anything else: a fault of the gateway's or the store's.
    Other,
}

impl StoreFault {
    fn of(e: &BackendError) -> Self {
        match e {
            BackendError::NotFound { .. } => Self::NotFound,
            BackendError::Precondition { .. } | BackendError::AlreadyExists { .. } => Self::Conflict,
            BackendError::InvalidKey { key, rule, .. } => Self::InvalidKey {
                key: key.clone(),
                rule: rule.to_string(),
            },
            BackendError::Denied { key, .. } => Self::Denied { key: key.clone() },
            BackendError::Throttled { key, .. } => Self::Throttled { key: key.clone() },
            BackendError::Unavailable { key, .. } => Self::Unavailable { key: key.clone() },
            BackendError::UnlistableKey { .. } => Self::Unlistable,
            BackendError::Full { key, .. } => Self::Full { key: key.clone() },
            _ => Self::Other,
        }
    }
}

/// Result alias of this crate.
pub type NsResult<T> = Result<T, NsError>;
