//! A store that misbehaves, between a real gateway and a real MinIO (the fault proxy of
//! `arustio_conformance_tests::fault`): the client gets the right bytes or a correct S3 error,
//! no request hangs past its bound, and a failed write leaves nothing behind.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use arustio_conformance_tests::fault::{Fault, FaultProxy};
use arustio_conformance_tests::minio::Minio;
use arustio_conformance_tests::{Gateway, error_code, s3_client};
use aws_sdk_s3::primitives::ByteStream;

const MIB: usize = 1 << 20;

/// A gateway whose `/faulty` mount reaches MinIO's `bucket` through a fault proxy, with a
/// 2 s store timeout and 2 retries, the cache off (every read goes to the store).
struct Rig {
    _minio: Minio,
    proxy: FaultProxy,
    gw: Gateway,
    s3: aws_sdk_s3::Client,
}

async fn rig(bucket: &str) -> Rig {
    let minio = Minio::start();
    minio.create_bucket(bucket).await;
    let proxy = FaultProxy::start(minio.addr);
    let gw = Gateway::start();
    let endpoint = format!("endpoint={}", proxy.endpoint());
    let (ak, sk) = (
        format!("access_key_id={}", minio.user),
        format!("secret_access_key={}", minio.password),
    );
    let uri = format!("s3://{bucket}");
    let out = gw.cli(&[
        "fs",
        "mount",
        "/faulty",
        &uri,
        "-o",
        &endpoint,
        "-o",
        &ak,
        "-o",
        &sk,
        "-o",
        "timeout=2s",
        "-o",
        "retries=2",
        "-o",
        "cache=false",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // One try per request: the gateway's own retries are what is measured.
    let conf = s3_client(&gw)
        .config()
        .to_builder()
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(conf);
    Rig {
        _minio: minio,
        proxy,
        gw,
        s3,
    }
}

async fn put(s3: &aws_sdk_s3::Client, key: &str, body: Vec<u8>) -> Result<(), String> {
    s3.put_object()
        .bucket("faulty")
        .key(key)
        .body(ByteStream::from(body))
        .send()
        .await
        .map(drop)
        .map_err(|e| error_code(&e.into_service_error()))
}

async fn get(s3: &aws_sdk_s3::Client, key: &str) -> Result<Vec<u8>, String> {
    let got = s3
        .get_object()
        .bucket("faulty")
        .key(key)
        .send()
        .await
        .map_err(|e| error_code(&e.into_service_error()))?;
    Ok(got
        .body
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .into_bytes()
        .to_vec())
}

fn blob(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// GETs `key` through a presigned URL on a raw socket: the Content-Length the gateway
/// promised and the body bytes that came before the connection ended.
async fn raw_get(r: &Rig, key: &str) -> (usize, usize) {
    let presigned =
        r.s3.get_object()
            .bucket("faulty")
            .key(key)
            .presigned(aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
            .await
            .unwrap();
    let uri: http::Uri = presigned.uri().parse().unwrap();
    let addr = r.gw.s3_addr;
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let req = format!(
            "GET {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n",
            uri.path_and_query().unwrap()
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 64 << 10];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        let end = got.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
        let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        let len = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map(|v| v.trim().parse().unwrap())
            .expect("a Content-Length");
        (len, got.len() - end - 4)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_store_that_is_down_is_503_and_a_put_leaves_nothing() {
    let r = rig("down").await;
    put(&r.s3, "there", blob(1000)).await.unwrap();
    r.proxy.set(Fault::Down);
    let start = Instant::now();
    assert_eq!(get(&r.s3, "there").await.unwrap_err(), "ServiceUnavailable");
    assert_eq!(put(&r.s3, "lost", blob(1000)).await.unwrap_err(), "ServiceUnavailable");
    assert!(start.elapsed() < Duration::from_secs(30), "{:?}", start.elapsed());
    r.proxy.set(Fault::Pass);
    assert_eq!(get(&r.s3, "there").await.unwrap(), blob(1000), "back once the store is");
    assert_eq!(
        get(&r.s3, "lost").await.unwrap_err(),
        "NoSuchKey",
        "the failed PUT left nothing"
    );
}

#[tokio::test]
async fn a_slow_first_byte_past_the_timeout_is_503_within_the_retries() {
    let r = rig("slow").await;
    put(&r.s3, "k", blob(1000)).await.unwrap();
    r.proxy.set(Fault::SlowFirstByte(Duration::from_secs(6)));
    let start = Instant::now();
    assert_eq!(get(&r.s3, "k").await.unwrap_err(), "ServiceUnavailable");
    // Three tries (retries=2) of 2 s each, and the SDK's backoff between them.
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(6) && took < Duration::from_secs(15),
        "{took:?}"
    );
    r.proxy.set(Fault::SlowFirstByte(Duration::from_millis(300)));
    assert_eq!(
        get(&r.s3, "k").await.unwrap(),
        blob(1000),
        "slow but within the timeout"
    );
}

#[tokio::test]
async fn a_store_that_stalls_mid_body_cuts_the_clients_body_short_of_its_length() {
    let r = rig("stall").await;
    put(&r.s3, "big", blob(4 * MIB)).await.unwrap();
    r.proxy.set(Fault::StallAfter(MIB));
    let start = Instant::now();
    let (promised, got) = raw_get(&r, "big").await;
    assert_eq!(promised, 4 * MIB);
    assert!(got < promised, "a short body must not look whole: {got} of {promised}");
    assert!(start.elapsed() < Duration::from_secs(15), "{:?}", start.elapsed());
    r.proxy.set(Fault::Pass);
    assert_eq!(get(&r.s3, "big").await.unwrap(), blob(4 * MIB));
}

#[tokio::test]
async fn a_reset_halfway_through_a_get_body_is_a_broken_response_not_a_short_object() {
    let r = rig("reset").await;
    put(&r.s3, "big", blob(4 * MIB)).await.unwrap();
    r.proxy.set(Fault::ResetAfter(2 * MIB));
    let (promised, got) = raw_get(&r, "big").await;
    assert_eq!(promised, 4 * MIB);
    assert!(got < promised, "{got} of {promised}");
    // The SDK sees it as an error, not as an object of fewer bytes.
    let sdk = get(&r.s3, "big").await;
    assert!(
        sdk.is_err(),
        "the SDK read {} bytes as if whole",
        sdk.map_or(0, |b| b.len())
    );
}

#[tokio::test]
async fn throttling_that_stops_within_the_retries_is_invisible() {
    let r = rig("throttled").await;
    put(&r.s3, "k", blob(1000)).await.unwrap();
    r.proxy.set(Fault::Answer {
        status: 503,
        code: "SlowDown",
        count: 2,
    });
    assert_eq!(get(&r.s3, "k").await.unwrap(), blob(1000));
    assert_eq!(r.proxy.answered(), 2, "two 503s, then the third try went through");
}

#[tokio::test]
async fn errors_that_do_not_stop_end_after_the_retries() {
    let r = rig("failing").await;
    put(&r.s3, "k", blob(1000)).await.unwrap();
    r.proxy.set(Fault::Answer {
        status: 500,
        code: "InternalError",
        count: u64::MAX,
    });
    let start = Instant::now();
    assert_eq!(get(&r.s3, "k").await.unwrap_err(), "ServiceUnavailable");
    assert!(start.elapsed() < Duration::from_secs(15));
    assert_eq!(
        r.proxy.answered(),
        3,
        "one try and the mount's 2 retries, then the client is told"
    );
    r.proxy.set(Fault::Answer {
        status: 503,
        code: "SlowDown",
        count: u64::MAX,
    });
    let before = r.proxy.answered();
    assert_eq!(
        get(&r.s3, "k").await.unwrap_err(),
        "SlowDown",
        "throttling is told to the client as such"
    );
    assert!(r.proxy.answered() > before);
}
