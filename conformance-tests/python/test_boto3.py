"""boto3 against the gateway: operations, streaming checksums, and error codes."""

import hashlib
import io

import boto3
import pytest
import requests
from botocore.exceptions import ClientError


def code(exc):
    return exc.value.response["Error"]["Code"]


def status(exc):
    return exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_put_get_roundtrip_with_default_crc32_trailer(s3, bucket):
    # boto3 >= 1.36 sends aws-chunked bodies with a CRC32 trailer by default.
    data = b"hello arustio " * 1000
    out = s3.put_object(Bucket=bucket, Key="t.txt", Body=io.BytesIO(data), ContentType="text/plain", Metadata={"a": "b"})
    assert out["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
    got = s3.get_object(Bucket=bucket, Key="t.txt", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"a": "b"}


@pytest.mark.parametrize("alg", ["CRC32", "CRC32C", "SHA1", "SHA256"])
def test_checksums_are_verified_and_returned(s3, bucket, alg):
    out = s3.put_object(Bucket=bucket, Key=f"c-{alg}", Body=b"checksummed", ChecksumAlgorithm=alg)
    field = f"Checksum{alg}"
    assert field in out
    head = s3.head_object(Bucket=bucket, Key=f"c-{alg}", ChecksumMode="ENABLED")
    assert head[field] == out[field]


def test_wrong_checksum_is_bad_digest(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"abc", ChecksumSHA256="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    assert code(e) == "BadDigest"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="bad")
    assert status(e) == 404


def test_wrong_content_md5_is_bad_digest(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="md5", Body=b"abc", ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg==")
    assert code(e) in ("BadDigest", "InvalidDigest")


def test_error_codes(s3, bucket):
    cases = [
        (lambda: s3.get_object(Bucket=bucket, Key="nope"), "NoSuchKey", 404),
        (lambda: s3.get_object(Bucket="no-such-bucket-x", Key="k"), "NoSuchBucket", 404),
        (lambda: s3.list_objects_v2(Bucket="no-such-bucket-x"), "NoSuchBucket", 404),
        (lambda: s3.create_bucket(Bucket=bucket), "BucketAlreadyOwnedByYou", 409),
        (lambda: s3.put_object(Bucket=bucket, Key="a//b", Body=b""), "InvalidArgument", 400),
        (lambda: s3.put_object(Bucket=bucket, Key="x" * 1025, Body=b""), "KeyTooLongError", 400),
        (lambda: s3.put_object(Bucket=bucket, Key="m", Body=b"", Metadata={"k": "v" * 2100}), "MetadataTooLarge", 400),
        (lambda: s3.get_object(Bucket=bucket, Key="nope", Range="bytes=0-1"), "NoSuchKey", 404),
        (lambda: s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId="0" * 32), "NoSuchUpload", 404),
        (lambda: s3.list_objects_v2(Bucket=bucket, ContinuationToken="garbage!"), "InvalidArgument", 400),
    ]
    for call, want, http in cases:
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == want, want
        assert status(e) == http, want


def test_error_body_is_xml_with_request_id(gateway, bucket):
    r = requests.get(f"{gateway.endpoint}/{bucket}/anything")
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/xml")
    assert "<Code>AccessDenied</Code>" in r.text
    assert r.headers.get("x-amz-request-id")


def test_range_on_empty_object_and_suffix(s3, bucket):
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    assert s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="empty", Range="bytes=0-0")
    assert status(e) == 416
    s3.put_object(Bucket=bucket, Key="ten", Body=b"0123456789")
    assert s3.get_object(Bucket=bucket, Key="ten", Range="bytes=-4")["Body"].read() == b"6789"


def test_multipart_with_checksums_default(s3, bucket):
    from boto3.s3.transfer import TransferConfig

    data = bytes(range(256)) * (9 * 4096)  # 9 MiB
    cfg = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    s3.upload_fileobj(io.BytesIO(data), bucket, "mp.bin", Config=cfg)
    head = s3.head_object(Bucket=bucket, Key="mp.bin")
    assert head["ETag"].endswith('-2"')
    buf = io.BytesIO()
    s3.download_fileobj(bucket, "mp.bin", buf, Config=cfg)
    assert buf.getvalue() == data


def test_unicode_and_space_keys_list_with_url_encoding(s3, bucket):
    keys = ["a b/c+d.txt", "ünï/cödé", "x%20y", "q?r#s"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    # botocore asks for url encoding itself and decodes the answer.
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == sorted(keys, key=lambda k: k.encode())
    # Asked for explicitly, the keys come back encoded.
    raw = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, EncodingType="url")["Contents"]]
    assert "a%20b/c%2Bd.txt" in raw
    for k in keys:
        assert s3.get_object(Bucket=bucket, Key=k)["Body"].read() == k.encode()


