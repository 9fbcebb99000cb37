//! The S3 endpoint: s3s parses and authenticates; each operation becomes one call into
//! the namespace, in a `handle_*` function per operation family.

/// Builds an s3s output struct whose type has the five `checksum_*` fields, from a
/// `Checksum`, plus the given fields.
macro_rules! with_checksums {
    ($ty:ident { $($field:ident : $value:expr),* $(,)? }, $checksum:expr) => {{
        let c: s3s::dto::Checksum = $checksum;
        $ty {
            $($field: $value,)*
            checksum_crc32: c.checksum_crc32,
            checksum_crc32c: c.checksum_crc32c,
            checksum_sha1: c.checksum_sha1,
            checksum_sha256: c.checksum_sha256,
            checksum_crc64nvme: c.checksum_crc64nvme,
            ..$ty::default()
        }
    }};
}

/// The checksums an input (PutObject, UploadPart) declares in its headers.
macro_rules! declared_checksums {
    ($input:ident) => {
        s3s::dto::Checksum {
            checksum_crc32: $input.checksum_crc32,
            checksum_crc32c: $input.checksum_crc32c,
            checksum_sha1: $input.checksum_sha1,
            checksum_sha256: $input.checksum_sha256,
            checksum_crc64nvme: $input.checksum_crc64nvme,
            ..Default::default()
        }
    };
}

/// The content headers an input (PutObject, CopyObject, CreateMultipartUpload) carries.
macro_rules! stored_headers {
    ($input:ident) => {
        crate::s3::object::StoredHeaders {
            cache_control: $input.cache_control,
            content_disposition: $input.content_disposition,
            content_encoding: $input.content_encoding,
            content_language: $input.content_language,
            expires: $input.expires.map(crate::s3::chrono_of),
        }
    };
}

mod admission;
mod auth;
mod body;
mod bucket;
mod convert;
mod drain;
mod error;
mod front;
mod host;
mod list;
mod multipart;
mod object;
mod proxy;
mod request_id;

mod settings;
mod sigv2;
mod sigv4;

use std::sync::Arc;

use arustio_namespace::Namespace;
use s3s::service::S3ServiceBuilder;
use s3s::{S3Request, S3Response, S3Result};

pub(crate) use admission::Caps;
pub(crate) use convert::chrono_of;
use convert::{conditions, etags, to_btree, to_metadata, ts};
pub(crate) use front::S3HttpService;

/// The S3 implementation over a namespace.
#[derive(Clone)]
pub(crate) struct Gateway {
    ns: Arc<Namespace>,
    /// This node's id: multipart upload ids carry it.
    node: u64,
    /// The other nodes, for their uploads.
    owners: Arc<proxy::UploadRouter>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gateway")
    }
}

/// s3s's limits on what it holds in memory: no POST Object file (they are refused before
/// s3s sees them; this is the second wall), small form fields.
fn s3s_limits() -> Arc<dyn s3s::config::S3ConfigProvider> {
    let mut config = s3s::config::S3Config::default();
    config.post_object_max_file_size = 0;
    config.form_max_field_size = 64 << 10;
    config.form_max_fields_size = 256 << 10;
    Arc::new(s3s::config::StaticConfigProvider::new(Arc::new(config)))
}

/// Builds the HTTP service: SigV4/SigV2 with the root pair, virtual hosts under `domain`.
pub(crate) fn build_service(
    node: &crate::node::Node,
    domain: Option<&str>,
    forward_timeout: std::time::Duration,
    body_timeout: std::time::Duration,
    metrics: crate::metrics::S3Metrics,
    caps: admission::Caps,
) -> Result<S3HttpService, String> {
    let (ns, meta, cluster, sealer) = (
        Arc::clone(&node.namespace),
        Arc::clone(&node.meta),
        Arc::clone(&node.cluster),
        Arc::clone(&node.sealer),
    );
    let node = cluster.id();
    let owners = Arc::new(proxy::UploadRouter::new(
        node,
        Arc::clone(&meta),
        cluster,
        forward_timeout,
    ));
    let mut b = S3ServiceBuilder::new(Gateway {
        ns: Arc::clone(&ns),
        node,
        owners: Arc::clone(&owners),
    });
    let secrets = Arc::new(auth::Secrets {
        meta: Arc::clone(&meta),
        sealer,
    });
    b.set_auth(auth::KeyAuth(Arc::clone(&secrets)));
    b.set_access(auth::Grants(Arc::clone(&meta)));
    b.set_config(s3s_limits());
    b.set_validation(BucketNames);
    if let Some(domain) = domain {
        b.set_host(host::Domain::new(domain)?);
    }
    let vh = domain.map(host::Domain::new).transpose()?;
    let sigv2 = Arc::new(sigv2::SigV2::new(secrets, vh));
    Ok(S3HttpService {
        s3: b.build(),
        owners,
        sigv2,
        body_timeout,
        metrics,
        ns,
        admission: admission::Admission::new(caps),
    })
}

