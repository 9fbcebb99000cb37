//! The cap on requests in flight on one connection, which only HTTP/2 can reach: with a
//! cap of 1, a second stream on the connection gets 503 SlowDown while the first response
//! is still going out, and is served once it is done; the same requests on HTTP/1.1
//! connections of their own are each served.

use std::time::Duration;

use arustio_conformance_tests::{Gateway, s3_client};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

#[tokio::test]
async fn past_the_connection_cap_an_http2_stream_gets_503_slowdown() {
    let gw = Gateway::start_with(&[], &[("ARUSTIO_S3_MAX_REQUESTS_PER_CONNECTION", "1")]);
    let s3 = s3_client(&gw);
    s3.create_bucket().bucket("capped").send().await.unwrap();
    let body = vec![7u8; 8 << 20];
    s3.put_object()
        .bucket("capped")
        .key("big")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    let url = s3
        .get_object()
        .bucket("capped")
        .key("big")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap()
        .uri()
        .to_owned();

    let h2 = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    // The first response's body is not read: its request keeps its place.
    let first = h2.get(&url).send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.version(), reqwest::Version::HTTP_2);
    let second = h2.get(&url).send().await.unwrap();
    assert_eq!(second.version(), reqwest::Version::HTTP_2, "the same connection");
    assert_eq!(second.status(), 503);
    assert_eq!(second.headers()["retry-after"], "1");
    let text = second.text().await.unwrap();
    assert!(text.contains("<Code>SlowDown</Code>"), "{text}");
    assert_eq!(first.bytes().await.unwrap().len(), body.len(), "the first is whole");
    let third = h2.get(&url).send().await.unwrap();
    assert_eq!(third.status(), 200, "a place again once the first body went out");
    assert_eq!(third.bytes().await.unwrap().len(), body.len());

    // HTTP/1.1: one request at a time per connection, so two held at once are two
    // connections, each with its place.
    let h1 = || reqwest::Client::builder().http1_only().build().unwrap();
    let (a, b) = (h1(), h1());
    let held_a = a.get(&url).send().await.unwrap();
    let held_b = b.get(&url).send().await.unwrap();
    assert_eq!((held_a.status().as_u16(), held_b.status().as_u16()), (200, 200));
}
