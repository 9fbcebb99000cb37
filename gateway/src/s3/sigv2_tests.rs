//! Tests of the SigV2 screen: AWS's documented examples (as s3s tests its builder), the
//! constant-time comparison, dates, and the verdicts.

use super::*;

const AK: &str = "AKIAIOSFODNN7EXAMPLE";
const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// The one pair these tests sign with.
fn root(key: &str) -> Option<String> {
    (key == AK).then(|| SK.to_owned())
}

fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> http::Request<()> {
    let mut b = http::Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(()).unwrap()
}

fn sts_of(mode: Mode, req: &http::Request<()>, vh: Option<&str>) -> String {
    let hs = Headers::of(req.headers());
    let qs = req.uri().query().and_then(Query::parse);
    string_to_sign(mode, req.method(), req.uri().path(), qs.as_ref(), &hs, vh)
}

#[test]
fn aws_documented_examples() {
    // Object GET, virtual-hosted.
    let req = request(
        "GET",
        "/photos/puppy.jpg",
        &[("date", "Tue, 27 Mar 2007 19:36:42 +0000")],
    );
    let sts = sts_of(Mode::Header, &req, Some("awsexamplebucket1"));
    assert_eq!(
        sts,
        "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg"
    );
    assert_eq!(signature(SK, &sts).unwrap(), "qgk2+6Sv9/oM7G3qLEjTH1a1l1g=");
    // A subresource.
    let req = request("GET", "/?acl", &[("date", "Tue, 27 Mar 2007 19:44:46 +0000")]);
    let sts = sts_of(Mode::Header, &req, Some("awsexamplebucket1"));
    assert_eq!(sts, "GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/awsexamplebucket1/?acl");
    assert_eq!(signature(SK, &sts).unwrap(), "82ZHiFIjc+WbcwFKGUVEQspPn+0=");
    // x-amz-date empties the Date line and is a canonical amz header.
    let req = request(
        "DELETE",
        "/awsexamplebucket1/photos/puppy.jpg",
        &[
            ("date", "Tue, 27 Mar 2007 21:20:27 +0000"),
            ("x-amz-date", "Tue, 27 Mar 2007 21:20:26 +0000"),
        ],
    );
    let sts = sts_of(Mode::Header, &req, None);
    assert_eq!(
        sts,
        "DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n/awsexamplebucket1/photos/puppy.jpg"
    );
    assert_eq!(signature(SK, &sts).unwrap(), "Ri1hpB1zpS9pGqR7y8kuNFCl4sE=");
    // Repeated amz headers joined, sorted by name; other headers left out.
    let req = request(
        "PUT",
        "/db-backup.dat.gz",
        &[
            ("date", "Tue, 27 Mar 2007 21:06:08 +0000"),
            ("x-amz-acl", "public-read"),
            ("content-type", "application/x-download"),
            ("content-md5", "4gJE4saaMU4BqNR0kLY+lw=="),
            ("x-amz-meta-reviewedby", "joe@example.com"),
            ("x-amz-meta-reviewedby", "jane@example.com"),
            ("x-amz-meta-filechecksum", "0x02661779"),
            ("x-amz-meta-checksumalgorithm", "crc32"),
            ("content-disposition", "attachment; filename=database.dat"),
            ("content-length", "5913339"),
        ],
    );
    let sts = sts_of(Mode::Header, &req, Some("static.example.com"));
    assert_eq!(
        sts,
        concat!(
            "PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n",
            "x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\n",
            "x-amz-meta-reviewedby:joe@example.com,jane@example.com\n/static.example.com/db-backup.dat.gz",
        )
    );
    assert_eq!(signature(SK, &sts).unwrap(), "jtBQa0Aq+DkULFI8qrpwIjGEx0E=");
    // Presigned: the Expires line; the signature is not part of what is signed.
    let req = request(
        "GET",
        "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=x&Expires=1175139620",
        &[],
    );
    let sts = sts_of(Mode::Presigned, &req, Some("awsexamplebucket1"));
    assert_eq!(sts, "GET\n\n\n1175139620\n/awsexamplebucket1/photos/puppy.jpg");
    assert_eq!(signature(SK, &sts).unwrap(), "1No4mq5ETf02z8aet9voy6gui6E=");
}

#[test]
fn subresources_are_sorted_as_s3s_has_them() {
    for w in SUBRESOURCES.windows(2) {
        assert!(w[0] < w[1], "{w:?}");
    }
}

