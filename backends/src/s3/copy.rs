//! Server-side copies and deletes on S3. A copy of up to 5 GiB is one CopyObject; a larger
//! one (S3 refuses a CopyObject over 5 GiB) is a multipart upload of UploadPartCopy parts,
//! each pinned to the source's ETag so a source changed mid-copy fails the copy.

use std::time::Duration;

use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, MetadataDirective};
use futures::stream::{StreamExt, TryStreamExt};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::S3Store;
use super::error::map;
use super::write::with_attrs;
use crate::BackendError;

/// The largest object one CopyObject may copy.
pub(crate) const MAX_SINGLE_COPY: u64 = 5 << 30;
/// Parts of a multipart copy: at least this large, and never more than S3's 10,000.
const COPY_PART: u64 = 512 << 20;
const MAX_PARTS: u64 = 10_000;
/// Part copies in flight at once.
const COPY_CONCURRENCY: usize = 4;
/// How long a store may take over one copy request (it answers when the bytes are copied).
const COPY_TIMEOUT: Duration = Duration::from_secs(900);

/// Everything but letters, digits and `-_~` is escaped: a key's `.`, `..` and `//` reach
/// the store as they are, never normalised on the way.
const COPY_SOURCE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

/// The part boundaries of a multipart copy of `size` bytes: `(start, end inclusive)`.
fn copy_parts(size: u64) -> Vec<(u64, u64)> {
    let part = COPY_PART.max(size.div_ceil(MAX_PARTS).div_ceil(1 << 20) << 20);
    (0..size.div_ceil(part))
        .map(|i| (i * part, ((i + 1) * part).min(size) - 1))
        .collect()
}

impl S3Store {
    fn copy_source(&self, full: &str) -> String {
        format!("{}/{}", self.bucket, utf8_percent_encode(full, COPY_SOURCE))
    }

    fn slow() -> aws_sdk_s3::config::Builder {
        aws_sdk_s3::config::Builder::default()
            .timeout_config(TimeoutConfig::builder().read_timeout(COPY_TIMEOUT).build())
    }

    /// Deletes `full`; a missing object is not an error.
    pub(crate) async fn delete(&self, full: &str, key: &str) -> Result<(), BackendError> {
        match self.client.delete_object().bucket(&self.bucket).key(full).send().await {
            Ok(_) => Ok(()),
            Err(e) => match map(&self.name, key, e) {
                BackendError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }

    /// Copies `from` to `to` (store keys) within the bucket, with what the store keeps
    /// with the object.
    pub(crate) async fn copy(&self, from: &str, to: &str, key: &str) -> Result<(), BackendError> {
        let src = self.head(from, key).await?;
        if src.size <= MAX_SINGLE_COPY {
            let req = self
                .client
                .copy_object()
                .bucket(&self.bucket)
                .key(to)
                .copy_source(self.copy_source(from))
                .set_copy_source_if_match(src.e_tag.clone())
                .metadata_directive(MetadataDirective::Copy)
                .set_server_side_encryption(self.encryption.mode.clone())
                .set_ssekms_key_id(self.encryption.kms_key_id.clone())
                .set_bucket_key_enabled(self.encryption.bucket_key);
            return req
                .customize()
                .config_override(Self::slow())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| map(&self.name, key, e));
        }
        let attrs = src.attrs.clone().unwrap_or_default();
        let req = self.client.create_multipart_upload().bucket(&self.bucket).key(to);
        let out = with_attrs!(req, self, &attrs)
            .send()
            .await
            .map_err(|e| map(&self.name, key, e))?;
        let id = out.upload_id().unwrap_or_default().to_owned();
        let copied = self
            .copy_parts(from, to, key, &id, src.size, src.e_tag.as_deref())
            .await;
        let done = match copied {
            Ok(parts) => self
                .client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(to)
                .upload_id(&id)
                .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
                .customize()
                .config_override(Self::slow())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| map(&self.name, key, e)),
            Err(e) => Err(e),
        };
        if done.is_err() {
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(to)
                .upload_id(&id)
                .send()
                .await;
        }
        done
    }

    async fn copy_parts(
        &self,
        from: &str,
        to: &str,
        key: &str,
        id: &str,
        size: u64,
        e_tag: Option<&str>,
    ) -> Result<Vec<CompletedPart>, BackendError> {
        let source = self.copy_source(from);
        let mut parts: Vec<CompletedPart> = futures::stream::iter(copy_parts(size).into_iter().enumerate())
            .map(|(i, (start, end))| {
                let number = i32::try_from(i + 1).unwrap_or(i32::MAX);
                let req = self
                    .client
                    .upload_part_copy()
                    .bucket(&self.bucket)
                    .key(to)
                    .upload_id(id)
                    .part_number(number)
                    .copy_source(&source)
                    .copy_source_range(format!("bytes={start}-{end}"))
                    .set_copy_source_if_match(e_tag.map(str::to_owned));
                async move {
                    let out = req
                        .customize()
                        .config_override(Self::slow())
                        .send()
                        .await
                        .map_err(|e| map(&self.name, key, e))?;
                    let e_tag = out.copy_part_result().and_then(|r| r.e_tag()).map(str::to_owned);
                    Ok::<_, BackendError>(CompletedPart::builder().part_number(number).set_e_tag(e_tag).build())
                }
            })
            .buffer_unordered(COPY_CONCURRENCY)
            .try_collect()
            .await?;
        parts.sort_by_key(|p| p.part_number());
        Ok(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_cut_into_parts_s3_accepts() {
        let parts = copy_parts((5 << 30) + 1);
        assert_eq!(parts.len(), 11);
        assert_eq!(parts[0], (0, (512 << 20) - 1));
        assert_eq!(parts[10], (10 * (512 << 20), 5 << 30));
        let huge = copy_parts(5 << 40);
        assert!(huge.len() <= 10_000 && huge.last().unwrap().1 == (5 << 40) - 1);
        assert!(huge.iter().all(|(s, e)| e - s < 5 << 30));
    }

    #[test]
    fn a_copy_source_keeps_dots_and_slashes_escaped() {
        let s = utf8_percent_encode("a/../b//c d", COPY_SOURCE).to_string();
        assert_eq!(s, "a%2F%2E%2E%2Fb%2F%2Fc%20d");
    }
}
