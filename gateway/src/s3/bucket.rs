//! Bucket operations: the namespace's top-level directories.

use arustio_namespace::Namespace;
use s3s::dto::{
    Bucket, CreateBucketInput, CreateBucketOutput, DeleteBucketInput, DeleteBucketOutput, GetBucketLocationInput,
    GetBucketLocationOutput, HeadBucketInput, HeadBucketOutput, ListBucketsInput, ListBucketsOutput,
};
use s3s::{S3ErrorCode, S3Request, S3Response, S3Result};

use super::error::{err, s3_error};
use super::ts;

/// NoSuchBucket unless `bucket` exists.
pub(super) async fn require_bucket(ns: &Namespace, bucket: &str) -> S3Result<()> {
    if ns.bucket_exists(bucket).await.map_err(s3_error)? {
        Ok(())
    } else {
        Err(err(
            S3ErrorCode::NoSuchBucket,
            format!("The specified bucket does not exist: {bucket}"),
        ))
    }
}

pub(super) async fn handle_list_buckets(
    ns: &Namespace,
    req: S3Request<ListBucketsInput>,
) -> S3Result<S3Response<ListBucketsOutput>> {
    let caller = super::auth::Caller::of(&req.extensions);
    let mut buckets = ns.list_buckets().await.map_err(s3_error)?;
    // A user sees the buckets it holds a grant on.
    buckets.retain(|b| caller.sees(&b.name));
    Ok(S3Response::new(ListBucketsOutput {
        buckets: Some(
            buckets
                .into_iter()
                .map(|b| Bucket {
                    name: Some(b.name),
                    creation_date: Some(ts(b.created)),
                    ..Bucket::default()
                })
                .collect(),
        ),
        owner: Some(super::settings::root_owner()),
        ..ListBucketsOutput::default()
    }))
}

pub(super) async fn handle_create_bucket(
    ns: &Namespace,
    req: S3Request<CreateBucketInput>,
) -> S3Result<S3Response<CreateBucketOutput>> {
    let bucket = req.input.bucket;
    ns.create_bucket(&bucket).await.map_err(s3_error)?;
    Ok(S3Response::new(CreateBucketOutput {
        location: Some(format!("/{bucket}")),
    }))
}

pub(super) async fn handle_head_bucket(
    ns: &Namespace,
    req: S3Request<HeadBucketInput>,
) -> S3Result<S3Response<HeadBucketOutput>> {
    require_bucket(ns, &req.input.bucket).await?;
    Ok(S3Response::new(HeadBucketOutput::default()))
}

pub(super) async fn handle_delete_bucket(
    ns: &Namespace,
    req: S3Request<DeleteBucketInput>,
) -> S3Result<S3Response<DeleteBucketOutput>> {
    ns.delete_bucket(&req.input.bucket).await.map_err(s3_error)?;
    Ok(S3Response::new(DeleteBucketOutput::default()))
}

pub(super) async fn handle_get_bucket_location(
    ns: &Namespace,
    req: S3Request<GetBucketLocationInput>,
) -> S3Result<S3Response<GetBucketLocationOutput>> {
    require_bucket(ns, &req.input.bucket).await?;
    Ok(S3Response::new(GetBucketLocationOutput::default()))
}