#[test]
fn the_comparison_accepts_equal_and_refuses_different_signatures() {
    assert!(signatures_match(
        "qgk2+6Sv9/oM7G3qLEjTH1a1l1g=",
        "qgk2+6Sv9/oM7G3qLEjTH1a1l1g="
    ));
    assert!(!signatures_match(
        "qgk2+6Sv9/oM7G3qLEjTH1a1l1g=",
        "qgk2+6Sv9/oM7G3qLEjTH1a1l1h="
    ));
    assert!(!signatures_match(
        "qgk2+6Sv9/oM7G3qLEjTH1a1l1g=",
        "Agk2+6Sv9/oM7G3qLEjTH1a1l1g="
    ));
    assert!(!signatures_match(
        "qgk2+6Sv9/oM7G3qLEjTH1a1l1g=",
        "qgk2+6Sv9/oM7G3qLEjTH1a1l1g"
    ));
    assert!(!signatures_match("qgk2+6Sv9/oM7G3qLEjTH1a1l1g=", ""));
}

#[test]
fn dates_in_the_forms_clients_send() {
    let want = DateTime::from_timestamp(1_175_023_002, 0).unwrap(); // 2007-03-27T19:16:42Z
    for s in [
        "Tue, 27 Mar 2007 19:16:42 GMT",
        "Tue, 27 Mar 2007 19:16:42 +0000",
        "Tue, 27 Mar 2007 21:16:42 +0200",
        "20070327T191642Z",
        "2007-03-27T19:16:42Z",
        "Tuesday, 27-Mar-07 19:16:42 GMT",
        "Tue Mar 27 19:16:42 2007",
    ] {
        assert_eq!(parse_date(s), Some(want), "{s}");
    }
    for s in ["", "not a date", "2007-03-27", "1175023002"] {
        assert_eq!(parse_date(s), None, "{s}");
    }
}

