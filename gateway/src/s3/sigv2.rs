//! SigV2 checks made before a request reaches s3s 0.14.1, which only looks for a Date and
//! compares signatures with `!=`: the request time must be within 15 minutes of the clock
//! (RequestTimeTooSkewed, as AWS answers), and the signature is recomputed here, with a
//! port of s3s's private `sig_v2::create_string_to_sign`, and compared in constant time. A
//! mismatch is answered here, so s3s's own comparison only ever sees correct signatures.
//! What is not the root key's SigV2, or not SigV2 at all, is left to s3s.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use s3s::S3ErrorCode;
use s3s::host::S3Host as _;
use sha1::Sha1;
use subtle::ConstantTimeEq as _;

use super::{error, host};

/// AWS's limit on the distance between the request time and the server's clock.
const MAX_SKEW: TimeDelta = TimeDelta::minutes(15);

const NO_DATE: &str = "AWS authentication requires a valid Date or x-amz-date header";
const SKEWED: &str = "The difference between the request time and the current time is too large.";
const MISMATCH: &str =
    "The request signature we calculated does not match the signature you provided. Check your key and signing method.";

/// The query parameters that are part of the signed resource (s3s's `INCLUDED_QUERY`),
/// sorted.
const SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "defaultObjectAcl",
    "delete",
    "inventory",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "select",
    "select-type",
    "storageClass",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// The SigV2 screen: the secrets of the root pair and the users, the virtual-host domain.
pub(super) struct SigV2 {
    secrets: Arc<super::auth::Secrets>,
    domain: Option<host::Domain>,
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Not ours to refuse: s3s checks it (again) as it is.
    Pass,
    /// A path-style bucket request signed over `/bucket/` (as botocore signs it), while
    /// s3s signs the path as sent, `/bucket`: s3s gets the path with its slash.
    PassWithSlash,
    Refuse(S3ErrorCode, &'static str),
}

impl SigV2 {
    pub(super) fn new(secrets: Arc<super::auth::Secrets>, domain: Option<host::Domain>) -> Self {
        Self { secrets, domain }
    }

    /// Checks a SigV2 request by the root key: `Some` answer refuses it. Reads no body.
    pub(super) fn screen<B>(&self, req: &mut http::Request<B>) -> Option<s3s::HttpResponse> {
        let secret_of = |key: &str| self.secrets.secret_of(key);
        match judge(req, Utc::now(), &secret_of, self.domain.as_ref()) {
            Verdict::Pass => None,
            Verdict::PassWithSlash => {
                add_slash(req);
                None
            }
            Verdict::Refuse(code, msg) => Some(error::response(code, msg)),
        }
    }
}

fn add_slash<B>(req: &mut http::Request<B>) {
    let uri = req.uri();
    let pq = match uri.query() {
        Some(q) => format!("{}/?{q}", uri.path()),
        None => format!("{}/", uri.path()),
    };
    let mut parts = uri.clone().into_parts();
    if let Ok(pq) = http::uri::PathAndQuery::try_from(pq) {
        parts.path_and_query = Some(pq);
        if let Ok(new) = http::Uri::from_parts(parts) {
            *req.uri_mut() = new;
        }
    }
}

/// The request's headers as s3s orders them: lowercase names, sorted, values in order,
/// values that are not UTF-8 left out.
struct Headers<'a>(Vec<(&'a str, &'a str)>);

/// The query string as s3s parses it (form-decoded pairs, sorted by name).
pub(super) struct Query(Vec<(String, String)>);

/// The one value of `name` among sorted pairs, if there is exactly one.
fn unique<'a, K: AsRef<str>, V: AsRef<str>>(pairs: &'a [(K, V)], name: &str) -> Option<&'a str> {
    let mut it = all(pairs, name);
    let first = it.next()?;
    it.next().is_none().then_some(first)
}

fn all<'a, K: AsRef<str>, V: AsRef<str>>(
    pairs: &'a [(K, V)],
    name: &str,
) -> impl Iterator<Item = &'a str> + use<'a, K, V> {
    let lo = pairs.partition_point(|p| p.0.as_ref() < name);
    let hi = pairs.partition_point(|p| p.0.as_ref() <= name);
    pairs[lo..hi].iter().map(|p| p.1.as_ref())
}

