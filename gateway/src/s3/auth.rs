//! Who may call the S3 endpoint: the replicated root pair.

use std::sync::Arc;

use s3s::S3Result;

use super::error;

/// The root pair, as replicated (it can change on any node). An unknown access key is
/// InvalidAccessKeyId, as AWS answers (s3s's SimpleAuth says NotSignedUp).
pub(super) struct RootAuth(pub(super) Arc<arustio_raft::MetaStore>);

#[async_trait::async_trait]
impl s3s::auth::S3Auth for RootAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<s3s::auth::SecretKey> {
        match self.0.root_credentials() {
            Some(creds) if creds.access_key == access_key => Ok(creds.secret_key.into()),
            _ => Err(error::err(
                s3s::S3ErrorCode::InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records.",
            )),
        }
    }
}

/// What a signed request may do: anything, for the root pair (s3s's default check, which
/// refuses unsigned requests). It also records the request's operation and bucket.
pub(super) struct RootAccess;

#[async_trait::async_trait]
impl s3s::access::S3Access for RootAccess {
    async fn check(&self, cx: &mut s3s::access::S3AccessContext<'_>) -> S3Result<()> {
        let (bucket, key) = match cx.s3_path() {
            s3s::path::S3Path::Root => (None, None),
            s3s::path::S3Path::Bucket { bucket } => (Some(bucket.to_string()), None),
            s3s::path::S3Path::Object { bucket, key } => (Some(bucket.to_string()), Some(key.to_string())),
        };
        super::request_id::set_route(super::request_id::Route {
            op: cx.s3_op().name().to_owned(),
            bucket,
            key,
        });
        match cx.credentials() {
            Some(_) => Ok(()),
            None => Err(error::err(s3s::S3ErrorCode::AccessDenied, "Signature is required")),
        }
    }
}
