//! Object operations: HEAD, GET, PUT, DELETE, DeleteObjects, CopyObject.

use std::collections::BTreeMap;

use arustio_namespace::{
    ByteSpan, GetRequest, MetadataDirective, Namespace, NsError, ObjectInfo, PutCondition, PutOptions,
};
use base64::Engine as _;
use s3s::dto::{
    CopyObjectInput, CopyObjectOutput, CopyObjectResult, CopySource, DeleteObjectInput, DeleteObjectOutput,
    DeleteObjectsInput, DeleteObjectsOutput, DeletedObject, ETag, ETagCondition, Error as S3ErrorEntry, GetObjectInput,
    GetObjectOutput, HeadObjectInput, HeadObjectOutput, Metadata, PutObjectInput, PutObjectOutput, Range,
    StreamingBlob,
};
use s3s::{S3ErrorCode, S3Request, S3Response, S3Result};

use super::body::{Declared, to_checksum, verified};
use super::error::{err, s3_error};
use super::{conditions, to_btree, to_metadata, ts};

/// Headers kept with an object, besides Content-Type and user metadata.
pub(super) struct StoredHeaders {
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    pub content_encoding: Option<String>,
    pub content_language: Option<String>,
    pub expires: Option<chrono::DateTime<chrono::Utc>>,
}

