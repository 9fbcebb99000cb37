//! HEAD, GET and LIST on an S3 store: keys as the store holds them, bodies streamed with an
//! idle timeout.

use std::collections::HashMap;

use aws_sdk_s3::primitives::{ByteStream as SdkStream, DateTime as SdkTime};
use aws_sdk_s3::types::ChecksumMode;
use chrono::{DateTime, Utc};
use futures::stream::{BoxStream, StreamExt, TryStreamExt};

use super::S3Store;
use super::error::{S3Failure, map};
use crate::Attrs;
use crate::BackendError;
use crate::backend::{ByteStream, ObjectMeta};

/// Keys asked for per listing request.
const LIST_PAGE: i32 = 1000;

fn time(t: Option<&SdkTime>) -> DateTime<Utc> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
        .unwrap_or_default()
}

/// What the store keeps with an object, as [`Attrs`].
struct Described<'a> {
    content_type: Option<&'a str>,
    cache_control: Option<&'a str>,
    content_disposition: Option<&'a str>,
    content_encoding: Option<&'a str>,
    content_language: Option<&'a str>,
    metadata: Option<&'a HashMap<String, String>>,
    checksums: [(&'static str, Option<&'a str>); 5],
}

impl Described<'_> {
    fn attrs(&self) -> Attrs {
        let mut out = Attrs::new();
        for (k, v) in [
            ("content-type", self.content_type),
            ("cache-control", self.cache_control),
            ("content-disposition", self.content_disposition),
            ("content-encoding", self.content_encoding),
            ("content-language", self.content_language),
        ] {
            if let Some(v) = v {
                out.insert(k.to_owned(), v.to_owned());
            }
        }
        for (name, v) in self.metadata.into_iter().flatten() {
            out.insert(format!("meta:{}", name.to_ascii_lowercase()), v.clone());
        }
        for (alg, v) in self.checksums {
            if let Some(v) = v {
                out.insert(format!("checksum:{alg}"), v.to_owned());
            }
        }
        out
    }
}

macro_rules! described {
    ($o:expr) => {
        Described {
            content_type: $o.content_type(),
            cache_control: $o.cache_control(),
            content_disposition: $o.content_disposition(),
            content_encoding: $o.content_encoding(),
            content_language: $o.content_language(),
            metadata: $o.metadata(),
            checksums: [
                ("crc32", $o.checksum_crc32()),
                ("crc32c", $o.checksum_crc32_c()),
                ("crc64nvme", $o.checksum_crc64_nvme()),
                ("sha1", $o.checksum_sha1()),
                ("sha256", $o.checksum_sha256()),
            ],
        }
    };
}

/// `bytes A-B/TOTAL` as (A, TOTAL).
fn content_range(v: &str) -> Option<(u64, u64)> {
    let (range, total) = v.strip_prefix("bytes ")?.split_once('/')?;
    let start = range.split_once('-')?.0.parse().ok()?;
    Some((start, total.parse().ok()?))
}

impl S3Store {
    /// Metadata of `full` (the store's key), with what the store keeps with it.
    pub(crate) async fn head(&self, full: &str, key: &str) -> Result<ObjectMeta, BackendError> {
        let out = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(full)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .map_err(|e| map(&self.name, key, e))?;
        Ok(ObjectMeta {
            key: key.to_owned(),
            size: out.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
            last_modified: time(out.last_modified()),
            e_tag: out.e_tag().map(str::to_owned),
            attrs: Some(described!(out).attrs()),
        })
    }

