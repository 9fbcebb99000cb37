//! ListObjects (v1) and ListObjectsV2.

use arustio_namespace::{ListEntry, ListPage, ListRequest, Namespace};
use base64::Engine as _;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use s3s::dto::{
    CommonPrefix, ETag, EncodingType, ListObjectsInput, ListObjectsOutput, ListObjectsV2Input, ListObjectsV2Output,
    Object, ObjectStorageClass,
};
use s3s::{S3ErrorCode, S3Request, S3Response, S3Result};

use super::bucket::require_bucket;
use super::error::{err, s3_error};
use super::ts;

const MAX_KEYS: usize = 1000;

/// What `encoding-type=url` leaves unescaped: unreserved characters and `/`.
const KEY_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

struct Encoder(bool);

impl Encoder {
    fn new(t: Option<&EncodingType>) -> S3Result<Self> {
        match t.map(EncodingType::as_str) {
            None => Ok(Self(false)),
            Some(t) if t.eq_ignore_ascii_case("url") => Ok(Self(true)),
            Some(t) => Err(err(
                S3ErrorCode::InvalidArgument,
                format!("Invalid Encoding Method specified in Request: {t}"),
            )),
        }
    }

    fn enc(&self, s: &str) -> String {
        if self.0 {
            utf8_percent_encode(s, KEY_ESCAPE).to_string()
        } else {
            s.to_owned()
        }
    }

    fn opt(&self, s: Option<&str>) -> Option<String> {
        s.map(|s| self.enc(s))
    }

    fn echo(&self) -> Option<EncodingType> {
        self.0.then(|| EncodingType::from_static(EncodingType::URL))
    }
}

fn max_keys(v: Option<i32>) -> S3Result<usize> {
    match v {
        None => Ok(MAX_KEYS),
        Some(n) if n < 0 => Err(err(S3ErrorCode::InvalidArgument, "max-keys must not be negative")),
        Some(n) => Ok(usize::try_from(n).unwrap_or(MAX_KEYS).min(MAX_KEYS)),
    }
}

/// Whether `after` is a common prefix of this listing: everything under it was shown.
fn is_common_prefix(after: &str, prefix: &str, delimiter: Option<&str>) -> bool {
    let (Some(d), Some(rest)) = (delimiter.filter(|d| !d.is_empty()), after.strip_prefix(prefix)) else {
        return false;
    };
    rest.find(d).is_some_and(|i| i + d.len() == rest.len())
}

/// Objects and common prefixes of a page; `owner` as ListObjects v1 (always) and v2 with
/// `fetch-owner` give it.
fn split(page: ListPage, e: &Encoder, owner: bool) -> (Vec<Object>, Vec<CommonPrefix>) {
    let (mut objects, mut prefixes) = (Vec::new(), Vec::new());
    for entry in page.entries {
        match entry {
            ListEntry::Object(o) => objects.push(Object {
                key: Some(e.enc(&o.key)),
                size: i64::try_from(o.size).ok(),
                e_tag: Some(ETag::Strong(o.etag)),
                last_modified: Some(ts(o.last_modified)),
                storage_class: Some(ObjectStorageClass::from_static(ObjectStorageClass::STANDARD)),
                owner: owner.then(super::settings::root_owner),
                ..Object::default()
            }),
            ListEntry::Prefix(p) => prefixes.push(CommonPrefix {
                prefix: Some(e.enc(&p)),
            }),
        }
    }
    (objects, prefixes)
}

/// `page` held to the `allowed` prefixes (a user's grants on a part of the bucket): the
/// keys under one of them, and the common prefixes on the way to one. The page's
/// continuation is taken before, so the next page starts after what was held back.
fn held_to(mut page: ListPage, allowed: Option<&[String]>) -> ListPage {
    let Some(allowed) = allowed else { return page };
    page.entries.retain(|entry| match entry {
        ListEntry::Object(o) => allowed.iter().any(|a| o.key.starts_with(a.as_str())),
        ListEntry::Prefix(p) => allowed
            .iter()
            .any(|a| p.starts_with(a.as_str()) || a.starts_with(p.as_str())),
    });
    page
}

/// Continuation tokens: the last entry shown, tagged as a key or a prefix.
fn encode_token(entry: &ListEntry) -> String {
    let tagged = match entry {
        ListEntry::Object(o) => format!("k{}", o.key),
        ListEntry::Prefix(p) => format!("p{p}"),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tagged)
}

