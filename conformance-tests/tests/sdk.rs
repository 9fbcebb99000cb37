//! aws-sdk-s3 (Rust) against a spawned gateway: every operation, and its errors.

use arustio_conformance_tests::{
    Gateway, error_code as code, get_bytes, md5_hex, put_error, s3_client as client,
    s3_client_with_secret as client_with,
};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

#[tokio::test]
async fn bucket_lifecycle() {
    let gw = Gateway::start();
    let c = client(&gw);
    c.create_bucket().bucket("alpha").send().await.unwrap();
    c.head_bucket().bucket("alpha").send().await.unwrap();
    let e = c.create_bucket().bucket("alpha").send().await.unwrap_err();
    assert_eq!(code(&e.into_service_error()), "BucketAlreadyOwnedByYou");
    let names: Vec<_> = c
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect();
    assert_eq!(names, ["alpha"]);
    c.get_bucket_location().bucket("alpha").send().await.unwrap();
    c.put_object()
        .bucket("alpha")
        .key("x")
        .body(ByteStream::from_static(b"1"))
        .send()
        .await
        .unwrap();
    let e = c.delete_bucket().bucket("alpha").send().await.unwrap_err();
    assert_eq!(code(&e.into_service_error()), "BucketNotEmpty");
    c.delete_object().bucket("alpha").key("x").send().await.unwrap();
    c.delete_bucket().bucket("alpha").send().await.unwrap();
    assert!(c.head_bucket().bucket("alpha").send().await.is_err());
    let e = c.create_bucket().bucket("Bad_Name").send().await.unwrap_err();
    assert!(e.raw_response().is_some_and(|r| r.status().as_u16() == 400), "{e:?}");
}

