//! Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort, ListParts,
//! ListMultipartUploads.

use arustio_namespace::checksum::UploadChecksum;
use arustio_namespace::{Namespace, PartInfo, UploadInfo};
use s3s::dto::{
    AbortMultipartUploadInput, AbortMultipartUploadOutput, ChecksumAlgorithm, ChecksumType,
    CompleteMultipartUploadInput, CompleteMultipartUploadOutput, CopyPartResult, CreateMultipartUploadInput,
    CreateMultipartUploadOutput, ETag, ListMultipartUploadsInput, ListMultipartUploadsOutput, ListPartsInput,
    ListPartsOutput, MultipartUpload, Part, UploadPartCopyInput, UploadPartCopyOutput, UploadPartInput,
    UploadPartOutput,
};
use s3s::{S3ErrorCode, S3Request, S3Response, S3Result};

use super::body::{Declared, to_checksum, verified};
use super::bucket::require_bucket;
use super::error::{err, s3_error};
use super::object::{checksums_of, content_md5, copy_source, put_condition, put_options};
use super::proxy::UploadRouter;
use super::{conditions, ts};
use crate::uploads::ListedUpload;

const MAX_PARTS: usize = 1000;

fn algorithm_of(c: &UploadChecksum) -> ChecksumAlgorithm {
    ChecksumAlgorithm::from(c.algorithm.to_ascii_uppercase())
}

fn type_of(c: &UploadChecksum) -> ChecksumType {
    ChecksumType::from_static(c.type_name())
}

/// A part's checksum by the upload's algorithm, as the response fields carry it.
fn part_checksum(up: &UploadInfo, part: &PartInfo) -> s3s::dto::Checksum {
    match (&up.checksum, &part.checksum) {
        (Some(c), Some(v)) => to_checksum(&std::collections::BTreeMap::from([(c.algorithm.clone(), v.clone())])),
        _ => s3s::dto::Checksum::default(),
    }
}

/// Upload ids name the node that stages the upload: `<node>-<id>`.
fn cluster_id(node: u64, local: &str) -> String {
    format!("{node}-{local}")
}

/// The node-local part of `upload_id`, staged on this node (others' were passed to their
/// node before).
fn local_id(node: u64, upload_id: &str) -> S3Result<&str> {
    upload_id
        .split_once('-')
        .filter(|(n, _)| n.parse() == Ok(node))
        .map(|(_, id)| id)
        .ok_or_else(|| {
            err(
                S3ErrorCode::NoSuchUpload,
                format!("The specified upload does not exist: {upload_id}"),
            )
        })
}

/// The upload `upload_id` staged on this node.
async fn upload(ns: &Namespace, node: u64, bucket: &str, key: &str, upload_id: &str) -> S3Result<UploadInfo> {
    ns.upload(bucket, key, local_id(node, upload_id)?)
        .await
        .map_err(s3_error)
}

pub(super) async fn handle_create(
    ns: &Namespace,
    node: u64,
    req: S3Request<CreateMultipartUploadInput>,
) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
    let input = req.input;
    let checksum = input
        .checksum_algorithm
        .as_ref()
        .map(|a| UploadChecksum::new(a.as_str(), input.checksum_type.as_ref().map(|t| t.as_str())))
        .transpose()
        .map_err(|msg| err(S3ErrorCode::InvalidRequest, msg))?;
    let opts = put_options(input.content_type, input.metadata, stored_headers!(input));
    let info = ns
        .create_upload(&input.bucket, &input.key, &opts, checksum)
        .await
        .map_err(s3_error)?;
    Ok(S3Response::new(CreateMultipartUploadOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(cluster_id(node, &info.upload_id)),
        checksum_algorithm: info.checksum.as_ref().map(algorithm_of),
        checksum_type: info.checksum.as_ref().map(type_of),
        ..CreateMultipartUploadOutput::default()
    }))
}

pub(super) async fn handle_upload_part(
    ns: &Namespace,
    node: u64,
    req: S3Request<UploadPartInput>,
) -> S3Result<S3Response<UploadPartOutput>> {
    let headers = req.headers;
    let trailers = req.trailing_headers;
    let input = req.input;
    let up = upload(ns, node, &input.bucket, &input.key, &input.upload_id).await?;
    let declared = Declared::new(input.checksum_algorithm.as_ref(), declared_checksums!(input), &headers);
    let md5 = content_md5(input.content_md5.as_deref(), &headers)?;
    let (body, slot) = verified(input.body, declared, trailers)?;
    let part = ns
        .upload_part(&up, input.part_number, body, md5)
        .await
        .map_err(s3_error)?;
    let mut sums = slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    if let (Some(c), Some(v)) = (&up.checksum, &part.checksum) {
        sums.insert(c.algorithm.clone(), v.clone());
    }
    let checksum = to_checksum(&sums);
    Ok(S3Response::new(with_checksums!(
        UploadPartOutput {
            e_tag: Some(ETag::Strong(part.etag))
        },
        checksum
    )))
}

