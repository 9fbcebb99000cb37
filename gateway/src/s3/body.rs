//! Request bodies: checksums (`x-amz-checksum-*`, in headers or aws-chunked trailers)
//! verified while the body streams, so a mismatch fails the write before it commits.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use arustio_namespace::{BodyStream, ChecksumSlot};
use futures::StreamExt;
use s3s::checksum::ChecksumHasher;
use s3s::dto::{Checksum, ChecksumAlgorithm, StreamingBlob};
use s3s::{S3ErrorCode, TrailingHeaders};

use super::error::err;

use arustio_namespace::checksum::ALGORITHMS;

/// Checksums a request declares, from its headers.
#[derive(Debug, Default, Clone)]
pub(super) struct Declared {
    /// The algorithm named by `x-amz-sdk-checksum-algorithm` or `x-amz-trailer`.
    pub algorithm: Option<String>,
    /// Values given in headers.
    pub values: Checksum,
}

impl Declared {
    /// From the checksum fields s3s parsed, plus the `x-amz-trailer` header.
    pub(super) fn new(algorithm: Option<&ChecksumAlgorithm>, values: Checksum, headers: &http::HeaderMap) -> Self {
        let trailer = headers
            .get("x-amz-trailer")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().strip_prefix("x-amz-checksum-"))
            .map(str::to_ascii_lowercase);
        let algorithm = algorithm.map(|a| a.as_str().to_ascii_lowercase()).or(trailer);
        Self { algorithm, values }
    }

    /// Every algorithm declared, by a value in a header or by name; known before the body
    /// arrives, so a store can be told which checksum to keep. InvalidArgument for an
    /// algorithm S3 does not have.
    pub(super) fn names(&self) -> Result<Vec<String>, s3s::S3Error> {
        let mut names: Vec<String> = ALGORITHMS
            .iter()
            .filter(|a| get(&self.values, a).is_some())
            .map(|a| (*a).to_owned())
            .collect();
        if let Some(a) = &self.algorithm {
            if !ALGORITHMS.contains(&a.as_str()) {
                return Err(err(
                    S3ErrorCode::InvalidArgument,
                    format!("unsupported checksum algorithm {a}"),
                ));
            }
            if !names.contains(a) {
                names.push(a.clone());
            }
        }
        Ok(names)
    }
}

fn get(c: &Checksum, name: &str) -> Option<String> {
    match name {
        "crc32" => c.checksum_crc32.clone(),
        "crc32c" => c.checksum_crc32c.clone(),
        "sha1" => c.checksum_sha1.clone(),
        "sha256" => c.checksum_sha256.clone(),
        "crc64nvme" => c.checksum_crc64nvme.clone(),
        _ => None,
    }
}

/// Builds an s3s `Checksum` from stored values.
pub(super) fn to_checksum(stored: &BTreeMap<String, String>) -> Checksum {
    Checksum {
        checksum_crc32: stored.get("crc32").cloned(),
        checksum_crc32c: stored.get("crc32c").cloned(),
        checksum_sha1: stored.get("sha1").cloned(),
        checksum_sha256: stored.get("sha256").cloned(),
        checksum_crc64nvme: stored.get("crc64nvme").cloned(),
        ..Checksum::default()
    }
}

fn hasher_for(names: &[String]) -> ChecksumHasher {
    let mut h = ChecksumHasher::default();
    for n in names {
        match n.as_str() {
            "crc32" => h.crc32 = Some(Default::default()),
            "crc32c" => h.crc32c = Some(Default::default()),
            "sha1" => h.sha1 = Some(Default::default()),
            "sha256" => h.sha256 = Some(Default::default()),
            "crc64nvme" => h.crc64nvme = Some(Default::default()),
            _ => {}
        }
    }
    h
}

/// Wraps `body` so that, once it ends, every declared checksum is compared with the
/// bytes received; a mismatch ends the stream with BadDigest. The verified values land
/// in the returned map, for the namespace to keep.
pub(super) fn verified(
    body: Option<StreamingBlob>,
    declared: Declared,
    trailers: Option<TrailingHeaders>,
) -> Result<(BodyStream, ChecksumSlot), s3s::S3Error> {
    let names = declared.names()?;
    let slot = Arc::new(Mutex::new(BTreeMap::new()));
    let Some(body) = body else {
        return Ok((futures::stream::empty().boxed(), slot));
    };
    let check = Check {
        names,
        declared,
        trailers,
        out: Arc::clone(&slot),
    };
    let state = (body, Some(hasher_for(&check.names)), check);
    let stream = futures::stream::unfold(state, |(mut body, mut hasher, check)| async move {
        let h = hasher.as_mut()?;
        match body.next().await {
            Some(Ok(chunk)) => {
                h.update(&chunk);
                Some((Ok(chunk), (body, hasher, check)))
            }
            Some(Err(e)) => Some((Err(e), (body, None, check))),
            None => {
                let computed = hasher.take().map(ChecksumHasher::finalize).unwrap_or_default();
                check
                    .finish(&computed)
                    .err()
                    .map(|e| (Err(Box::new(e) as BoxErr), (body, None, check)))
            }
        }
    });
    Ok((stream.boxed(), slot))
}

type BoxErr = Box<dyn std::error::Error + Send + Sync>;

struct Check {
    names: Vec<String>,
    declared: Declared,
    trailers: Option<TrailingHeaders>,
    out: ChecksumSlot,
}

impl Check {
    /// Compares what was declared (headers, then trailers) with what was computed.
    fn finish(&self, computed: &Checksum) -> Result<(), s3s::S3Error> {
        let trailed = self.trailers.as_ref().and_then(TrailingHeaders::take);
        let mut kept = BTreeMap::new();
        for name in &self.names {
            let from_trailer = trailed
                .as_ref()
                .and_then(|t| t.get(format!("x-amz-checksum-{name}")))
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let expected = get(&self.declared.values, name).or(from_trailer);
            let actual = get(computed, name);
            if let Some(expected) = expected
                && Some(&expected) != actual.as_ref()
            {
                return Err(err(
                    S3ErrorCode::BadDigest,
                    format!("the {name} checksum you specified did not match what was received"),
                ));
            }
            if let Some(actual) = actual {
                kept.insert(name.clone(), actual);
            }
        }
        *self.out.lock().unwrap_or_else(PoisonError::into_inner) = kept;
        Ok(())
    }
}
