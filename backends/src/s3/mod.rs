//! S3 and S3-compatible stores on the AWS SDK's own client: keys go to the store byte for
//! byte and come back from listings as they are, writes can be conditional at any size,
//! and large copies go part by part.

mod copy;
mod endpoint;
mod error;
mod options;
mod read;
mod write;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::Client;

pub(crate) use error::S3Failure;
pub(crate) use options::build;
pub(crate) use write::{ALGORITHMS, Condition, S3Writer};

/// How an S3 mount encrypts what it writes (`aws_server_side_encryption` and friends).
#[derive(Debug, Clone, Default)]
pub(crate) struct Encryption {
    pub(crate) mode: Option<aws_sdk_s3::types::ServerSideEncryption>,
    pub(crate) kms_key_id: Option<String>,
    pub(crate) bucket_key: Option<bool>,
}

/// One S3 bucket, as a mount's backend sees it.
#[derive(Clone)]
pub(crate) struct S3Store {
    client: Client,
    bucket: String,
    /// The mount's `timeout`: how long a body may go without bytes from the store.
    idle: Duration,
    encryption: Encryption,
    /// `aws_unsigned_payload`: bodies are sent as `UNSIGNED-PAYLOAD`.
    unsigned_payload: bool,
    /// `aws_checksum_algorithm`: every upload carries a checksum the store verifies.
    checksum: Option<aws_sdk_s3::types::ChecksumAlgorithm>,
    /// `aws_conditional_put=disabled`: the store cannot make writes conditional.
    conditional: bool,
    /// The mount URI, for error messages.
    name: Arc<str>,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.bucket)
            .field("idle", &self.idle)
            .field("conditional", &self.conditional)
            .finish_non_exhaustive()
    }
}

impl S3Store {
    /// Whether the store itself can make a write conditional.
    pub(crate) fn conditional(&self) -> bool {
        self.conditional
    }
}