/// A header-signed request at `date` for `uri`, signed over `resource` (the path, unless given).
fn signed(method: &str, uri: &str, date: &str, extra: &[(&str, &str)], resource: Option<&str>) -> http::Request<()> {
    let mut hs = vec![("date", date)];
    hs.extend_from_slice(extra);
    let unsigned = request(method, uri, &hs);
    let h = Headers::of(unsigned.headers());
    let qs = unsigned.uri().query().and_then(Query::parse);
    let path = resource.unwrap_or(unsigned.uri().path());
    let sts = string_to_sign(Mode::Header, unsigned.method(), path, qs.as_ref(), &h, None);
    let auth = format!("AWS {AK}:{}", signature(SK, &sts).unwrap());
    hs.push(("authorization", &auth));
    request(method, uri, &hs)
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn http_date(offset_minutes: i64) -> String {
    (now() + TimeDelta::minutes(offset_minutes))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

fn verdict(req: &http::Request<()>) -> Verdict {
    judge(req, now(), &root, None)
}

#[test]
fn dates_more_than_15_minutes_away_are_too_skewed() {
    let skewed = Verdict::Refuse(S3ErrorCode::RequestTimeTooSkewed, SKEWED);
    for minutes in [-16, 16, -600] {
        assert_eq!(
            verdict(&signed("GET", "/b/k", &http_date(minutes), &[], None)),
            skewed,
            "{minutes}"
        );
    }
    for minutes in [-14, 0, 14, 15] {
        assert_eq!(
            verdict(&signed("GET", "/b/k", &http_date(minutes), &[], None)),
            Verdict::Pass,
            "{minutes}"
        );
    }
    // x-amz-date is the request time when sent; a current Date does not excuse it.
    let old = http_date(-20);
    let req = signed("GET", "/b/k", &http_date(0), &[("x-amz-date", &old)], None);
    assert_eq!(verdict(&req), skewed);
    assert_eq!(
        S3ErrorCode::RequestTimeTooSkewed.status_code(),
        Some(http::StatusCode::FORBIDDEN)
    );
}

#[test]
fn a_missing_or_unreadable_date_is_access_denied() {
    let denied = Verdict::Refuse(S3ErrorCode::AccessDenied, NO_DATE);
    let req = request("GET", "/b/k", &[("authorization", "AWS AKIAIOSFODNN7EXAMPLE:c2ln")]);
    assert_eq!(verdict(&req), denied);
    assert_eq!(verdict(&signed("GET", "/b/k", "yesterday", &[], None)), denied);
    assert_eq!(
        verdict(&signed("GET", "/b/k", &http_date(0), &[("x-amz-date", "soon")], None)),
        denied
    );
}

#[test]
fn signatures_are_checked_here() {
    let date = http_date(0);
    let good = signed("GET", "/b/k?acl", &date, &[], None);
    assert_eq!(verdict(&good), Verdict::Pass);
    let mismatch = Verdict::Refuse(S3ErrorCode::SignatureDoesNotMatch, MISMATCH);
    // Signed for /b/k, sent for /b/k?acl: the subresource is part of the resource.
    let other = signed("GET", "/b/k", &date, &[], None);
    let req = request(
        "GET",
        "/b/k?acl",
        &[
            ("date", &date),
            ("authorization", other.headers()["authorization"].to_str().unwrap()),
        ],
    );
    assert_eq!(verdict(&req), mismatch);
    let req = request(
        "GET",
        "/b/k",
        &[("date", &date), ("authorization", "AWS AKIAIOSFODNN7EXAMPLE:bm90IGl0")],
    );
    assert_eq!(verdict(&req), mismatch);
    // Not the root key, or not SigV2: s3s answers.
    let req = request(
        "GET",
        "/b/k",
        &[("date", &date), ("authorization", "AWS SOMEONEELSE:bm90IGl0")],
    );
    assert_eq!(verdict(&req), Verdict::Pass);
    let req = request("GET", "/b/k", &[("authorization", "AWS4-HMAC-SHA256 Credential=x")]);
    assert_eq!(verdict(&req), Verdict::Pass);
    assert_eq!(verdict(&request("GET", "/b/k", &[])), Verdict::Pass);
}

#[test]
fn a_bucket_signed_with_a_trailing_slash_gets_one() {
    // botocore signs a path-style bucket request over /bucket/ while it sends /bucket.
    let req = signed("GET", "/bucket?encoding-type=url", &http_date(0), &[], Some("/bucket/"));
    assert_eq!(verdict(&req), Verdict::PassWithSlash);
    let mut req = req;
    add_slash(&mut req);
    assert_eq!(req.uri(), "/bucket/?encoding-type=url");
    assert_eq!(verdict(&req), Verdict::Pass);
    // Only for a bare bucket.
    let req = signed("GET", "/bucket/key", &http_date(0), &[], Some("/bucket/key/"));
    assert_eq!(
        verdict(&req),
        Verdict::Refuse(S3ErrorCode::SignatureDoesNotMatch, MISMATCH)
    );
}

#[test]
fn virtual_hosts_sign_their_bucket() {
    let domain = host::Domain::new("s3.example.com").unwrap();
    let date = http_date(0);
    let unsigned = request("GET", "/key", &[("date", &date), ("host", "logs.s3.example.com:9000")]);
    let sts = sts_of(Mode::Header, &unsigned, Some("logs"));
    let auth = format!("AWS {AK}:{}", signature(SK, &sts).unwrap());
    let req = request(
        "GET",
        "/key",
        &[
            ("date", &date),
            ("host", "logs.s3.example.com:9000"),
            ("authorization", &auth),
        ],
    );
    assert_eq!(judge(&req, now(), &root, Some(&domain)), Verdict::Pass);
    // Without the domain (or from an IP host) there is no bucket in the resource.
    assert_ne!(judge(&req, now(), &root, None), Verdict::Pass);
    let req = request(
        "GET",
        "/key",
        &[("date", &date), ("host", "127.0.0.1:9000"), ("authorization", &auth)],
    );
    assert_ne!(judge(&req, now(), &root, Some(&domain)), Verdict::Pass);
}

fn presigned(expires: i64, sig_of: &str) -> http::Request<()> {
    let sts = format!("GET\n\n\n{expires}\n{sig_of}");
    let sig = signature(SK, &sts).unwrap();
    let sig = percent_encoding::utf8_percent_encode(&sig, percent_encoding::NON_ALPHANUMERIC).to_string();
    request(
        "GET",
        &format!("/b/k?AWSAccessKeyId={AK}&Expires={expires}&Signature={sig}"),
        &[],
    )
}

#[test]
fn presigned_urls() {
    let later = now().timestamp() + 60;
    assert_eq!(verdict(&presigned(later, "/b/k")), Verdict::Pass);
    let mismatch = Verdict::Refuse(S3ErrorCode::SignatureDoesNotMatch, MISMATCH);
    assert_eq!(verdict(&presigned(later, "/b/other")), mismatch);
    let expired = Verdict::Refuse(S3ErrorCode::AccessDenied, "Request has expired");
    assert_eq!(verdict(&presigned(now().timestamp() - 1, "/b/k")), expired);
    // Fields missing or malformed: s3s answers.
    assert_eq!(verdict(&request("GET", "/b/k?Signature=x", &[])), Verdict::Pass);
    let req = request(
        "GET",
        &format!("/b/k?AWSAccessKeyId={AK}&Expires=soon&Signature=x"),
        &[],
    );
    assert_eq!(verdict(&req), Verdict::Pass);
}