/// Parses `bytes=first-last` (inclusive) against the source size.
fn copy_range(v: Option<&str>, size: u64) -> S3Result<Option<std::ops::Range<u64>>> {
    let Some(v) = v else { return Ok(None) };
    let bad = || {
        err(
            S3ErrorCode::InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
        )
    };
    let (a, b) = v
        .trim()
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .ok_or_else(bad)?;
    let (first, last): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if first > last {
        return Err(bad());
    }
    if last >= size {
        return Err(err(S3ErrorCode::InvalidRange, "The requested range is not satisfiable"));
    }
    Ok(Some(first..last + 1))
}

pub(super) async fn handle_upload_part_copy(
    ns: &Namespace,
    node: u64,
    req: S3Request<UploadPartCopyInput>,
) -> S3Result<S3Response<UploadPartCopyOutput>> {
    let input = req.input;
    let up = upload(ns, node, &input.bucket, &input.key, &input.upload_id).await?;
    let (src_bucket, src_key) = copy_source(&input.copy_source)?;
    let src = ns.head(&src_bucket, &src_key).await.map_err(s3_error)?;
    conditions(
        input.copy_source_if_match,
        input.copy_source_if_none_match,
        input.copy_source_if_modified_since,
        input.copy_source_if_unmodified_since,
    )
    .check(&src.info)
    .map_err(|e| match e {
        arustio_namespace::NsError::NotModified { key, .. } => {
            s3_error(arustio_namespace::NsError::PreconditionFailed { key })
        }
        e => s3_error(e),
    })?;
    let range = copy_range(input.copy_source_range.as_deref(), src.info.size)?;
    let part = ns
        .upload_part_copy(&up, input.part_number, &src, range)
        .await
        .map_err(s3_error)?;
    Ok(S3Response::new(UploadPartCopyOutput {
        copy_part_result: Some(CopyPartResult {
            e_tag: Some(ETag::Strong(part.etag)),
            last_modified: Some(ts(part.last_modified)),
            ..CopyPartResult::default()
        }),
        ..UploadPartCopyOutput::default()
    }))
}

pub(super) async fn handle_complete(
    ns: &Namespace,
    node: u64,
    req: S3Request<CompleteMultipartUploadInput>,
) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
    let input = req.input;
    let local = local_id(node, &input.upload_id)?;
    let parts = input.multipart_upload.and_then(|m| m.parts).unwrap_or_default();
    let listed = parts
        .into_iter()
        .map(|p| match (p.part_number, p.e_tag) {
            (Some(n), Some(e)) => Ok((n, e.into_value())),
            _ => Err(err(
                S3ErrorCode::InvalidPart,
                "every part needs a PartNumber and an ETag",
            )),
        })
        .collect::<S3Result<Vec<_>>>()?;
    let condition = put_condition(input.if_match, input.if_none_match)?;
    let info = ns
        .complete_upload_id(&input.bucket, &input.key, local, &listed, condition)
        .await
        .map_err(s3_error)?;
    let (checksum, checksum_type) = checksums_of(&info, true);
    Ok(S3Response::new(with_checksums!(
        CompleteMultipartUploadOutput {
            location: Some(format!("/{}/{}", input.bucket, input.key)),
            bucket: Some(input.bucket),
            key: Some(input.key),
            e_tag: Some(ETag::Strong(info.etag.clone())),
            checksum_type: checksum_type,
        },
        checksum
    )))
}

pub(super) async fn handle_abort(
    ns: &Namespace,
    node: u64,
    req: S3Request<AbortMultipartUploadInput>,
) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
    let input = req.input;
    let up = upload(ns, node, &input.bucket, &input.key, &input.upload_id).await?;
    ns.abort_upload(&up).await.map_err(s3_error)?;
    Ok(S3Response::new(AbortMultipartUploadOutput::default()))
}

