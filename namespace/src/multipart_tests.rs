//! Tests of multipart staging: concurrent parts, crash leftovers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use md5::{Digest, Md5};

use crate::{Namespace, PutCondition, PutOptions};

fn body(bytes: Vec<u8>) -> crate::BodyStream {
    futures::stream::once(async move { Ok(Bytes::from(bytes)) }).boxed()
}

async fn object_bytes(ns: &Namespace, key: &str) -> Vec<u8> {
    let h = ns.head("bkt", key).await.unwrap();
    let chunks: Vec<Bytes> = ns.open(&h, None).await.unwrap().try_collect().await.unwrap();
    chunks.concat()
}

/// Two uploads of one part number at once: whichever lands last gives both the bytes and
/// the ETag, so the listed ETag is always the MD5 of the bytes Complete assembles.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_part_uploaded_twice_at_once_keeps_one_body_with_its_etag() {
    let dir = tempfile::tempdir().unwrap();
    let ns = Arc::new(Namespace::for_tests(dir.path()));
    ns.create_bucket("bkt").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut rounds = 0;
    while rounds < 300 && Instant::now() < deadline {
        rounds += 1;
        let up = ns
            .create_upload("bkt", "k", &PutOptions::default(), None)
            .await
            .unwrap();
        let tasks: Vec<_> = [b'a', b'b']
            .into_iter()
            .map(|fill| {
                let (ns, up) = (Arc::clone(&ns), up.clone());
                let bytes = vec![fill; 4096 + rounds];
                tokio::spawn(async move { ns.upload_part(&up, 1, body(bytes), None).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let parts = ns.list_parts(&up).await.unwrap();
        assert_eq!(parts.len(), 1, "round {rounds}");
        let listed = [(1, parts[0].etag.clone())];
        let info = ns.complete_upload(&up, &listed, PutCondition::None).await.unwrap();
        let bytes = object_bytes(&ns, "k").await;
        assert_eq!(
            hex::encode(Md5::digest(&bytes)),
            parts[0].etag,
            "round {rounds}: the listed ETag is not the MD5 of the bytes completed"
        );
        let whole = hex::encode(Md5::digest(Md5::digest(&bytes)));
        assert_eq!(info.etag, format!("{whole}-1"), "round {rounds}");
    }
}