impl<'a> Headers<'a> {
    fn of(map: &'a http::HeaderMap) -> Self {
        let mut v: Vec<(&str, &str)> = map
            .iter()
            .filter_map(|(k, v)| std::str::from_utf8(v.as_bytes()).ok().map(|v| (k.as_str(), v)))
            .collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        Self(v)
    }

    fn unique(&self, name: &str) -> Option<&str> {
        unique(&self.0, name)
    }
}

impl Query {
    pub(super) fn parse(q: &str) -> Option<Self> {
        let mut v: Vec<(String, String)> = serde_urlencoded::from_str(q).ok()?;
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Some(Self(v))
    }

    pub(super) fn unique(&self, name: &str) -> Option<&str> {
        unique(&self.0, name)
    }
}

/// Which date line the string to sign has.
#[derive(Clone, Copy)]
enum Mode {
    Header,
    Presigned,
}

/// s3s's `sig_v2::create_string_to_sign`, ported line for line.
fn string_to_sign(
    mode: Mode,
    method: &http::Method,
    uri_path: &str,
    qs: Option<&Query>,
    hs: &Headers<'_>,
    vh_bucket: Option<&str>,
) -> String {
    let mut ans = String::with_capacity(256);
    ans.push_str(method.as_str());
    ans.push('\n');
    ans.push_str(hs.unique("content-md5").unwrap_or_default());
    ans.push('\n');
    ans.push_str(hs.unique("content-type").unwrap_or_default());
    ans.push('\n');
    match mode {
        // With x-amz-date, the Date line is empty.
        Mode::Header if hs.unique("x-amz-date").is_some() => {}
        Mode::Header => ans.push_str(hs.unique("date").unwrap_or_default()),
        Mode::Presigned => ans.push_str(qs.and_then(|q| q.unique("Expires")).unwrap_or_default()),
    }
    ans.push('\n');
    let mut last = "";
    for &(name, _) in &hs.0 {
        if !name.starts_with("x-amz-") || name == last {
            continue;
        }
        last = name;
        let values: Vec<&str> = all(&hs.0, name).map(str::trim).collect();
        ans.push_str(name);
        ans.push(':');
        ans.push_str(&values.join(","));
        ans.push('\n');
    }
    if let Some(bucket) = vh_bucket {
        ans.push('/');
        ans.push_str(bucket);
    }
    ans.push_str(uri_path);
    if let Some(qs) = qs {
        let mut sep = '?';
        for q in SUBRESOURCES {
            if let Some(v) = qs.unique(q) {
                ans.push(sep);
                sep = '&';
                ans.push_str(q);
                if !v.is_empty() {
                    ans.push('=');
                    ans.push_str(v);
                }
            }
        }
    }
    ans
}