pub(super) async fn handle_list_parts(
    ns: &Namespace,
    node: u64,
    req: S3Request<ListPartsInput>,
) -> S3Result<S3Response<ListPartsOutput>> {
    let input = req.input;
    let up = upload(ns, node, &input.bucket, &input.key, &input.upload_id).await?;
    let max = input
        .max_parts
        .and_then(|m| usize::try_from(m).ok())
        .unwrap_or(MAX_PARTS)
        .min(MAX_PARTS);
    let marker = input.part_number_marker.unwrap_or(0);
    let all = ns.list_parts(&up).await.map_err(s3_error)?;
    let mut rest = all.into_iter().filter(|p| p.part_number > marker).peekable();
    let page: Vec<_> = rest.by_ref().take(max).collect();
    let truncated = rest.peek().is_some();
    Ok(S3Response::new(ListPartsOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(input.upload_id),
        is_truncated: Some(truncated),
        next_part_number_marker: if truncated {
            page.last().map(|p| p.part_number)
        } else {
            None
        },
        part_number_marker: input.part_number_marker,
        max_parts: i32::try_from(max).ok(),
        checksum_algorithm: up.checksum.as_ref().map(algorithm_of),
        checksum_type: up.checksum.as_ref().map(type_of),
        parts: Some(
            page.iter()
                .map(|p| {
                    let c = part_checksum(&up, p);
                    Part {
                        part_number: Some(p.part_number),
                        e_tag: Some(ETag::Strong(p.etag.clone())),
                        size: i64::try_from(p.size).ok(),
                        last_modified: Some(ts(p.last_modified)),
                        checksum_crc32: c.checksum_crc32,
                        checksum_crc32c: c.checksum_crc32c,
                        checksum_crc64nvme: c.checksum_crc64nvme,
                        checksum_sha1: c.checksum_sha1,
                        checksum_sha256: c.checksum_sha256,
                    }
                })
                .collect(),
        ),
        ..ListPartsOutput::default()
    }))
}

pub(super) async fn handle_list_uploads(
    ns: &Namespace,
    node: u64,
    owners: &UploadRouter,
    req: S3Request<ListMultipartUploadsInput>,
) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
    let input = req.input;
    require_bucket(ns, &input.bucket).await?;
    let prefix = input.prefix.clone().unwrap_or_default();
    let max = input
        .max_uploads
        .and_then(|m| usize::try_from(m).ok())
        .unwrap_or(MAX_PARTS)
        .min(MAX_PARTS);
    // This node's uploads and every other node's, by key then upload id.
    let mut uploads: Vec<ListedUpload> = ns
        .list_uploads(&input.bucket, &prefix)
        .await
        .map_err(s3_error)?
        .iter()
        .map(|u| ListedUpload::new(node, u))
        .collect();
    uploads.extend(owners.peer_uploads(&input.bucket, &prefix).await);
    uploads.sort_by(|a, b| (&a.key, &a.upload_id).cmp(&(&b.key, &b.upload_id)));
    let after = Marker::new(input.key_marker.as_deref(), input.upload_id_marker.as_deref());
    let mut rest = uploads.into_iter().filter(|u| after.precedes(u)).peekable();
    let page: Vec<_> = rest.by_ref().take(max).collect();
    let truncated = rest.peek().is_some();
    Ok(S3Response::new(ListMultipartUploadsOutput {
        bucket: Some(input.bucket),
        prefix: input.prefix,
        key_marker: input.key_marker,
        upload_id_marker: input.upload_id_marker,
        is_truncated: Some(truncated),
        next_key_marker: if truncated {
            page.last().map(|u| u.key.clone())
        } else {
            None
        },
        next_upload_id_marker: if truncated {
            page.last().map(|u| u.upload_id.clone())
        } else {
            None
        },
        max_uploads: i32::try_from(max).ok(),
        uploads: Some(
            page.into_iter()
                .map(|u| MultipartUpload {
                    key: Some(u.key),
                    upload_id: Some(u.upload_id),
                    initiated: Some(ts(u.initiated)),
                    ..MultipartUpload::default()
                })
                .collect(),
        ),
        ..ListMultipartUploadsOutput::default()
    }))
}

/// Where a page of ListMultipartUploads starts: after `key`, or after the upload `id` of
/// `key` (S3 ignores an upload id marker without a key marker).
struct Marker<'a> {
    key: Option<&'a str>,
    id: Option<&'a str>,
}

impl<'a> Marker<'a> {
    fn new(key: Option<&'a str>, id: Option<&'a str>) -> Self {
        let key = key.filter(|k| !k.is_empty());
        Self {
            key,
            id: id.filter(|i| key.is_some() && !i.is_empty()),
        }
    }

    /// Whether the marker comes before `u`, in key then upload id order.
    fn precedes(&self, u: &ListedUpload) -> bool {
        match (self.key, self.id) {
            (None, _) => true,
            (Some(key), None) => u.key.as_str() > key,
            (Some(key), Some(id)) => (u.key.as_str(), u.upload_id.as_str()) > (key, id),
        }
    }
}