/// Our bucket naming rule, which also takes the one-letter names S3 refuses.
struct BucketNames;

impl s3s::validation::NameValidation for BucketNames {
    fn validate_bucket_name(&self, name: &str) -> bool {
        arustio_namespace::check_bucket_name(name).is_ok()
    }
}

#[async_trait::async_trait]
impl s3s::S3 for Gateway {
    async fn list_buckets(
        &self,
        req: S3Request<s3s::dto::ListBucketsInput>,
    ) -> S3Result<S3Response<s3s::dto::ListBucketsOutput>> {
        bucket::handle_list_buckets(&self.ns, req).await
    }

    async fn create_bucket(
        &self,
        req: S3Request<s3s::dto::CreateBucketInput>,
    ) -> S3Result<S3Response<s3s::dto::CreateBucketOutput>> {
        bucket::handle_create_bucket(&self.ns, req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<s3s::dto::HeadBucketInput>,
    ) -> S3Result<S3Response<s3s::dto::HeadBucketOutput>> {
        bucket::handle_head_bucket(&self.ns, req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<s3s::dto::DeleteBucketInput>,
    ) -> S3Result<S3Response<s3s::dto::DeleteBucketOutput>> {
        bucket::handle_delete_bucket(&self.ns, req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<s3s::dto::GetBucketLocationInput>,
    ) -> S3Result<S3Response<s3s::dto::GetBucketLocationOutput>> {
        bucket::handle_get_bucket_location(&self.ns, req).await
    }

    async fn list_objects(
        &self,
        req: S3Request<s3s::dto::ListObjectsInput>,
    ) -> S3Result<S3Response<s3s::dto::ListObjectsOutput>> {
        list::handle_list_objects(&self.ns, req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<s3s::dto::ListObjectsV2Input>,
    ) -> S3Result<S3Response<s3s::dto::ListObjectsV2Output>> {
        list::handle_list_objects_v2(&self.ns, req).await
    }

    async fn head_object(
        &self,
        req: S3Request<s3s::dto::HeadObjectInput>,
    ) -> S3Result<S3Response<s3s::dto::HeadObjectOutput>> {
        object::handle_head_object(&self.ns, req).await
    }

    async fn get_object(
        &self,
        req: S3Request<s3s::dto::GetObjectInput>,
    ) -> S3Result<S3Response<s3s::dto::GetObjectOutput>> {
        object::handle_get_object(&self.ns, req).await
    }

    async fn put_object(
        &self,
        req: S3Request<s3s::dto::PutObjectInput>,
    ) -> S3Result<S3Response<s3s::dto::PutObjectOutput>> {
        object::handle_put_object(&self.ns, req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<s3s::dto::DeleteObjectInput>,
    ) -> S3Result<S3Response<s3s::dto::DeleteObjectOutput>> {
        object::handle_delete_object(&self.ns, req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<s3s::dto::DeleteObjectsInput>,
    ) -> S3Result<S3Response<s3s::dto::DeleteObjectsOutput>> {
        object::handle_delete_objects(&self.ns, req).await
    }

    async fn copy_object(
        &self,
        req: S3Request<s3s::dto::CopyObjectInput>,
    ) -> S3Result<S3Response<s3s::dto::CopyObjectOutput>> {
        object::handle_copy_object(&self.ns, req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<s3s::dto::CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<s3s::dto::CreateMultipartUploadOutput>> {
        multipart::handle_create(&self.ns, self.node, req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<s3s::dto::UploadPartInput>,
    ) -> S3Result<S3Response<s3s::dto::UploadPartOutput>> {
        multipart::handle_upload_part(&self.ns, self.node, req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<s3s::dto::UploadPartCopyInput>,
    ) -> S3Result<S3Response<s3s::dto::UploadPartCopyOutput>> {
        multipart::handle_upload_part_copy(&self.ns, self.node, req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<s3s::dto::CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<s3s::dto::CompleteMultipartUploadOutput>> {
        multipart::handle_complete(&self.ns, self.node, req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<s3s::dto::AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<s3s::dto::AbortMultipartUploadOutput>> {
        multipart::handle_abort(&self.ns, self.node, req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<s3s::dto::ListPartsInput>,
    ) -> S3Result<S3Response<s3s::dto::ListPartsOutput>> {
        multipart::handle_list_parts(&self.ns, self.node, req).await
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<s3s::dto::ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<s3s::dto::ListMultipartUploadsOutput>> {
        multipart::handle_list_uploads(&self.ns, self.node, &self.owners, req).await
    }
    async fn get_bucket_versioning(
        &self,
        req: S3Request<s3s::dto::GetBucketVersioningInput>,
    ) -> S3Result<S3Response<s3s::dto::GetBucketVersioningOutput>> {
        Ok(S3Response::new(
            settings::versioning(&self.ns, &req.input.bucket).await?,
        ))
    }

    async fn get_bucket_acl(
        &self,
        req: S3Request<s3s::dto::GetBucketAclInput>,
    ) -> S3Result<S3Response<s3s::dto::GetBucketAclOutput>> {
        Ok(S3Response::new(
            settings::bucket_acl(&self.ns, &req.input.bucket).await?,
        ))
    }

    async fn get_object_acl(
        &self,
        req: S3Request<s3s::dto::GetObjectAclInput>,
    ) -> S3Result<S3Response<s3s::dto::GetObjectAclOutput>> {
        let i = &req.input;
        Ok(S3Response::new(
            settings::object_acl(&self.ns, &i.bucket, &i.key).await?,
        ))
    }

    async fn get_object_tagging(
        &self,
        req: S3Request<s3s::dto::GetObjectTaggingInput>,
    ) -> S3Result<S3Response<s3s::dto::GetObjectTaggingOutput>> {
        let i = &req.input;
        Ok(S3Response::new(
            settings::object_tagging(&self.ns, &i.bucket, &i.key).await?,
        ))
    }

    async fn get_bucket_policy(
        &self,
        req: S3Request<s3s::dto::GetBucketPolicyInput>,
    ) -> S3Result<S3Response<s3s::dto::GetBucketPolicyOutput>> {
        let code = s3s::S3ErrorCode::NoSuchBucketPolicy;
        settings::not_set(&self.ns, &req.input.bucket, code, "bucket policy").await
    }

    async fn get_bucket_cors(
        &self,
        req: S3Request<s3s::dto::GetBucketCorsInput>,
    ) -> S3Result<S3Response<s3s::dto::GetBucketCorsOutput>> {
        let code = s3s::S3ErrorCode::NoSuchCORSConfiguration;
        settings::not_set(&self.ns, &req.input.bucket, code, "CORS configuration").await
    }

    async fn get_bucket_lifecycle_configuration(
        &self,
        req: S3Request<s3s::dto::GetBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<s3s::dto::GetBucketLifecycleConfigurationOutput>> {
        let code = s3s::S3ErrorCode::NoSuchLifecycleConfiguration;
        settings::not_set(&self.ns, &req.input.bucket, code, "lifecycle configuration").await
    }

    async fn get_bucket_tagging(
        &self,
        req: S3Request<s3s::dto::GetBucketTaggingInput>,
    ) -> S3Result<S3Response<s3s::dto::GetBucketTaggingOutput>> {
        settings::not_set(&self.ns, &req.input.bucket, s3s::S3ErrorCode::NoSuchTagSet, "TagSet").await
    }

    async fn get_bucket_encryption(
        &self,
        req: S3Request<s3s::dto::GetBucketEncryptionInput>,
    ) -> S3Result<S3Response<s3s::dto::GetBucketEncryptionOutput>> {
        let code = s3s::S3ErrorCode::ServerSideEncryptionConfigurationNotFoundError;
        settings::not_set(
            &self.ns,
            &req.input.bucket,
            code,
            "server side encryption configuration",
        )
        .await
    }
}