#[tokio::test]
async fn put_get_head_with_metadata_and_odd_keys() {
    let gw = Gateway::start();
    let c = client(&gw);
    c.create_bucket().bucket("data").send().await.unwrap();
    for key in [
        "plain.txt",
        "with space/ünïcödé.bin",
        "a+b=c&d/%41#hash*star",
        "deep/er/still/x",
    ] {
        let body = format!("payload of {key}");
        let put = c
            .put_object()
            .bucket("data")
            .key(key)
            .content_type("text/x-test")
            .metadata("colour", "blue")
            .body(ByteStream::from(body.clone().into_bytes()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
        assert_eq!(put.e_tag().unwrap(), format!("\"{}\"", md5_hex(body.as_bytes())));
        assert_eq!(get_bytes(&c, "data", key).await, body.as_bytes());
        let head = c.head_object().bucket("data").key(key).send().await.unwrap();
        assert_eq!(head.content_type(), Some("text/x-test"));
        assert_eq!(head.metadata().unwrap().get("colour").map(String::as_str), Some("blue"));
        assert_eq!(head.content_length(), Some(body.len() as i64));
    }
    let e = c.get_object().bucket("data").key("missing").send().await.unwrap_err();
    assert_eq!(code(&e.into_service_error()), "NoSuchKey");
    let e = c.get_object().bucket("nobucket").key("x").send().await.unwrap_err();
    assert_eq!(code(&e.into_service_error()), "NoSuchBucket");
    let e = c.head_object().bucket("data").key("missing").send().await.unwrap_err();
    assert!(e.raw_response().is_some_and(|r| r.status().as_u16() == 404));
    for bad in ["a//b", "a/../b", "../escape"] {
        assert_eq!(put_error(&c, "data", bad).await, "InvalidArgument", "{bad}");
    }
    let long = "k".repeat(1100);
    assert_eq!(put_error(&c, "data", &long).await, "KeyTooLongError");
}

#[tokio::test]
async fn ranges_and_conditionals() {
    let gw = Gateway::start();
    let c = client(&gw);
    c.create_bucket().bucket("rng").send().await.unwrap();
    let body = b"0123456789";
    let etag = c
        .put_object()
        .bucket("rng")
        .key("k")
        .body(ByteStream::from_static(body))
        .send()
        .await
        .unwrap()
        .e_tag
        .unwrap();
    for (range, want) in [
        ("bytes=2-4", &b"234"[..]),
        ("bytes=7-", b"789"),
        ("bytes=-3", b"789"),
        ("bytes=8-100", b"89"),
    ] {
        let out = c.get_object().bucket("rng").key("k").range(range).send().await.unwrap();
        assert!(out.content_range().is_some(), "{range}");
        assert_eq!(out.body.collect().await.unwrap().into_bytes().as_ref(), want, "{range}");
    }
    let e = c
        .get_object()
        .bucket("rng")
        .key("k")
        .range("bytes=20-30")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "InvalidRange");

    let e = c
        .get_object()
        .bucket("rng")
        .key("k")
        .if_none_match(&etag)
        .send()
        .await
        .unwrap_err();
    assert!(e.raw_response().is_some_and(|r| r.status().as_u16() == 304));
    let e = c
        .get_object()
        .bucket("rng")
        .key("k")
        .if_match("\"nope\"")
        .send()
        .await
        .unwrap_err();
    assert!(e.raw_response().is_some_and(|r| r.status().as_u16() == 412));
    c.get_object()
        .bucket("rng")
        .key("k")
        .if_match(&etag)
        .send()
        .await
        .unwrap();
    let later = aws_sdk_s3::primitives::DateTime::from_secs(4_000_000_000);
    let e = c
        .head_object()
        .bucket("rng")
        .key("k")
        .if_modified_since(later)
        .send()
        .await
        .unwrap_err();
    assert!(e.raw_response().is_some_and(|r| r.status().as_u16() == 304));
    let e = c
        .head_object()
        .bucket("rng")
        .key("k")
        .if_unmodified_since(aws_sdk_s3::primitives::DateTime::from_secs(1))
        .send()
        .await
        .unwrap_err();
    assert!(e.raw_response().is_some_and(|r| r.status().as_u16() == 412));

    // Conditional PUT: create-only, then compare-and-swap.
    c.put_object()
        .bucket("rng")
        .key("new")
        .if_none_match("*")
        .body(ByteStream::from_static(b"a"))
        .send()
        .await
        .unwrap();
    let e = c
        .put_object()
        .bucket("rng")
        .key("new")
        .if_none_match("*")
        .body(ByteStream::from_static(b"b"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "PreconditionFailed");
    let e = c
        .put_object()
        .bucket("rng")
        .key("new")
        .if_match("\"wrong\"")
        .body(ByteStream::from_static(b"c"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "PreconditionFailed");
    let cur = format!("\"{}\"", md5_hex(b"a"));
    c.put_object()
        .bucket("rng")
        .key("new")
        .if_match(&cur)
        .body(ByteStream::from_static(b"d"))
        .send()
        .await
        .unwrap();
    assert_eq!(get_bytes(&c, "rng", "new").await, b"d");
}

#[tokio::test]
async fn concurrent_create_only_puts_have_one_winner() {
    let gw = Gateway::start();
    let c = client(&gw);
    c.create_bucket().bucket("race").send().await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.put_object()
                .bucket("race")
                .key("commit.json")
                .if_none_match("*")
                .body(ByteStream::from(vec![i; 1000]))
                .send()
                .await
                .map_err(|e| e.raw_response().map(|r| r.status().as_u16()))
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => wins += 1,
            // A lost race is a refused precondition, nothing else.
            Err(status) => assert_eq!(status, Some(412)),
        }
    }
    assert_eq!(wins, 1);
}

#[tokio::test]
async fn an_error_has_one_request_id_in_header_body_and_log() {
    let gw = Gateway::start_with(&[], &[("ARUSTIO_LOG", "warn,arustio=debug")]);
    let c = client(&gw);
    c.create_bucket().bucket("ids").send().await.unwrap();
    let e = c.get_object().bucket("ids").key("missing").send().await.unwrap_err();
    let raw = e.raw_response().expect("a response");
    let id = raw
        .headers()
        .get("x-amz-request-id")
        .expect("x-amz-request-id")
        .to_owned();
    assert_eq!(id.len(), 32, "{id}");
    let body = String::from_utf8_lossy(raw.body().bytes().expect("a buffered body")).into_owned();
    assert!(body.contains(&format!("<RequestId>{id}</RequestId>")), "{body}");
    let logged = format!("request_id={id}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !gw.log().contains(&logged) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let log = gw.log();
    let line = log
        .lines()
        .find(|l| l.contains(&logged))
        .unwrap_or_else(|| panic!("{logged} not in the log:\n{log}"));
    assert!(line.contains("status=404"), "{line}");
}

#[tokio::test]
async fn listings_page_and_group() {
    let gw = Gateway::start();
    let c = client(&gw);
    c.create_bucket().bucket("lst").send().await.unwrap();
    let keys = ["a/1", "a/2", "a/b/3", "b", "c/", "c/x", "d e/f"];
    for k in keys {
        c.put_object()
            .bucket("lst")
            .key(k)
            .body(ByteStream::from_static(b""))
            .send()
            .await
            .unwrap();
    }
    // Flat, paged two at a time.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let out = c
            .list_objects_v2()
            .bucket("lst")
            .max_keys(2)
            .set_continuation_token(token)
            .send()
            .await
            .unwrap();
        seen.extend(out.contents().iter().map(|o| o.key().unwrap().to_owned()));
        if !out.is_truncated().unwrap_or(false) {
            break;
        }
        token = out.next_continuation_token().map(str::to_owned);
    }
    assert_eq!(seen, keys);
    // Grouped by '/', paged one at a time: prefixes count toward max-keys.
    let mut entries = Vec::new();
    let mut token = None;
    loop {
        let out = c
            .list_objects_v2()
            .bucket("lst")
            .delimiter("/")
            .max_keys(1)
            .set_continuation_token(token)
            .send()
            .await
            .unwrap();
        entries.extend(out.common_prefixes().iter().map(|p| p.prefix().unwrap().to_owned()));
        entries.extend(out.contents().iter().map(|o| o.key().unwrap().to_owned()));
        if !out.is_truncated().unwrap_or(false) {
            break;
        }
        token = out.next_continuation_token().map(str::to_owned);
    }
    assert_eq!(entries, ["a/", "b", "c/", "d e/"]);
    let out = c
        .list_objects_v2()
        .bucket("lst")
        .prefix("a/")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let objs: Vec<_> = out.contents().iter().map(|o| o.key().unwrap()).collect();
    let cps: Vec<_> = out.common_prefixes().iter().map(|p| p.prefix().unwrap()).collect();
    assert_eq!((objs, cps), (vec!["a/1", "a/2"], vec!["a/b/"]));
    let out = c
        .list_objects_v2()
        .bucket("lst")
        .start_after("a/b/3")
        .send()
        .await
        .unwrap();
    assert_eq!(out.contents().first().and_then(|o| o.key()), Some("b"));
    // v1 with markers.
    let out = c.list_objects().bucket("lst").max_keys(3).send().await.unwrap();
    assert!(out.is_truncated().unwrap());
    let out = c
        .list_objects()
        .bucket("lst")
        .marker(out.contents().last().unwrap().key().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(out.contents().first().and_then(|o| o.key()), Some("b"));
    // The `dir/` marker survives and is listed.
    let out = c.list_objects_v2().bucket("lst").prefix("c/").send().await.unwrap();
    let got: Vec<_> = out.contents().iter().map(|o| o.key().unwrap()).collect();
    assert_eq!(got, ["c/", "c/x"]);
    c.head_object().bucket("lst").key("c/").send().await.unwrap();
}

#[tokio::test]
async fn signatures_and_presigned_urls() {
    let gw = Gateway::start();
    let c = client(&gw);
    c.create_bucket().bucket("sig").send().await.unwrap();
    let bad = client_with(&gw, "not-the-secret");
    let e = bad.list_buckets().send().await.unwrap_err();
    assert_eq!(code(&e.into_service_error()), "SignatureDoesNotMatch");

    let cfg = PresigningConfig::expires_in(std::time::Duration::from_secs(300)).unwrap();
    let put = c
        .put_object()
        .bucket("sig")
        .key("pre signed")
        .presigned(cfg.clone())
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let r = http.put(put.uri()).body("via presigned PUT").send().await.unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
    let get = c
        .get_object()
        .bucket("sig")
        .key("pre signed")
        .presigned(cfg)
        .await
        .unwrap();
    let r = http.get(get.uri()).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "via presigned PUT");
    let uri = get.uri().to_owned();
    let flipped = if uri.ends_with('0') { '1' } else { '0' };
    let tampered = format!("{}{flipped}", &uri[..uri.len() - 1]);
    assert!(uri.contains("X-Amz-Signature=") && uri.rsplit('&').next().unwrap().starts_with("X-Amz-Signature="));
    assert_eq!(http.get(tampered).send().await.unwrap().status().as_u16(), 403);
    let anonymous = http
        .get(format!("{}/sig/pre%20signed", gw.endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 403);
}