def test_delete_objects_quiet_and_v1_listing(s3, bucket):
    for i in range(5):
        s3.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x")
    out = s3.list_objects(Bucket=bucket, MaxKeys=2)
    assert out["IsTruncated"] and [o["Key"] for o in out["Contents"]] == ["k0", "k1"]
    out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"k{i}"} for i in range(5)], "Quiet": True})
    assert not out.get("Errors")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_short_body_is_refused_and_leaves_nothing(gateway, s3, bucket):
    import socket
    import urllib.parse

    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "short"}, ExpiresIn=60)
    parts = urllib.parse.urlsplit(url)
    path = parts.path + "?" + parts.query
    with socket.create_connection(("127.0.0.1", gateway.port)) as sock:
        sock.sendall(f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{gateway.port}\r\nContent-Length: 100\r\n\r\nonly-part".encode())
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(10)
        try:
            sock.recv(4096)
        except OSError:
            pass
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="short")
    assert status(e) == 404


def test_sigv2_presigned_get(gateway, bucket):
    import boto3
    from botocore.config import Config

    v2 = boto3.client("s3", endpoint_url=gateway.endpoint, aws_access_key_id=gateway.access_key,
                      aws_secret_access_key=gateway.secret_key, region_name="us-east-1",
                      config=Config(signature_version="s3", s3={"addressing_style": "path"}))
    gateway.client().put_object(Bucket=bucket, Key="v2", Body=b"sigv2")
    url = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v2"}, ExpiresIn=60)
    assert "Signature=" in url and "X-Amz-Signature" not in url
    assert requests.get(url).content == b"sigv2"