/// base64(HMAC-SHA1(secret, string to sign)), as s3s computes it.
fn signature(secret: &str, string_to_sign: &str) -> Option<String> {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(string_to_sign.as_bytes());
    Some(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// Constant time in the contents (a length difference ends it early; lengths are public).
fn signatures_match(expected: &str, given: &str) -> bool {
    expected.as_bytes().ct_eq(given.as_bytes()).into()
}

/// A Date or x-amz-date: RFC 2822 / HTTP-date, RFC 850, asctime, or ISO 8601.
fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc2822(s) {
        return Some(t.to_utc());
    }
    for fmt in ["%Y%m%dT%H%M%SZ", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.to_utc())
}

/// The header-auth request time: x-amz-date if sent, else Date.
fn request_time(hs: &Headers<'_>) -> Option<DateTime<Utc>> {
    let name = if all(&hs.0, "x-amz-date").next().is_some() {
        "x-amz-date"
    } else {
        "date"
    };
    hs.unique(name).and_then(parse_date)
}

/// The bucket s3s takes from the Host header: only with a domain, and not for an IP host.
/// `Err` where s3s refuses the Host itself (it answers that).
fn vh_bucket<B>(req: &http::Request<B>, domain: Option<&host::Domain>) -> Result<Option<String>, ()> {
    let Some(domain) = domain else { return Ok(None) };
    let host = match req.headers().get(http::header::HOST) {
        Some(v) => v.to_str().map_err(|_| ())?,
        None => match (req.version(), req.uri().authority()) {
            (http::Version::HTTP_2 | http::Version::HTTP_3, Some(a)) => a.as_str(),
            _ => return Ok(None),
        },
    };
    if host.parse::<SocketAddr>().is_ok() || host.parse::<IpAddr>().is_ok() {
        return Ok(None);
    }
    let vh = domain.parse_host_header(host).map_err(|_| ())?;
    Ok(vh.bucket().map(str::to_owned))
}

/// The SigV2 verdict on `req` at `now`, `secret_of` giving an access key's secret.
fn judge<B>(
    req: &http::Request<B>,
    now: DateTime<Utc>,
    secret_of: &dyn Fn(&str) -> Option<String>,
    domain: Option<&host::Domain>,
) -> Verdict {
    let hs = Headers::of(req.headers());
    let qs = match req.uri().query() {
        Some(q) => match Query::parse(q) {
            Some(qs) => Some(qs),
            None => return Verdict::Pass, // s3s answers InvalidURI
        },
        None => None,
    };
    // s3s's order: a Signature parameter makes it a presigned V2 URL, else the header.
    let (mode, access_key, given): (Mode, &str, Cow<'_, str>) = match &qs {
        Some(q) if all(&q.0, "Signature").next().is_some() => {
            let (Some(ak), Some(expires), Some(sig)) =
                (q.unique("AWSAccessKeyId"), q.unique("Expires"), q.unique("Signature"))
            else {
                return Verdict::Pass; // s3s: missing presigned url v2 fields
            };
            let Some(expires) = expires.parse::<i64>().ok().filter(|&x| x >= 0) else {
                return Verdict::Pass;
            };
            let Ok(expires_at) = time::OffsetDateTime::from_unix_timestamp(expires) else {
                return Verdict::Pass;
            };
            let Ok(sig) = percent_encoding::percent_decode_str(sig).decode_utf8() else {
                return Verdict::Pass;
            };
            if (now.timestamp(), now.timestamp_subsec_nanos()) > (expires_at.unix_timestamp(), 0) {
                return Verdict::Refuse(S3ErrorCode::AccessDenied, "Request has expired");
            }
            (Mode::Presigned, ak, sig)
        }
        _ => {
            let Some((ak, sig)) = hs
                .unique("authorization")
                .and_then(|a| a.strip_prefix("AWS "))
                .and_then(|a| a.split_once(':'))
            else {
                return Verdict::Pass; // not SigV2
            };
            let Some(t) = request_time(&hs) else {
                return Verdict::Refuse(S3ErrorCode::AccessDenied, NO_DATE);
            };
            if (now - t).abs() > MAX_SKEW {
                return Verdict::Refuse(S3ErrorCode::RequestTimeTooSkewed, SKEWED);
            }
            (Mode::Header, ak, Cow::Borrowed(sig))
        }
    };
    let Some(secret) = secret_of(access_key) else {
        return Verdict::Pass; // s3s: InvalidAccessKeyId
    };
    let Ok(vh) = vh_bucket(req, domain) else {
        return Verdict::Pass;
    };
    let path = req.uri().path();
    let matches = |path: &str| {
        let sts = string_to_sign(mode, req.method(), path, qs.as_ref(), &hs, vh.as_deref());
        signature(&secret, &sts).is_some_and(|expected| signatures_match(&expected, &given))
    };
    if matches(path) {
        return Verdict::Pass;
    }
    let bare_bucket = vh.is_none() && path.len() > 1 && !path[1..].contains('/');
    if bare_bucket && matches(&format!("{path}/")) {
        return Verdict::PassWithSlash;
    }
    Verdict::Refuse(S3ErrorCode::SignatureDoesNotMatch, MISMATCH)
}

#[cfg(test)]
#[path = "sigv2_tests.rs"]
mod tests;
