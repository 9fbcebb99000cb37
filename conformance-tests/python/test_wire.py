"""Hand-made requests for what SDKs hide: aws-chunked trailers, NUL in keys,
virtual-host style addressing."""

import base64
import subprocess
import urllib.parse
import zlib

import pytest
import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import virtual_host_bucket


class TrailerAuth(S3SigV4Auth):
    """SigV4 over a STREAMING-UNSIGNED-PAYLOAD-TRAILER body, as current SDKs send."""

    def payload(self, request):
        return "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


def chunked_put(gw, bucket, key, body, crc_of=None, chunk=7):
    crc = base64.b64encode(zlib.crc32(crc_of if crc_of is not None else body).to_bytes(4, "big")).decode()
    frames = [f"{len(body[i : i + chunk]):x}\r\n".encode() + body[i : i + chunk] + b"\r\n"
              for i in range(0, len(body), chunk)]
    out = b"".join(frames) + b"0\r\n" + f"x-amz-checksum-crc32:{crc}\r\n\r\n".encode()
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(body)),
        "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-sdk-checksum-algorithm": "CRC32",
        "Content-Length": str(len(out)),
    }
    url = f"{gw.endpoint}/{bucket}/{urllib.parse.quote(key)}"
    req = AWSRequest("PUT", url, data=out, headers=headers)
    TrailerAuth(Credentials(gw.access_key, gw.secret_key), "s3", "us-east-1").add_auth(req)
    return requests.put(url, data=out, headers=dict(req.headers.items()), timeout=60)


def test_aws_chunked_with_crc32_trailer(gateway, s3, bucket):
    body = b"streamed in aws-chunked frames with a trailing checksum"
    r = chunked_put(gateway, bucket, "chunked.txt", body)
    assert r.status_code == 200, r.text
    got = s3.get_object(Bucket=bucket, Key="chunked.txt", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got["ChecksumCRC32"] == base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    assert got.get("ContentEncoding") in (None, ""), "aws-chunked is not the object's encoding"


def test_aws_chunked_with_wrong_trailer_is_bad_digest(gateway, s3, bucket):
    r = chunked_put(gateway, bucket, "bad-trailer", b"payload", crc_of=b"something else")
    assert r.status_code == 400 and "<Code>BadDigest</Code>" in r.text, r.text
    assert "RequestId" in r.text
    with pytest.raises(Exception):
        s3.head_object(Bucket=bucket, Key="bad-trailer")


def test_nul_and_control_characters_in_keys(s3, bucket):
    from botocore.exceptions import ClientError

    for key in ["a\x00b", "line\nbreak"]:
        with pytest.raises(ClientError) as e:
            s3.put_object(Bucket=bucket, Key=key, Body=b"x")
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, repr(key)


def test_virtual_host_style_with_a_domain():
    with virtual_host_bucket() as (gw, name, host):
        base = ["curl", "-sS", "--fail-with-body", "--aws-sigv4", "aws:amz:us-east-1:s3",
                "--user", f"{gw.access_key}:{gw.secret_key}", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                "--resolve", f"{host}:{gw.port}:127.0.0.1"]
        url = f"http://{host}:{gw.port}/virtual.txt"
        subprocess.run(base + ["-X", "PUT", "--data-binary", "virtual host", url], check=True, capture_output=True)
        got = subprocess.run(base + [url], check=True, capture_output=True).stdout
        assert got == b"virtual host"
        # Path style still works on the same server.
        assert gw.client().get_object(Bucket=name, Key="virtual.txt")["Body"].read() == b"virtual host"


class UnsignedAuth(S3SigV4Auth):
    def payload(self, request):
        return "UNSIGNED-PAYLOAD"


def signed_headers(gw, method, path, headers):
    req = AWSRequest(method, f"{gw.endpoint}{path}", headers=headers)
    UnsignedAuth(Credentials(gw.access_key, gw.secret_key), "s3", "us-east-1").add_auth(req)
    return dict(req.headers.items())


def test_a_refused_put_does_not_poison_the_kept_alive_connection(gateway, s3, bucket):
    """The gateway answers 412 before reading the body; the rest of the body, sent later,
    must be read and dropped, not parsed as the next request on the connection."""
    import http.client
    import time

    s3.put_object(Bucket=bucket, Key="taken", Body=b"first")
    body = b"a body that arrives after the answer" * 100
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    headers = signed_headers(gateway, "PUT", f"/{bucket}/taken", {"If-None-Match": "*", "Content-Length": str(len(body))})
    conn.putrequest("PUT", f"/{bucket}/taken", skip_accept_encoding=True)
    for k, v in headers.items():
        conn.putheader(k, v)
    conn.endheaders()
    conn.send(body[:10])
    time.sleep(0.3)
    conn.send(body[10:])
    r = conn.getresponse()
    assert r.status == 412 and b"PreconditionFailed" in r.read()
    sock = conn.sock
    assert sock is not None, "the connection is kept alive"
    conn.putrequest("GET", f"/{bucket}/taken", skip_accept_encoding=True)
    for k, v in signed_headers(gateway, "GET", f"/{bucket}/taken", {}).items():
        conn.putheader(k, v)
    conn.endheaders()
    r = conn.getresponse()
    assert r.status == 200 and r.read() == b"first" and conn.sock is sock