/// An HTTP date (RFC 9110 5.6.7), as `Expires` and `Last-Modified` carry.
pub(super) fn http_date(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// A stored `Expires`, back as a timestamp.
fn expires(info: &ObjectInfo) -> Option<s3s::dto::Timestamp> {
    let t = chrono::DateTime::parse_from_rfc2822(info.headers.get("expires")?).ok()?;
    Some(ts(t.with_timezone(&chrono::Utc)))
}

impl StoredHeaders {
    fn into_map(self) -> BTreeMap<String, String> {
        // `aws-chunked` describes the transfer, not the object; the rest is kept as sent.
        let encoding = self.content_encoding.and_then(|e| {
            let rest: Vec<&str> = e
                .split(',')
                .filter(|p| !p.trim().eq_ignore_ascii_case("aws-chunked"))
                .collect();
            let rest = rest.join(",");
            let rest = rest.trim();
            (!rest.is_empty()).then(|| rest.to_owned())
        });
        [
            ("cache-control", self.cache_control),
            ("content-disposition", self.content_disposition),
            ("content-encoding", encoding),
            ("content-language", self.content_language),
            ("expires", self.expires.map(http_date)),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
        .collect()
    }
}

/// Write options from the request's content headers.
pub(super) fn put_options(
    content_type: Option<String>,
    metadata: Option<Metadata>,
    headers: StoredHeaders,
) -> PutOptions {
    PutOptions {
        content_type,
        user_meta: to_btree(metadata),
        headers: headers.into_map(),
        ..PutOptions::default()
    }
}

/// The PUT condition of If-None-Match / If-Match.
pub(super) fn put_condition(
    if_match: Option<ETagCondition>,
    if_none_match: Option<ETagCondition>,
) -> S3Result<PutCondition> {
    match (if_match, if_none_match) {
        (None, None) => Ok(PutCondition::None),
        (None, Some(ETagCondition::Any)) => Ok(PutCondition::IfNoneMatchAny),
        (None, Some(ETagCondition::ETag(_))) => Err(err(
            S3ErrorCode::NotImplemented,
            "If-None-Match on PUT supports only '*'",
        )),
        (Some(c), None) => Ok(PutCondition::IfMatch(super::etags(Some(c)).unwrap_or_default())),
        (Some(_), Some(_)) => Err(err(
            S3ErrorCode::InvalidRequest,
            "use either If-Match or If-None-Match, not both",
        )),
    }
}

/// Decodes Content-MD5, as s3s parsed it or, when it dropped the value (an empty
/// header), as the request has it: an empty Content-MD5 is InvalidDigest, as on AWS.
pub(super) fn content_md5(v: Option<&str>, headers: &http::HeaderMap) -> S3Result<Option<[u8; 16]>> {
    let raw = headers.get("content-md5").map(|v| v.to_str().unwrap_or("?"));
    v.or(raw)
        .map(|v| {
            base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .ok()
                .and_then(|b| <[u8; 16]>::try_from(b).ok())
                .ok_or_else(|| err(S3ErrorCode::InvalidDigest, "The Content-MD5 you specified is not valid"))
        })
        .transpose()
}

/// HEAD and GET answer with the same headers; GET adds the body.
macro_rules! object_output {
    ($ty:ident, $info:ident, $len:expr, $range:expr, $checksum:expr $(, $field:ident : $value:expr)*) => {
        with_checksums!(
            $ty {
                $($field: $value,)*
                accept_ranges: Some("bytes".to_owned()),
                content_length: i64::try_from($len).ok(),
                content_range: $range,
                e_tag: Some(ETag::Strong($info.etag.clone())),
                last_modified: Some(ts($info.last_modified)),
                content_type: $info.content_type.clone(),
                metadata: to_metadata(&$info.user_meta),
                cache_control: header(&$info, "cache-control"),
                content_disposition: header(&$info, "content-disposition"),
                content_encoding: header(&$info, "content-encoding"),
                content_language: header(&$info, "content-language"),
                expires: expires(&$info),
            },
            $checksum
        )
    };
}

/// The checksums a HEAD or GET with `x-amz-checksum-mode: ENABLED` of the whole object
/// returns, and their type (a multipart upload's `<base64>-N` is COMPOSITE).
pub(super) fn checksums_of(info: &ObjectInfo, asked: bool) -> (s3s::dto::Checksum, Option<s3s::dto::ChecksumType>) {
    if !asked {
        return Default::default();
    }
    let kind = info
        .checksums
        .values()
        .next()
        .map(|v| s3s::dto::ChecksumType::from_static(arustio_namespace::checksum::type_of(v)));
    (to_checksum(&info.checksums), kind)
}

fn header(info: &ObjectInfo, name: &str) -> Option<String> {
    info.headers.get(name).cloned()
}

/// The byte range to send and its Content-Range, after checking it against `size`.
fn plan_range(range: Option<Range>, size: u64) -> S3Result<(Option<std::ops::Range<u64>>, Option<String>)> {
    let Some(range) = range else {
        return Ok((None, None));
    };
    let unsatisfiable = || err(S3ErrorCode::InvalidRange, "The requested range is not satisfiable");
    // s3s gives `bytes=-N` of an empty object as 0..0: no byte of it can be sent.
    let r = range
        .check(size)
        .ok()
        .filter(|r| r.start < r.end)
        .ok_or_else(unsatisfiable)?;
    let content_range = format!("bytes {}-{}/{size}", r.start, r.end - 1);
    Ok((Some(r), Some(content_range)))
}

/// The byte range of part `n` (`?partNumber=n`) and the object's part count: a multipart
/// object's parts as they were completed; any other object is one part. A part past the
/// last is 416 InvalidPartNumber, as on AWS.
fn part_range(info: &ObjectInfo, n: Option<i32>, range: Option<Range>) -> S3Result<(Option<Range>, Option<i32>)> {
    let Some(n) = n else { return Ok((range, None)) };
    if range.is_some() {
        return Err(err(
            S3ErrorCode::InvalidRequest,
            "Cannot specify both Range header and partNumber query parameter",
        ));
    }
    if !(1..=10_000).contains(&n) {
        return Err(err(
            S3ErrorCode::InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive",
        ));
    }
    let beyond = || {
        let mut e = err(
            S3ErrorCode::Custom("InvalidPartNumber".into()),
            "The requested partnumber is not satisfiable",
        );
        e.set_status_code(http::StatusCode::RANGE_NOT_SATISFIABLE);
        e
    };
    let index = usize::try_from(n - 1).map_err(|_| beyond())?;
    if info.part_sizes.is_empty() {
        return match (index, info.size) {
            (0, 0) => Ok((None, None)),
            (0, size) => Ok((
                Some(Range::Int {
                    first: 0,
                    last: Some(size - 1),
                }),
                None,
            )),
            _ => Err(beyond()),
        };
    }
    let size = *info.part_sizes.get(index).ok_or_else(beyond)?;
    let first: u64 = info.part_sizes[..index].iter().sum();
    let count = i32::try_from(info.part_sizes.len()).ok();
    if size == 0 {
        return Ok((None, count));
    }
    Ok((
        Some(Range::Int {
            first,
            last: Some(first + size - 1),
        }),
        count,
    ))
}

pub(super) async fn handle_head_object(
    ns: &Namespace,
    req: S3Request<HeadObjectInput>,
) -> S3Result<S3Response<HeadObjectOutput>> {
    let input = req.input;
    let h = ns.head(&input.bucket, &input.key).await.map_err(s3_error)?;
    conditions(
        input.if_match,
        input.if_none_match,
        input.if_modified_since,
        input.if_unmodified_since,
    )
    .check(&h.info)
    .map_err(s3_error)?;
    let (asked, parts_count) = part_range(&h.info, input.part_number, input.range)?;
    let (range, content_range) = plan_range(asked, h.info.size)?;
    let len = range.as_ref().map_or(h.info.size, |r| r.end - r.start);
    let info = h.info;
    let (checksum, checksum_type) = checksums_of(&info, input.checksum_mode.is_some() && range.is_none());
    Ok(S3Response::new(object_output!(
        HeadObjectOutput,
        info,
        len,
        content_range,
        checksum,
        parts_count: parts_count,
        checksum_type: checksum_type
    )))
}

pub(super) async fn handle_get_object(
    ns: &Namespace,
    req: S3Request<GetObjectInput>,
) -> S3Result<S3Response<GetObjectOutput>> {
    // `Cache-Control: no-cache` on the request: read the store, not the cache.
    let bypass = req
        .headers
        .get_all(http::header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|d| d.trim().eq_ignore_ascii_case("no-cache"));
    let input = req.input;
    let conds = conditions(
        input.if_match,
        input.if_none_match,
        input.if_modified_since,
        input.if_unmodified_since,
    );
    // `?partNumber=N`: the part's range, from the object's record.
    let (asked, parts_count) = match input.part_number {
        None => (input.range, None),
        Some(n) => {
            let h = ns.head(&input.bucket, &input.key).await.map_err(s3_error)?;
            conds.check(&h.info).map_err(s3_error)?;
            part_range(&h.info, Some(n), input.range)?
        }
    };
    // A second try when the object changed between the HEAD (perhaps cached, on a ttl
    // mount) and the read.
    let mut retried = false;
    let (h, body, range, content_range) = loop {
        // One store request at most, cold or warm; the client's conditions are checked
        // on what the store (or the cache of its metadata) says before any bytes are read.
        let span = asked.map(|r| match r {
            Range::Int { first, last } => ByteSpan::From(first, last),
            Range::Suffix { length } => ByteSpan::Suffix(length),
        });
        let get = GetRequest {
            bucket: &input.bucket,
            key: &input.key,
            span,
            conditions: &conds,
        };
        let opened = ns.get_object(&get, bypass).await;
        match opened {
            Ok((h, body)) => {
                conds.check(&h.info).map_err(s3_error)?;
                let (range, content_range) = plan_range(asked, h.info.size)?;
                break (h, body, range, content_range);
            }
            Err(NsError::Changed { .. }) if !retried => retried = true,
            Err(e) => return Err(s3_error(e)),
        }
    };
    let len = range.as_ref().map_or(h.info.size, |r| r.end - r.start);
    let whole = range.is_none();
    let info = h.info;
    let (checksum, checksum_type) = checksums_of(&info, input.checksum_mode.is_some() && whole);
    let stream = body.stream;
    let mut resp = S3Response::new(
        object_output!(GetObjectOutput, info, len, content_range, checksum, parts_count: parts_count, checksum_type: checksum_type, body: Some(StreamingBlob::wrap(sync_wrapper::SyncStream::new(stream)))),
    );
    if let Ok(v) = http::HeaderValue::from_str(&body.sources.header()) {
        resp.headers.insert("x-arustio-cache", v);
    }
    Ok(resp)
}

pub(super) async fn handle_put_object(
    ns: &Namespace,
    req: S3Request<PutObjectInput>,
) -> S3Result<S3Response<PutObjectOutput>> {
    let headers = req.headers;
    let trailers = req.trailing_headers;
    let input = req.input;
    let declared = Declared::new(input.checksum_algorithm.as_ref(), declared_checksums!(input), &headers);
    let mut opts = put_options(input.content_type, input.metadata, stored_headers!(input));
    opts.condition = put_condition(input.if_match, input.if_none_match)?;
    opts.content_md5 = content_md5(input.content_md5.as_deref(), &headers)?;
    opts.checksum_algorithms = declared.names()?;
    let (body, slot) = verified(input.body, declared, trailers)?;
    opts.checksums = Some(std::sync::Arc::clone(&slot));
    let info = ns.put(&input.bucket, &input.key, body, opts).await.map_err(s3_error)?;
    Ok(S3Response::new(with_checksums!(
        PutObjectOutput {
            e_tag: Some(ETag::Strong(info.etag))
        },
        to_checksum(&info.checksums)
    )))
}

pub(super) async fn handle_delete_object(
    ns: &Namespace,
    req: S3Request<DeleteObjectInput>,
) -> S3Result<S3Response<DeleteObjectOutput>> {
    let input = req.input;
    ns.delete(&input.bucket, &input.key).await.map_err(s3_error)?;
    Ok(S3Response::new(DeleteObjectOutput::default()))
}

pub(super) async fn handle_delete_objects(
    ns: &Namespace,
    req: S3Request<DeleteObjectsInput>,
) -> S3Result<S3Response<DeleteObjectsOutput>> {
    let caller = super::auth::Caller::of(&req.extensions);
    let input = req.input;
    if !ns.bucket_exists(&input.bucket).await.map_err(s3_error)? {
        return Err(err(
            S3ErrorCode::NoSuchBucket,
            format!("no such bucket {:?}", input.bucket),
        ));
    }
    if input.delete.objects.len() > 1000 {
        return Err(err(
            S3ErrorCode::MalformedXML,
            "at most 1000 keys can be deleted in one request",
        ));
    }
    let quiet = input.delete.quiet.unwrap_or(false);
    let (mut deleted, mut errors) = (Vec::new(), Vec::new());
    for obj in input.delete.objects {
        // Each key is held to the caller's grants, as a DeleteObject of it would be.
        let done = if caller.may(&input.bucket, &obj.key, arustio_raft::Access::Write) {
            ns.delete(&input.bucket, &obj.key).await.map_err(s3_error)
        } else {
            Err(err(S3ErrorCode::AccessDenied, "Access Denied"))
        };
        match done {
            Ok(()) if quiet => {}
            Ok(()) => deleted.push(DeletedObject {
                key: Some(obj.key),
                ..DeletedObject::default()
            }),
            Err(e) => {
                errors.push(S3ErrorEntry {
                    key: Some(obj.key),
                    code: Some(e.code().as_str().to_owned()),
                    message: e.message().map(str::to_owned),
                    ..S3ErrorEntry::default()
                });
            }
        }
    }
    Ok(S3Response::new(DeleteObjectsOutput {
        deleted: (!deleted.is_empty()).then_some(deleted),
        errors: (!errors.is_empty()).then_some(errors),
        ..DeleteObjectsOutput::default()
    }))
}

/// The bucket and key named by `x-amz-copy-source`.
pub(super) fn copy_source(src: &CopySource) -> S3Result<(String, String)> {
    match src {
        CopySource::Bucket {
            bucket,
            key,
            version_id: None,
        } => Ok((bucket.to_string(), key.to_string())),
        CopySource::Bucket {
            version_id: Some(_), ..
        } => Err(err(
            S3ErrorCode::NotImplemented,
            "versioned copy sources are not supported",
        )),
        _ => Err(err(
            S3ErrorCode::NotImplemented,
            "access point copy sources are not supported",
        )),
    }
}

pub(super) async fn handle_copy_object(
    ns: &Namespace,
    req: S3Request<CopyObjectInput>,
) -> S3Result<S3Response<CopyObjectOutput>> {
    let input = req.input;
    let (src_bucket, src_key) = copy_source(&input.copy_source)?;
    let replace = input
        .metadata_directive
        .as_ref()
        .is_some_and(|d| d.as_str().eq_ignore_ascii_case("REPLACE"));
    let directive = if replace {
        MetadataDirective::Replace(Box::new(put_options(
            input.content_type,
            input.metadata,
            stored_headers!(input),
        )))
    } else {
        MetadataDirective::Copy
    };
    let source_conditions = conditions(
        input.copy_source_if_match,
        input.copy_source_if_none_match,
        input.copy_source_if_modified_since,
        input.copy_source_if_unmodified_since,
    );
    let info = ns
        .copy(
            (&src_bucket, &src_key),
            (&input.bucket, &input.key),
            directive,
            &source_conditions,
        )
        .await
        .map_err(s3_error)?;
    Ok(S3Response::new(CopyObjectOutput {
        copy_object_result: Some(CopyObjectResult {
            e_tag: Some(ETag::Strong(info.etag)),
            last_modified: Some(ts(info.last_modified)),
            ..CopyObjectResult::default()
        }),
        ..CopyObjectOutput::default()
    }))
}
