//! Who may call the S3 endpoint, and what they may do: the replicated root pair, which
//! may do anything, and users, each held to its grants.

use std::sync::Arc;

use arustio_raft::{Access, MetaStore, User};
use s3s::S3Result;
use s3s::path::S3Path;

use super::error;
use crate::seal::Sealer;

/// The secrets of the root pair and of the users (opened from their sealed form), as
/// replicated: they can change on any node.
pub(crate) struct Secrets {
    pub meta: Arc<MetaStore>,
    pub sealer: Arc<Sealer>,
}

impl Secrets {
    /// The secret of `access_key`, if it is the root's or a user's.
    pub(super) fn secret_of(&self, access_key: &str) -> Option<String> {
        if let Some(root) = self.meta.root_credentials().filter(|c| c.access_key == access_key) {
            return Some(root.secret_key);
        }
        let user = self.meta.user_by_access_key(access_key)?;
        let secret = self.sealer.open(&user.sealed_secret);
        if secret.is_none() {
            tracing::warn!(user = %user.name, "a user's secret does not open with this node's key (another cluster secret?)");
        }
        secret
    }
}

/// An unknown access key is InvalidAccessKeyId, as AWS answers (s3s's SimpleAuth says
/// NotSignedUp).
pub(super) struct KeyAuth(pub(super) Arc<Secrets>);

#[async_trait::async_trait]
impl s3s::auth::S3Auth for KeyAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<s3s::auth::SecretKey> {
        match self.0.secret_of(access_key) {
            Some(secret) => Ok(secret.into()),
            None => Err(error::err(
                s3s::S3ErrorCode::InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records.",
            )),
        }
    }
}

/// Who signed a request, as the handlers see it (in the request's extensions).
#[derive(Debug, Clone)]
pub(super) enum Caller {
    /// The root pair: anything.
    Root,
    /// A user, with its grants as they were when the request came.
    User(User),
}

impl Caller {
    /// The caller of `req` (root when the access check left none: it always does).
    pub(super) fn of(extensions: &http::Extensions) -> Self {
        extensions.get::<Self>().cloned().unwrap_or(Self::Root)
    }

    /// Whether the bucket shows in the caller's ListBuckets.
    pub(super) fn sees(&self, bucket: &str) -> bool {
        match self {
            Self::Root => true,
            Self::User(u) => u.sees(bucket),
        }
    }

    /// The prefixes a listing of `bucket` is held to: `None` for all of it.
    pub(super) fn listable(&self, bucket: &str) -> Option<Vec<String>> {
        match self {
            Self::Root => None,
            Self::User(u) => {
                let prefixes = u.readable_prefixes(bucket);
                (!prefixes.contains(&"")).then(|| prefixes.into_iter().map(str::to_owned).collect())
            }
        }
    }

    /// Whether the caller may act at `access` on `key` of `bucket`.
    pub(super) fn may(&self, bucket: &str, key: &str, access: Access) -> bool {
        match self {
            Self::Root => true,
            Self::User(u) => u.may(bucket, key, access),
        }
    }
}

/// What an operation needs of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Nothing here (ListBuckets: its answer is filtered).
    Nothing,
    /// A grant of any level on the bucket (a listing of a prefix grant is filtered).
    AnyOnBucket,
    /// Admin on the whole bucket.
    BucketAdmin,
    /// Read on the key.
    Read,
    /// Write on the key.
    Write,
    /// Write on the key, and read on the copy source.
    Copy,
}

fn need(op: &str) -> Need {
    match op {
        "ListBuckets" => Need::Nothing,
        "HeadBucket"
        | "GetBucketLocation"
        | "ListObjects"
        | "ListObjectsV2"
        | "ListMultipartUploads"
        | "ListObjectVersions"
        | "GetBucketVersioning"
        | "DeleteObjects" => Need::AnyOnBucket,
        "GetObject" | "HeadObject" | "GetObjectAttributes" | "ListParts" | "GetObjectTagging" | "GetObjectAcl" => {
            Need::Read
        }
        "PutObject"
        | "DeleteObject"
        | "CreateMultipartUpload"
        | "UploadPart"
        | "CompleteMultipartUpload"
        | "AbortMultipartUpload"
        | "PutObjectTagging"
        | "DeleteObjectTagging" => Need::Write,
        "CopyObject" | "UploadPartCopy" => Need::Copy,
        // Bucket configuration and anything new: the bucket's admins only.
        _ => Need::BucketAdmin,
    }
}

/// The bucket and key of an `x-amz-copy-source` (`bucket/key[?versionId=...]`, perhaps
/// percent-encoded, perhaps with a leading `/`).
fn copy_source(headers: &http::HeaderMap) -> Option<(String, String)> {
    let raw = headers.get("x-amz-copy-source")?.to_str().ok()?;
    let path = raw.split_once('?').map_or(raw, |(p, _)| p);
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8().ok()?;
    let (bucket, key) = decoded.trim_start_matches('/').split_once('/')?;
    Some((bucket.to_owned(), key.to_owned()))
}