fn decode_token(t: &str) -> S3Result<(String, bool)> {
    let bad = || {
        err(
            S3ErrorCode::InvalidArgument,
            "The continuation token provided is incorrect",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t)
        .map_err(|_| bad())?;
    let s = String::from_utf8(raw).map_err(|_| bad())?;
    match s.split_at_checked(1) {
        Some(("k", key)) => Ok((key.to_owned(), false)),
        Some(("p", prefix)) => Ok((prefix.to_owned(), true)),
        _ => Err(bad()),
    }
}

pub(super) async fn handle_list_objects_v2(
    ns: &Namespace,
    req: S3Request<ListObjectsV2Input>,
) -> S3Result<S3Response<ListObjectsV2Output>> {
    let allowed = super::auth::Caller::of(&req.extensions).listable(&req.input.bucket);
    let input = req.input;
    let e = Encoder::new(input.encoding_type.as_ref())?;
    require_bucket(ns, &input.bucket).await?;
    let prefix = input.prefix.clone().unwrap_or_default();
    let delimiter = input.delimiter.clone().filter(|d| !d.is_empty());
    // An empty token is no token, as on AWS.
    let token = input.continuation_token.as_deref().filter(|t| !t.is_empty());
    let (after, after_is_prefix) = match (token, &input.start_after) {
        (Some(t), _) => {
            let (a, p) = decode_token(t)?;
            (Some(a), p)
        }
        (None, Some(s)) => (Some(s.clone()), is_common_prefix(s, &prefix, delimiter.as_deref())),
        (None, None) => (None, false),
    };
    let list_req = ListRequest {
        bucket: Some(input.bucket.clone()),
        prefix: prefix.clone(),
        delimiter: delimiter.clone(),
        after,
        after_is_prefix,
        max_keys: max_keys(input.max_keys)?,
    };
    let page = ns.list(&list_req).await.map_err(s3_error)?;
    let next = page.truncated.then(|| page.entries.last().map(encode_token)).flatten();
    let truncated = page.truncated;
    let page = held_to(page, allowed.as_deref());
    let (contents, prefixes) = split(page, &e, input.fetch_owner.unwrap_or(false));
    Ok(S3Response::new(ListObjectsV2Output {
        key_count: i32::try_from(contents.len() + prefixes.len()).ok(),
        contents: Some(contents),
        common_prefixes: Some(prefixes),
        is_truncated: Some(truncated),
        next_continuation_token: next,
        continuation_token: input.continuation_token,
        start_after: e.opt(input.start_after.as_deref()),
        name: Some(input.bucket),
        prefix: Some(e.enc(&prefix)),
        delimiter: e.opt(delimiter.as_deref()),
        max_keys: Some(i32::try_from(list_req.max_keys).unwrap_or(1000)),
        encoding_type: e.echo(),
        ..ListObjectsV2Output::default()
    }))
}

pub(super) async fn handle_list_objects(
    ns: &Namespace,
    req: S3Request<ListObjectsInput>,
) -> S3Result<S3Response<ListObjectsOutput>> {
    let allowed = super::auth::Caller::of(&req.extensions).listable(&req.input.bucket);
    let input = req.input;
    let e = Encoder::new(input.encoding_type.as_ref())?;
    require_bucket(ns, &input.bucket).await?;
    let prefix = input.prefix.clone().unwrap_or_default();
    let delimiter = input.delimiter.clone().filter(|d| !d.is_empty());
    let marker = input.marker.clone().filter(|m| !m.is_empty());
    let list_req = ListRequest {
        bucket: Some(input.bucket.clone()),
        prefix: prefix.clone(),
        delimiter: delimiter.clone(),
        after_is_prefix: marker
            .as_deref()
            .is_some_and(|m| is_common_prefix(m, &prefix, delimiter.as_deref())),
        after: marker.clone(),
        max_keys: max_keys(input.max_keys)?,
    };
    let page = ns.list(&list_req).await.map_err(s3_error)?;
    let next_marker = page
        .truncated
        .then(|| page.entries.last().map(|l| e.enc(l.key())))
        .flatten();
    let truncated = page.truncated;
    let page = held_to(page, allowed.as_deref());
    let (contents, prefixes) = split(page, &e, true);
    Ok(S3Response::new(ListObjectsOutput {
        contents: Some(contents),
        common_prefixes: Some(prefixes),
        is_truncated: Some(truncated),
        next_marker,
        marker: Some(e.enc(marker.as_deref().unwrap_or_default())),
        name: Some(input.bucket),
        prefix: Some(e.enc(&prefix)),
        delimiter: e.opt(delimiter.as_deref()),
        max_keys: Some(i32::try_from(list_req.max_keys).unwrap_or(1000)),
        encoding_type: e.echo(),
        ..ListObjectsOutput::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefix_detection() {
        assert!(is_common_prefix("a/", "", Some("/")));
        assert!(is_common_prefix("p/a/", "p/", Some("/")));
        assert!(
            !is_common_prefix("p/", "p/", Some("/")),
            "the prefix itself is a key, not a group"
        );
        assert!(!is_common_prefix("a/b/", "", Some("/")));
        assert!(!is_common_prefix("a/", "", None));
    }

    #[test]
    fn tokens_roundtrip_and_reject_garbage() {
        let t = encode_token(&ListEntry::Prefix("a b/ü/".into()));
        assert_eq!(decode_token(&t).unwrap(), ("a b/ü/".to_owned(), true));
        assert!(decode_token("%%%").is_err());
    }

    #[test]
    fn url_encoding_escapes_plus_and_space() {
        assert_eq!(Encoder(true).enc("a b+c/ü"), "a%20b%2Bc/%C3%BC");
    }
}
