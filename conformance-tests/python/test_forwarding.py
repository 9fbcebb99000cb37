"""Requests for an upload staged on another node are passed to it: HTTP/2 clients too,
never twice (a stale address could name the sender), and never waited on forever."""

import os
import signal
import subprocess
import tempfile
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import Gateway, wait_for


@pytest.fixture(scope="module")
def pair():
    secret = {"ARUSTIO_CLUSTER_SECRET": "forwarding-secret-" + uuid.uuid4().hex, "ARUSTIO_FORWARD_TIMEOUT_SECS": "2"}
    creds = ("AKFWD" + uuid.uuid4().hex[:8].upper(), uuid.uuid4().hex)
    first = Gateway(extra_args=["--node-id", "1"], extra_env=secret, creds=creds)
    second = Gateway(extra_args=["--node-id", "2", "--join", f"http://127.0.0.1:{first.grpc_port}"],
                     extra_env=secret, creds=creds)
    yield first, second
    for n in (first, second):
        n.stop()


def started_on(node, key):
    """An upload staged on `node`, in a bucket of its own; (bucket, upload id)."""
    s3 = node.client()
    bucket = "fwd-" + uuid.uuid4().hex[:8]
    s3.create_bucket(Bucket=bucket)
    return bucket, s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]


def curl_part(gw, bucket, key, upload, data, *extra):
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        url = f"{gw.endpoint}/{bucket}/{key}?partNumber=1&uploadId={upload}"
        return subprocess.run(
            ["curl", "-sS", "-i", "--max-time", "20", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
             f"{gw.access_key}:{gw.secret_key}", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-X", "PUT",
             "--data-binary", f"@{f.name}", *extra, url],
            capture_output=True, text=True, timeout=30)


def wait_joined(pair):
    first, second = pair
    wait_for(lambda: second.client().list_buckets() is not None, "the second node serving", within=30)


def test_an_http2_client_is_passed_to_the_uploads_node(pair):
    wait_joined(pair)
    first, second = pair
    bucket, upload = started_on(second, "h2.bin")
    assert upload.startswith("2-"), upload
    data = os.urandom(1 << 20)
    r = curl_part(first, bucket, "h2.bin", upload, data, "--http2-prior-knowledge")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("HTTP/2 200"), r.stdout[:300]
    etag = next(line.split(":", 1)[1].strip() for line in r.stdout.splitlines() if line.lower().startswith("etag:"))
    s3 = first.client()
    s3.complete_multipart_upload(Bucket=bucket, Key="h2.bin", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert second.client().get_object(Bucket=bucket, Key="h2.bin")["Body"].read() == data


def test_a_forwarded_request_is_never_forwarded_again(pair):
    first, second = pair
    bucket, upload = started_on(second, "loop.bin")
    r = curl_part(first, bucket, "loop.bin", upload, b"x" * 100, "-H", "x-arustio-forwarded-by: 7")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("HTTP/1.1 503"), r.stdout[:300]
    assert "<Code>ServiceUnavailable</Code>" in r.stdout
    assert second.client().list_parts(Bucket=bucket, Key="loop.bin", UploadId=upload).get("Parts", []) == []


def test_a_node_that_does_not_answer_is_given_up_after_the_timeout(pair):
    first, second = pair
    bucket, upload = started_on(second, "stuck.bin")
    os.kill(second.proc.pid, signal.SIGSTOP)
    try:
        start = time.time()
        with pytest.raises(ClientError) as e:
            first.client().upload_part(Bucket=bucket, Key="stuck.bin", UploadId=upload, PartNumber=1, Body=b"y" * 1000)
        took = time.time() - start
    finally:
        os.kill(second.proc.pid, signal.SIGCONT)
    assert e.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert took < 10, took
