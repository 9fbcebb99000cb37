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