    /// GETs `range` (an HTTP `Range` value) of `full`, only if its version is `if_match`
    /// and unless it is `if_none_match`: `None` on a 304. With the bytes, the object's
    /// metadata and the offset the bytes start at.
    pub(crate) async fn get(
        &self,
        full: &str,
        key: &str,
        range: Option<String>,
        if_match: Option<&str>,
        if_none_match: Option<&str>,
    ) -> Result<Option<(ObjectMeta, ByteStream, u64)>, BackendError> {
        let sent = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(full)
            .set_range(range)
            .set_if_match(if_match.map(str::to_owned))
            .set_if_none_match(if_none_match.map(str::to_owned))
            .send()
            .await;
        let out = match sent {
            Ok(out) => out,
            Err(e) if if_none_match.is_some() && e.raw_response().is_some_and(|r| r.status().as_u16() == 304) => {
                return Ok(None);
            }
            Err(e) => return Err(map(&self.name, key, e)),
        };
        let length = out.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
        let (start, size) = out.content_range().and_then(content_range).unwrap_or((0, length));
        let meta = ObjectMeta {
            key: key.to_owned(),
            size,
            last_modified: time(out.last_modified()),
            e_tag: out.e_tag().map(str::to_owned),
            attrs: Some(described!(out).attrs()),
        };
        let body = out.body;
        Ok(Some((meta, self.body(key, body), start)))
    }

    /// A response body as our stream: an error when the store sends nothing for the idle
    /// timeout (the timer runs only while the gateway waits for the store).
    fn body(&self, key: &str, body: SdkStream) -> ByteStream {
        let (idle, key) = (self.idle, key.to_owned());
        futures::stream::try_unfold(body, move |mut body| {
            let key = key.clone();
            async move {
                let fail = |detail: String| BackendError::Unavailable {
                    key: key.clone(),
                    source: Box::new(S3Failure::body(detail)),
                };
                match tokio::time::timeout(idle, body.next()).await {
                    Err(_) => Err(fail(format!("the store sent no body bytes for {idle:?}"))),
                    Ok(None) => Ok(None),
                    Ok(Some(Ok(bytes))) => Ok(Some((bytes, body))),
                    Ok(Some(Err(e))) => Err(fail(format!("reading the body: {}", DisplayChain(&e)))),
                }
            }
        })
        .boxed()
    }

    /// Objects whose store key starts with `full_prefix` and sorts after `start_after`, in
    /// key order, keyed by the store key less its first `base` bytes. Every key the store
    /// holds is listed as it is.
    pub(crate) fn list(
        &self,
        full_prefix: String,
        start_after: Option<String>,
        base: usize,
    ) -> BoxStream<'static, Result<ObjectMeta, BackendError>> {
        let this = self.clone();
        // (continuation token, whether the last page was seen)
        futures::stream::try_unfold((None::<String>, false), move |(token, done)| {
            let this = this.clone();
            let (prefix, start_after) = (full_prefix.clone(), start_after.clone());
            async move {
                if done {
                    return Ok(None);
                }
                let out = this
                    .client
                    .list_objects_v2()
                    .bucket(&this.bucket)
                    .prefix(prefix)
                    .set_start_after(start_after.filter(|_| token.is_none()))
                    .set_continuation_token(token)
                    .max_keys(LIST_PAGE)
                    .send()
                    .await
                    .map_err(|e| map(&this.name, "", e))?;
                let next = out.next_continuation_token().map(str::to_owned);
                let done = !out.is_truncated().unwrap_or(false) || next.is_none();
                let page: Vec<Result<ObjectMeta, BackendError>> = out
                    .contents()
                    .iter()
                    .filter_map(|o| {
                        let key = o.key()?.get(base..)?.to_owned();
                        Some(Ok(ObjectMeta {
                            key,
                            size: o.size().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                            last_modified: time(o.last_modified()),
                            e_tag: o.e_tag().map(str::to_owned),
                            attrs: None,
                        }))
                    })
                    .collect();
                Ok(Some((futures::stream::iter(page), (next, done))))
            }
        })
        .try_flatten()
        .boxed()
    }
}

/// An error and its causes on one line.
struct DisplayChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cur = self.0.source();
        while let Some(c) = cur {
            write!(f, ": {c}")?;
            cur = c.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_gives_the_start_and_the_total() {
        assert_eq!(content_range("bytes 5-9/10"), Some((5, 10)));
        assert_eq!(content_range("bytes */10"), None);
    }
}
