//! Bucket and object settings the gateway does not keep (versioning, policy, CORS, lifecycle,
//! tagging, encryption, ACLs): read as AWS answers them for a bucket that has none set, so
//! clients that look (s3cmd `info`, rclone `purge`) get an answer, not 501.

use arustio_namespace::Namespace;
use s3s::dto::{
    GetBucketAclOutput, GetBucketVersioningOutput, GetObjectAclOutput, GetObjectTaggingOutput, Grant, Grantee, Owner,
    Permission, Type,
};
use s3s::{S3ErrorCode, S3Result};

use super::bucket::require_bucket;
use super::error::{err, s3_error};

/// The one owner of everything: the root credentials.
pub(super) fn root_owner() -> Owner {
    Owner {
        display_name: Some("root".to_owned()),
        id: Some("root".to_owned()),
    }
}

fn full_control() -> Vec<Grant> {
    vec![Grant {
        grantee: Some(Grantee {
            display_name: Some("root".to_owned()),
            id: Some("root".to_owned()),
            type_: Type::from_static(Type::CANONICAL_USER),
            email_address: None,
            uri: None,
        }),
        permission: Some(Permission::from_static(Permission::FULL_CONTROL)),
    }]
}

/// A setting no bucket has here: NoSuchBucket for a missing bucket, else `code` (a 404).
pub(super) async fn not_set<T>(ns: &Namespace, bucket: &str, code: S3ErrorCode, what: &str) -> S3Result<T> {
    require_bucket(ns, bucket).await?;
    let mut e = err(code, format!("The {what} does not exist"));
    e.set_status_code(http::StatusCode::NOT_FOUND);
    Err(e)
}

/// Versioning was never enabled: an empty configuration.
pub(super) async fn versioning(ns: &Namespace, bucket: &str) -> S3Result<GetBucketVersioningOutput> {
    require_bucket(ns, bucket).await?;
    Ok(GetBucketVersioningOutput::default())
}

/// The owner has full control; nobody else has any grant.
pub(super) async fn bucket_acl(ns: &Namespace, bucket: &str) -> S3Result<GetBucketAclOutput> {
    require_bucket(ns, bucket).await?;
    Ok(GetBucketAclOutput {
        grants: Some(full_control()),
        owner: Some(root_owner()),
    })
}

pub(super) async fn object_acl(ns: &Namespace, bucket: &str, key: &str) -> S3Result<GetObjectAclOutput> {
    ns.head(bucket, key).await.map_err(s3_error)?;
    Ok(GetObjectAclOutput {
        grants: Some(full_control()),
        owner: Some(root_owner()),
        request_charged: None,
    })
}

/// Objects carry no tags: an empty tag set.
pub(super) async fn object_tagging(ns: &Namespace, bucket: &str, key: &str) -> S3Result<GetObjectTaggingOutput> {
    ns.head(bucket, key).await.map_err(s3_error)?;
    Ok(GetObjectTaggingOutput::default())
}
