"""A copy of an object over 5 GiB within an S3 mount (issue 13): AWS refuses a single
CopyObject over 5 GiB, so the gateway copies with UploadPartCopy, which a proxy between the
gateway and MinIO sees (MinIO may not enforce the limit itself). Needs about 11 GiB of disk
for a few minutes; marked `bigcopy`, and runs by default."""

import contextlib
import hashlib
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.exceptions import ClientError

from conftest import cli
from counting_proxy import CountingProxy
from upstreams import MINIO_PASSWORD, MINIO_USER, s3_client, s3_opts

MIB = 1 << 20
SIZE = (5 << 30) + MIB
PART = 64 * MIB
GIB_5 = 5 << 30


def mib(i):
    """The source's i-th MiB: a 16-byte tag naming i, repeated, so that every MiB differs."""
    return f"MiB {i:011d}\n".encode() * (MIB // 16)


def source_range(start, end):
    """The source's bytes [start, end), made again (MiB-aligned start)."""
    assert start % MIB == 0
    return b"".join(mib(i) for i in range(start // MIB, (end + MIB - 1) // MIB))[:end - start]


def seed(client, bucket, key):
    """Writes the source straight into the store in 64 MiB parts made on the fly; its MD5."""
    md5 = hashlib.md5()
    up = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = []
    for n, start in enumerate(range(0, SIZE, PART), 1):
        data = source_range(start, min(start + PART, SIZE))
        md5.update(data)
        done.append({"PartNumber": n, "ETag": client.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=n,
                                                                 Body=data)["ETag"]})
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": done})
    return md5.hexdigest()


def copy_requests(heads):
    """The requests with `x-amz-copy-source`: (query, headers) each."""
    return [(parse_qs(urlsplit(line.split(" ")[1]).query), h) for line, h in heads if "x-amz-copy-source" in h]


def copied_ranges(copies):
    """The source ranges the part copies name, in order, as (first, last)."""
    out = []
    for _, h in copies:
        first, last = h["x-amz-copy-source-range"].removeprefix("bytes=").split("-")
        out.append((int(first), int(last)))
    return sorted(out)


@pytest.mark.bigcopy
def test_a_copy_over_5_gib_within_an_s3_mount_is_made_of_upload_part_copies(gateway, minio):
    began = time.time()
    up = s3_client(minio, MINIO_USER, MINIO_PASSWORD)
    bucket = "bigcopy-" + uuid.uuid4().hex[:8]
    up.create_bucket(Bucket=bucket)
    proxy = CountingProxy(int(minio.rsplit(":", 1)[1]))
    timings = {}
    try:
        r = cli(gateway, "fs", "mount", *s3_opts(proxy.endpoint, MINIO_USER, MINIO_PASSWORD), f"/{bucket}",
                f"s3://{bucket}")
        assert r.returncode == 0, r.stderr
        t = time.time()
        want_md5 = seed(up, bucket, "src")
        timings["seed"] = time.time() - t

        proxy.reset()
        s3 = gateway.client(read_timeout=900, retries={"max_attempts": 0})
        t = time.time()
        out = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
        timings["copy"] = time.time() - t
        time.sleep(0.2)
        heads = list(proxy.heads)
        assert len(heads) == proxy.requests, "every request the gateway sent was parsed"
        copies = copy_requests(heads)
        whole = [h for q, h in copies if "partNumber" not in q or "uploadId" not in q]
        assert not whole, f"a single CopyObject of {SIZE} bytes, which AWS refuses: {[l for l, _ in heads]}"
        ranges = copied_ranges(copies)
        assert ranges and ranges[0][0] == 0 and ranges[-1][1] == SIZE - 1, ranges
        assert all(b[0] == a[1] + 1 for a, b in zip(ranges, ranges[1:])), f"the parts cover the source once: {ranges}"
        assert all(last - first < GIB_5 for first, last in ranges), ranges
        assert any(line.startswith("POST ") and "uploadId=" in line for line, _ in heads), "the upload is completed"

        assert up.head_object(Bucket=bucket, Key="dst")["ContentLength"] == SIZE
        head = s3.head_object(Bucket=bucket, Key="dst")
        assert head["ContentLength"] == SIZE
        assert head["ETag"] == out["CopyObjectResult"]["ETag"]
        t = time.time()
        for start in [0, PART - MIB, SIZE // 2 // MIB * MIB, SIZE - 2 * MIB]:
            end = min(start + 2 * MIB, SIZE)
            got = up.get_object(Bucket=bucket, Key="dst", Range=f"bytes={start}-{end - 1}")["Body"].read()
            assert got == source_range(start, end), f"bytes {start}-{end - 1}"
        body = up.get_object(Bucket=bucket, Key="dst")["Body"]
        md5 = hashlib.md5()
        for chunk in iter(lambda: body.read(8 * MIB), b""):
            md5.update(chunk)
        assert md5.hexdigest() == want_md5, "the copy holds the source's bytes"
        timings["verify"] = time.time() - t
    finally:
        for key in ("src", "dst"):
            with contextlib.suppress(ClientError):
                up.delete_object(Bucket=bucket, Key=key)
        for u in up.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            with contextlib.suppress(ClientError):
                up.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
        cli(gateway, "fs", "unmount", f"/{bucket}")
        proxy.close()
        timings["total"] = time.time() - began
        print("bigcopy timings (s):", {k: round(v, 1) for k, v in timings.items()})