def test_settings_the_gateway_does_not_keep_read_as_unset(s3, bucket):
    """s3cmd `info` and rclone `purge` read these; AWS answers a bucket with none set so."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    for call, want in [(s3.get_bucket_policy, "NoSuchBucketPolicy"), (s3.get_bucket_cors, "NoSuchCORSConfiguration"),
                       (s3.get_bucket_lifecycle_configuration, "NoSuchLifecycleConfiguration"),
                       (s3.get_bucket_tagging, "NoSuchTagSet"),
                       (s3.get_bucket_encryption, "ServerSideEncryptionConfigurationNotFoundError")]:
        with pytest.raises(ClientError) as e:
            call(Bucket=bucket)
        assert (e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (want, 404)
        with pytest.raises(ClientError) as e:
            call(Bucket="no-such-bucket-here")
        assert e.value.response["Error"]["Code"] == "NoSuchBucket"
    for acl in [s3.get_bucket_acl(Bucket=bucket), s3.get_object_acl(Bucket=bucket, Key="k")]:
        assert acl["Owner"]["ID"] == "root"
        assert [(g["Grantee"]["Type"], g["Grantee"]["ID"], g["Permission"]) for g in acl["Grants"]] == [
            ("CanonicalUser", "root", "FULL_CONTROL")]
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    for call in [s3.get_object_acl, s3.get_object_tagging]:
        with pytest.raises(ClientError) as e:
            call(Bucket=bucket, Key="missing")
        assert e.value.response["Error"]["Code"] == "NoSuchKey"
    # ListObjects v1 names each object's owner; v2 only with fetch-owner.
    assert s3.list_objects(Bucket=bucket)["Contents"][0]["Owner"]["ID"] == "root"
    assert "Owner" not in s3.list_objects_v2(Bucket=bucket)["Contents"][0]
    assert s3.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"][0]["Owner"]["ID"] == "root"


def test_documented_failures_have_their_codes(gateway, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"value")
    etag = s3.head_object(Bucket=bucket, Key="k")["ETag"]
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    p1 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=1, Body=b"small")["ETag"]
    p2 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=2, Body=b"tail")["ETag"]
    wrong_secret = boto3.client("s3", endpoint_url=gateway.endpoint, aws_access_key_id=gateway.access_key,
                                aws_secret_access_key="wrong", region_name="us-east-1")
    unknown_key = boto3.client("s3", endpoint_url=gateway.endpoint, aws_access_key_id="AKNOBODY",
                               aws_secret_access_key="wrong", region_name="us-east-1")
    complete = lambda parts: s3.complete_multipart_upload(  # noqa: E731
        Bucket=bucket, Key="mp", UploadId=up, MultipartUpload={"Parts": parts})
    cases = [
        (lambda: s3.delete_bucket(Bucket=bucket), "BucketNotEmpty", 409),
        (lambda: s3.create_bucket(Bucket="Bad_Name"), "InvalidBucketName", 400),
        (lambda: s3.get_object(Bucket=bucket, Key="k", IfMatch='"0123"'), "PreconditionFailed", 412),
        (lambda: s3.get_object(Bucket=bucket, Key="k", IfNoneMatch=etag), "304", 304),
        (lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x", IfNoneMatch="*"), "PreconditionFailed", 412),
        (lambda: s3.get_object(Bucket=bucket, Key="k", Range="bytes=100-"), "InvalidRange", 416),
        (lambda: s3.copy_object(Bucket=bucket, Key="k", CopySource=f"{bucket}/k"), "InvalidRequest", 400),
        (lambda: s3.copy_object(Bucket=bucket, Key="c", CopySource=f"{bucket}/missing"), "NoSuchKey", 404),
        (lambda: s3.copy_object(Bucket=bucket, Key="c", CopySource=f"{bucket}/k", CopySourceIfMatch='"0123"'),
         "PreconditionFailed", 412),
        (lambda: complete([{"PartNumber": 1, "ETag": p1}, {"PartNumber": 2, "ETag": p2}]), "EntityTooSmall", 400),
        (lambda: complete([{"PartNumber": 1, "ETag": '"%s"' % ("0" * 32)}]), "InvalidPart", 400),
        (lambda: complete([{"PartNumber": 2, "ETag": p2}, {"PartNumber": 1, "ETag": p1}]), "InvalidPartOrder", 400),
        (lambda: s3.list_parts(Bucket=bucket, Key="mp", UploadId="f" * 32), "NoSuchUpload", 404),
        (lambda: s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=10001, Body=b"x"), "InvalidArgument", 400),
        (lambda: wrong_secret.list_buckets(), "SignatureDoesNotMatch", 403),
        (lambda: unknown_key.list_buckets(), "InvalidAccessKeyId", 403),
        (lambda: s3.put_object(Bucket=bucket, Key="md5", Body=b"x", ContentMD5="AAAAAAAAAAAAAAAAAAAAAA=="), "BadDigest", 400),
        (lambda: s3.get_bucket_policy(Bucket=bucket), "NoSuchBucketPolicy", 404),
    ]
    for call, want, http in cases:
        with pytest.raises(ClientError) as e:
            call()
        assert (code(e), status(e)) == (want, http), want
    s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=up)
