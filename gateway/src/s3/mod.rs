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

mod body;
mod bucket;
mod drain;
mod error;
mod host;
mod list;
mod multipart;
mod object;
mod proxy;
mod request_id;

mod settings;
mod sigv2;
mod sigv4;

use std::collections::BTreeMap;
use std::sync::Arc;

use arustio_namespace::{Conditions, Namespace};
use chrono::{DateTime, Utc};
use s3s::dto::{ETagCondition, Metadata, Timestamp};
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{S3Request, S3Response, S3Result};

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

/// The S3 service with an `x-amz-request-id` on every response, errors from s3s's own
/// parsing and authentication included.
#[derive(Clone)]
pub(crate) struct S3HttpService {
    s3: S3Service,
    owners: Arc<proxy::UploadRouter>,
    sigv2: Arc<sigv2::SigV2>,
    /// How long a request body may stall before the request fails with RequestTimeout.
    body_timeout: std::time::Duration,
}

impl hyper::service::Service<http::Request<hyper::body::Incoming>> for S3HttpService {
    type Response = s3s::HttpResponse;
    type Error = s3s::HttpError;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn call(&self, mut req: http::Request<hyper::body::Incoming>) -> Self::Future {
        // The request's one id: the response header, any error body, and its log span.
        let id = request_id::mint();
        let span = tracing::info_span!("s3", request_id = %id, method = %req.method(), path = %req.uri().path());
        if is_post_object(&req) {
            let resp = request_id::sync_scope(id.clone(), post_object_refused);
            return Box::pin(std::future::ready(Ok(with_request_id(resp, &id))));
        }
        // SigV2's request time and signature, and SigV4 rules s3s does not apply, checked
        // before s3s (see sigv2.rs and sigv4.rs).
        let refused = request_id::sync_scope(id.clone(), || {
            self.sigv2.screen(&mut req).or_else(|| sigv4::screen(&mut req))
        });
        let (parts, body) = req.into_parts();
        let body = drain::SharedBody::new(body, self.body_timeout);
        let owner = self.owners.remote_owner(&parts.uri);
        let owners = Arc::clone(&self.owners);
        let service = self.s3.clone();
        let served = async move {
            let mut resp = match (refused, owner) {
                (Some(refused), _) => refused,
                (None, None) => {
                    let req = http::Request::from_parts(parts, s3s::Body::http_body(body.clone()));
                    service.call(req).await?
                }
                (None, Some(Ok(addr))) => match owners.forward(&addr, parts, body.clone()).await {
                    Ok(resp) => resp,
                    Err(e) => {
                        tracing::warn!(error = %e, "passing a multipart request to its node failed");
                        let msg = match e {
                            proxy::ForwardError::Loop => {
                                "The upload is not staged on the node this request was passed to"
                            }
                            _ => "The node staging this upload is unavailable; retry later",
                        };
                        error::response(s3s::S3ErrorCode::ServiceUnavailable, msg)
                    }
                },
                (None, Some(Err(node))) => error::response(
                    s3s::S3ErrorCode::NoSuchUpload,
                    &format!("The upload belongs to node {node}, which is not known here"),
                ),
            };
            if let Some(timeout) = body.stall_response() {
                resp = timeout;
            }
            // An error before the body was read (a refused conditional PUT, say): read the
            // rest, or close the connection, so it is not taken for the next request.
            if !resp.status().is_success() && !body.drain().await {
                resp.headers_mut()
                    .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
            }
            if resp.status().is_client_error() || resp.status().is_server_error() {
                tracing::debug!(status = resp.status().as_u16(), "request failed");
            }
            Ok(resp)
        };
        Box::pin(async move {
            let resp = request_id::scope(id.clone(), tracing::Instrument::instrument(served, span)).await?;
            Ok(with_request_id(resp, &id))
        })
    }
}

/// Sets the request's id as the response's `x-amz-request-id`.
fn with_request_id(mut resp: s3s::HttpResponse, id: &str) -> s3s::HttpResponse {
    if let Ok(v) = http::HeaderValue::from_str(id) {
        resp.headers_mut().insert("x-amz-request-id", v);
    }
    resp
}