fn allowed(user: &User, need: Need, path: &S3Path, headers: &http::HeaderMap) -> bool {
    let (bucket, key) = match path {
        S3Path::Root => return need == Need::Nothing,
        S3Path::Bucket { bucket } => (&**bucket, ""),
        S3Path::Object { bucket, key } => (&**bucket, &**key),
    };
    match need {
        Need::Nothing => true,
        Need::AnyOnBucket => user.sees(bucket),
        // `may` on the empty key: only a grant on the whole bucket covers it.
        Need::BucketAdmin => user.may(bucket, "", Access::Admin),
        Need::Read => user.may(bucket, key, Access::Read),
        Need::Write => user.may(bucket, key, Access::Write),
        Need::Copy => {
            user.may(bucket, key, Access::Write)
                && copy_source(headers).is_some_and(|(b, k)| user.may(&b, &k, Access::Read))
        }
    }
}

/// The access check of every signed request: it records the request's operation and
/// bucket, refuses unsigned requests (s3s's default), lets the root pair do anything and
/// holds a user to its grants, leaving the caller in the request's extensions.
pub(super) struct Grants(pub(super) Arc<MetaStore>);

#[async_trait::async_trait]
impl s3s::access::S3Access for Grants {
    async fn check(&self, cx: &mut s3s::access::S3AccessContext<'_>) -> S3Result<()> {
        let (bucket, key) = match cx.s3_path() {
            S3Path::Root => (None, None),
            S3Path::Bucket { bucket } => (Some(bucket.to_string()), None),
            S3Path::Object { bucket, key } => (Some(bucket.to_string()), Some(key.to_string())),
        };
        let op = cx.s3_op().name().to_owned();
        super::request_id::set_route(super::request_id::Route {
            op: op.clone(),
            bucket,
            key,
        });
        let Some(access_key) = cx.credentials().map(|c| c.access_key.clone()) else {
            return Err(error::err(s3s::S3ErrorCode::AccessDenied, "Signature is required"));
        };
        if self.0.root_credentials().is_some_and(|c| c.access_key == access_key) {
            cx.extensions_mut().insert(Caller::Root);
            return Ok(());
        }
        let Some(user) = self.0.user_by_access_key(&access_key) else {
            return Err(error::err(s3s::S3ErrorCode::AccessDenied, "Access Denied"));
        };
        if !allowed(&user, need(&op), cx.s3_path(), cx.headers()) {
            tracing::debug!(user = %user.name, op = %op, "refused by the user's grants");
            return Err(error::err(s3s::S3ErrorCode::AccessDenied, "Access Denied"));
        }
        cx.extensions_mut().insert(Caller::User(user));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arustio_raft::Grant;

    fn user(grants: &[(&str, &str, Access)]) -> User {
        User {
            name: "u".into(),
            access_key: "AKU".into(),
            sealed_secret: String::new(),
            grants: grants
                .iter()
                .map(|(b, p, a)| Grant {
                    bucket: (*b).into(),
                    prefix: (*p).into(),
                    access: *a,
                })
                .collect(),
        }
    }

    fn object(b: &str, k: &str) -> S3Path {
        S3Path::Object {
            bucket: b.into(),
            key: k.into(),
        }
    }

    #[test]
    fn each_operation_needs_its_level() {
        let none = http::HeaderMap::new();
        let u = user(&[("data", "team/", Access::Write), ("logs", "", Access::Read)]);
        assert!(allowed(&u, need("GetObject"), &object("logs", "x"), &none));
        assert!(!allowed(&u, need("PutObject"), &object("logs", "x"), &none));
        assert!(allowed(&u, need("PutObject"), &object("data", "team/x"), &none));
        assert!(!allowed(&u, need("PutObject"), &object("data", "other/x"), &none));
        assert!(allowed(
            &u,
            need("ListObjectsV2"),
            &S3Path::Bucket { bucket: "data".into() },
            &none
        ));
        assert!(!allowed(
            &u,
            need("ListObjectsV2"),
            &S3Path::Bucket { bucket: "else".into() },
            &none
        ));
        assert!(!allowed(
            &u,
            need("DeleteBucket"),
            &S3Path::Bucket { bucket: "data".into() },
            &none
        ));
        assert!(!allowed(
            &u,
            need("PutBucketPolicy"),
            &S3Path::Bucket { bucket: "logs".into() },
            &none
        ));
        let admin = user(&[("data", "", Access::Admin)]);
        assert!(allowed(
            &admin,
            need("DeleteBucket"),
            &S3Path::Bucket { bucket: "data".into() },
            &none
        ));
        assert!(allowed(&u, need("ListBuckets"), &S3Path::Root, &none));
        let mut copy = http::HeaderMap::new();
        copy.insert("x-amz-copy-source", "/logs/a%20b?versionId=1".parse().unwrap());
        assert_eq!(copy_source(&copy), Some(("logs".into(), "a b".into())));
        assert!(allowed(&u, need("CopyObject"), &object("data", "team/c"), &copy));
        copy.insert("x-amz-copy-source", "data/other/x".parse().unwrap());
        assert!(
            !allowed(&u, need("CopyObject"), &object("data", "team/c"), &copy),
            "no read on the source"
        );
        assert!(!allowed(&u, need("CopyObject"), &object("data", "team/c"), &none));
    }
}
