//! aws-sdk-s3 (Rust) against a spawned gateway: multipart uploads, copies, batch deletes
//! and checksums.

use arustio_conformance_tests::{Gateway, error_code as code, get_bytes, s3_client as client};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, MetadataDirective, ObjectIdentifier};

#[tokio::test]
async fn multipart_upload_copy_abort_and_lists() {
    let gw = Gateway::start();
    let c = client(&gw);
    c.create_bucket().bucket("mpu").send().await.unwrap();
    let part1 = vec![7u8; 5 * 1024 * 1024];
    let part2 = b"tail".to_vec();
    let up = c
        .create_multipart_upload()
        .bucket("mpu")
        .key("big")
        .content_type("application/x-big")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap().to_owned();
    let e1 = c
        .upload_part()
        .bucket("mpu")
        .key("big")
        .upload_id(&id)
        .part_number(1)
        .body(ByteStream::from(part1.clone()))
        .send()
        .await
        .unwrap();
    let e2 = c
        .upload_part()
        .bucket("mpu")
        .key("big")
        .upload_id(&id)
        .part_number(2)
        .body(ByteStream::from(part2.clone()))
        .send()
        .await
        .unwrap();
    let parts = c
        .list_parts()
        .bucket("mpu")
        .key("big")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(parts.parts().len(), 2);
    let uploads = c.list_multipart_uploads().bucket("mpu").send().await.unwrap();
    assert_eq!(uploads.uploads().len(), 1);
    assert!(
        c.head_object().bucket("mpu").key("big").send().await.is_err(),
        "nothing visible before Complete"
    );
    let done = c
        .complete_multipart_upload()
        .bucket("mpu")
        .key("big")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(e1.e_tag().unwrap())
                        .build(),
                )
                .parts(
                    CompletedPart::builder()
                        .part_number(2)
                        .e_tag(e2.e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(done.e_tag().unwrap().ends_with("-2\""), "{:?}", done.e_tag());
    let mut whole = part1.clone();
    whole.extend_from_slice(&part2);
    assert_eq!(get_bytes(&c, "mpu", "big").await, whole);
    let head = c.head_object().bucket("mpu").key("big").send().await.unwrap();
    assert_eq!(head.content_type(), Some("application/x-big"));
    assert_eq!(head.e_tag(), done.e_tag());
    assert!(
        c.list_multipart_uploads()
            .bucket("mpu")
            .send()
            .await
            .unwrap()
            .uploads()
            .is_empty()
    );

    // UploadPartCopy from the object just made, then a too-small first part is refused.
    let up = c
        .create_multipart_upload()
        .bucket("mpu")
        .key("copy")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap().to_owned();
    let p = c
        .upload_part_copy()
        .bucket("mpu")
        .key("copy")
        .upload_id(&id)
        .part_number(1)
        .copy_source("mpu/big")
        .copy_source_range("bytes=0-9")
        .send()
        .await
        .unwrap();
    let etag = p.copy_part_result().unwrap().e_tag().unwrap().to_owned();
    let p2 = c
        .upload_part()
        .bucket("mpu")
        .key("copy")
        .upload_id(&id)
        .part_number(2)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let e = c
        .complete_multipart_upload()
        .bucket("mpu")
        .key("copy")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(CompletedPart::builder().part_number(1).e_tag(etag).build())
                .parts(
                    CompletedPart::builder()
                        .part_number(2)
                        .e_tag(p2.e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "EntityTooSmall");
    c.abort_multipart_upload()
        .bucket("mpu")
        .key("copy")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    assert!(
        c.head_object().bucket("mpu").key("copy").send().await.is_err(),
        "aborted upload left an object"
    );
    let e = c
        .abort_multipart_upload()
        .bucket("mpu")
        .key("copy")
        .upload_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "NoSuchUpload");
}

#[tokio::test]
async fn copy_delete_objects_and_checksums() {
    let gw = Gateway::start();
    let c = client(&gw);
    c.create_bucket().bucket("src").send().await.unwrap();
    c.create_bucket().bucket("dst").send().await.unwrap();
    c.put_object()
        .bucket("src")
        .key("o")
        .content_type("text/plain")
        .metadata("m", "1")
        .body(ByteStream::from_static(b"copy me"))
        .send()
        .await
        .unwrap();
    c.copy_object()
        .bucket("dst")
        .key("same")
        .copy_source("src/o")
        .send()
        .await
        .unwrap();
    let h = c.head_object().bucket("dst").key("same").send().await.unwrap();
    assert_eq!(
        (h.content_type(), h.metadata().unwrap().get("m").map(String::as_str)),
        (Some("text/plain"), Some("1"))
    );
    c.copy_object()
        .bucket("dst")
        .key("new")
        .copy_source("src/o")
        .metadata_directive(MetadataDirective::Replace)
        .content_type("a/b")
        .metadata("m", "2")
        .send()
        .await
        .unwrap();
    let h = c.head_object().bucket("dst").key("new").send().await.unwrap();
    assert_eq!(
        (h.content_type(), h.metadata().unwrap().get("m").map(String::as_str)),
        (Some("a/b"), Some("2"))
    );
    assert_eq!(get_bytes(&c, "dst", "new").await, b"copy me");
    let e = c
        .copy_object()
        .bucket("dst")
        .key("x")
        .copy_source("src/missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "NoSuchKey");

    let del = Delete::builder()
        .objects(ObjectIdentifier::builder().key("same").build().unwrap())
        .objects(ObjectIdentifier::builder().key("new").build().unwrap())
        .objects(ObjectIdentifier::builder().key("never-existed").build().unwrap())
        .build()
        .unwrap();
    let out = c.delete_objects().bucket("dst").delete(del).send().await.unwrap();
    assert_eq!(out.deleted().len(), 3);
    assert_eq!(
        c.list_objects_v2().bucket("dst").send().await.unwrap().key_count(),
        Some(0)
    );

    // A wrong checksum is refused and leaves nothing behind.
    let e = c
        .put_object()
        .bucket("src")
        .key("bad")
        .checksum_crc32("AAAAAA==")
        .body(ByteStream::from_static(b"data"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "BadDigest");
    assert!(c.head_object().bucket("src").key("bad").send().await.is_err());
    // A right one is kept and returned when asked.
    let put = c
        .put_object()
        .bucket("src")
        .key("good")
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .body(ByteStream::from_static(b"data"))
        .send()
        .await
        .unwrap();
    let sum = put.checksum_sha256().unwrap().to_owned();
    let h = c
        .head_object()
        .bucket("src")
        .key("good")
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(h.checksum_sha256(), Some(sum.as_str()));
}