/// A POST Object (an HTML form upload): s3s would read its file part into memory before
/// checking the form's signature, so anyone could make the node hold gigabytes. The
/// gateway does not take form uploads; it refuses them before reading a byte of the body.
fn is_post_object<B>(req: &http::Request<B>) -> bool {
    req.method() == http::Method::POST
        && req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

fn post_object_refused() -> s3s::HttpResponse {
    let mut resp = error::response(
        s3s::S3ErrorCode::NotImplemented,
        "POST Object (HTML form uploads) is not supported; use PUT or a presigned PUT URL",
    );
    // The body was not read: the connection cannot carry another request.
    resp.headers_mut()
        .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
    resp
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

/// The root pair, as replicated (it can change on any node). An unknown access key is
/// InvalidAccessKeyId, as AWS answers (s3s's SimpleAuth says NotSignedUp).
struct RootAuth(Arc<arustio_raft::MetaStore>);

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

/// Builds the HTTP service: SigV4/SigV2 with the root pair, virtual hosts under `domain`.
pub(crate) fn build_service(
    ns: Arc<Namespace>,
    meta: Arc<arustio_raft::MetaStore>,
    cluster: Arc<arustio_raft::ClusterNode>,
    domain: Option<&str>,
    forward_timeout: std::time::Duration,
    body_timeout: std::time::Duration,
) -> Result<S3HttpService, String> {
    let node = cluster.id();
    let owners = Arc::new(proxy::UploadRouter::new(
        node,
        Arc::clone(&meta),
        cluster,
        forward_timeout,
    ));
    let mut b = S3ServiceBuilder::new(Gateway {
        ns,
        node,
        owners: Arc::clone(&owners),
    });
    b.set_auth(RootAuth(Arc::clone(&meta)));
    b.set_config(s3s_limits());
    b.set_validation(BucketNames);
    if let Some(domain) = domain {
        b.set_host(host::Domain::new(domain)?);
    }
    let vh = domain.map(host::Domain::new).transpose()?;
    let sigv2 = Arc::new(sigv2::SigV2::new(meta, vh));
    Ok(S3HttpService {
        s3: b.build(),
        owners,
        sigv2,
        body_timeout,
    })
}

/// Our bucket naming rule, which also takes the one-letter names S3 refuses.
struct BucketNames;

impl s3s::validation::NameValidation for BucketNames {
    fn validate_bucket_name(&self, name: &str) -> bool {
        arustio_namespace::check_bucket_name(name).is_ok()
    }
}

/// chrono → s3s time. S3 dates have four-digit years: a file dated past 9999 (a local
/// store can hold one) shows as the last second of 9999, and one before year 0 as its first.
fn ts(t: DateTime<Utc>) -> Timestamp {
    let (min, max) = (-62_167_219_200, 253_402_300_799); // 0000-01-01, 9999-12-31T23:59:59
    let secs = t.timestamp().clamp(min, max);
    let nanos = if secs == t.timestamp() {
        t.timestamp_subsec_nanos()
    } else {
        0
    };
    let t = time::OffsetDateTime::from_unix_timestamp(secs)
        .map(|t| t + time::Duration::nanoseconds(i64::from(nanos)))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    Timestamp::from(t)
}

/// s3s → chrono time.
pub(crate) fn chrono_of(t: Timestamp) -> DateTime<Utc> {
    let t: time::OffsetDateTime = t.into();
    DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond()).unwrap_or_default()
}

fn etags(c: Option<ETagCondition>) -> Option<Vec<String>> {
    c.map(|c| match c {
        ETagCondition::Any => vec!["*".to_owned()],
        ETagCondition::ETag(e) => vec![e.into_value()],
    })
}

fn conditions(
    if_match: Option<ETagCondition>,
    if_none_match: Option<ETagCondition>,
    if_modified_since: Option<Timestamp>,
    if_unmodified_since: Option<Timestamp>,
) -> Conditions {
    Conditions {
        if_match: etags(if_match),
        if_none_match: etags(if_none_match),
        if_modified_since: if_modified_since.map(chrono_of),
        if_unmodified_since: if_unmodified_since.map(chrono_of),
    }
}

fn to_btree(m: Option<Metadata>) -> BTreeMap<String, String> {
    m.map(|m| m.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect())
        .unwrap_or_default()
}

fn to_metadata(m: &BTreeMap<String, String>) -> Option<Metadata> {
    (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
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

#[cfg(test)]
mod time_tests {
    use super::*;

    #[test]
    fn dates_past_year_9999_are_clamped_not_a_panic() {
        let far = DateTime::from_timestamp(253_402_300_800 * 4, 0).unwrap();
        let mut out = Vec::new();
        ts(far).format(s3s::dto::TimestampFormat::DateTime, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "9999-12-31T23:59:59.000Z");
        let early = DateTime::from_timestamp(-62_167_219_200 * 2, 0).unwrap();
        assert_eq!(chrono_of(ts(early)).timestamp(), -62_167_219_200);
        let now = DateTime::from_timestamp(1_700_000_000, 123_000_000).unwrap();
        assert_eq!(chrono_of(ts(now)), now);
    }
}
