"""The shared backend suite: the same S3 behaviour checked through the gateway on every kind
of store (in the manner of object_store's integration.rs), each against a real server:
memory, a local directory, S3 on moto and on MinIO, Azure on Azurite, GCS on fake-gcs-server.

fake-gcs-server refuses object_store's XML-API writes, so on GCS every write test first checks
that the refusal is a clean S3 error that writes nothing, then skips, saying so; the reads run
on objects seeded through the emulator's JSON API."""

import hashlib
import io
import os
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

import upstreams
from conftest import Gateway, cli

BACKENDS = ["mem", "local", "s3-moto", "s3-minio", "azure", "gcs"]


def make_backend(name):
    if name == "mem":
        return upstreams.MemBackend()
    if name == "local":
        return upstreams.LocalBackend()
    if name == "s3-moto":
        return upstreams.S3Backend(name, upstreams.start_moto, "testing", "testing", checks_credentials=False)
    if name == "s3-minio":
        return upstreams.S3Backend(name, upstreams.start_minio, upstreams.MINIO_USER, upstreams.MINIO_PASSWORD,
                                   checks_credentials=True)
    if name == "azure":
        return upstreams.AzureBackend()
    return upstreams.GcsBackend()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    b = make_backend(request.param)
    yield b
    if hasattr(b, "close"):
        b.close()


class Mounted:
    def __init__(self, gateway, backend):
        self.gateway, self.backend = gateway, backend
        self.bucket = "s" + uuid.uuid4().hex[:10]
        self.args = backend.new_mount()
        r = cli(gateway, "fs", "mount", *self.args[:-1], f"/{self.bucket}", self.args[-1])
        assert r.returncode == 0, r.stderr
        self.s3 = gateway.client()

    def seed(self, key, data):
        """Puts an object past the gateway where the store allows, else through it."""
        if self.backend.direct:
            self.backend.put(key, data)
        else:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)

    def require_writes(self):
        if self.backend.writable:
            return
        with pytest.raises(ClientError) as e:
            self.s3.put_object(Bucket=self.bucket, Key="refused.txt", Body=b"x")
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] in (500, 503), e.value.response
        assert self.backend.get("refused.txt") is None
        pytest.skip(f"{self.backend.name}: the emulator refuses object_store's XML-API writes (see the README)")

    def other_gateway(self):
        """A second gateway over the same store, which has none of the first one's records."""
        gw = Gateway()
        r = cli(gw, "fs", "mount", *self.args[:-1], f"/{self.bucket}", self.args[-1])
        assert r.returncode == 0, r.stderr
        return gw


@pytest.fixture
def m(gateway, backend):
    mounted = Mounted(gateway, backend)
    yield mounted
    cli(gateway, "fs", "unmount", f"/{mounted.bucket}")


def code(e):
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def md5(data):
    return '"%s"' % hashlib.md5(data).hexdigest()


def test_put_get_head(m):
    m.require_writes()
    s3 = m.s3
    s3.put_object(Bucket=m.bucket, Key="dir/small.txt", Body=b"small", ContentType="text/plain")
    head = s3.head_object(Bucket=m.bucket, Key="dir/small.txt")
    assert head["ETag"] == md5(b"small") and head["ContentLength"] == 5 and head["ContentType"] == "text/plain"
    got = s3.get_object(Bucket=m.bucket, Key="dir/small.txt")
    assert got["Body"].read() == b"small" and got["ETag"] == md5(b"small")
    s3.put_object(Bucket=m.bucket, Key="empty", Body=b"")
    assert s3.head_object(Bucket=m.bucket, Key="empty")["ETag"] == md5(b"")
    # Over the 8 MiB buffer: the body is streamed to the store in parts.
    big = os.urandom(9 * 1024 * 1024 + 11)
    put = s3.put_object(Bucket=m.bucket, Key="big.bin", Body=big)
    assert put["ETag"] == md5(big)
    assert hashlib.md5(s3.get_object(Bucket=m.bucket, Key="big.bin")["Body"].read()).digest() == hashlib.md5(big).digest()
    s3.put_object(Bucket=m.bucket, Key="dir/small.txt", Body=b"changed")
    assert s3.get_object(Bucket=m.bucket, Key="dir/small.txt")["Body"].read() == b"changed"
    if m.backend.direct:
        assert m.backend.get("dir/small.txt") == b"changed" and m.backend.get("big.bin") == big
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=m.bucket, Key="nothing-here")
    assert code(e) == ("NoSuchKey", 404)


def test_objects_written_outside_the_gateway(m):
    if not m.backend.direct:
        pytest.skip(f"{m.backend.name}: nothing can write past the gateway")
    m.backend.put("outside.bin", b"written past the gateway")
    head = m.s3.head_object(Bucket=m.bucket, Key="outside.bin")
    etag = head["ETag"].strip('"')
    assert etag and not re.fullmatch(r"[0-9a-f]{32}", etag), "a foreign object's ETag must not pass for an MD5"
    assert m.s3.head_object(Bucket=m.bucket, Key="outside.bin")["ETag"] == head["ETag"], "stable"
    assert m.s3.get_object(Bucket=m.bucket, Key="outside.bin")["Body"].read() == b"written past the gateway"
    listed = m.s3.list_objects_v2(Bucket=m.bucket)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [("outside.bin", 24)]
    assert not re.fullmatch(r'"[0-9a-f]{32}"', listed[0]["ETag"])


def test_ranged_get(m):
    data = os.urandom(1024 * 1024 + 3)
    m.seed("r.bin", data)
    s3 = m.s3
    for rng, want in [("bytes=0-9", data[:10]), ("bytes=1000-", data[1000:]), ("bytes=-7", data[-7:]),
                      ("bytes=5-5", data[5:6]), ("bytes=1048570-99999999", data[1048570:])]:
        got = s3.get_object(Bucket=m.bucket, Key="r.bin", Range=rng)
        assert got["Body"].read() == want, rng
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206 and got["ContentRange"].startswith("bytes ")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=m.bucket, Key="r.bin", Range=f"bytes={len(data)}-")
    assert code(e) == ("InvalidRange", 416)


def test_conditional_get(m):
    m.seed("c.txt", b"conditional")
    s3, b = m.s3, m.bucket
    etag = s3.head_object(Bucket=b, Key="c.txt")["ETag"]
    assert s3.get_object(Bucket=b, Key="c.txt", IfMatch=etag)["Body"].read() == b"conditional"
    future, past = time.time() + 3600, time.time() - 3600 * 24 * 400
    for kwargs, want in [({"IfMatch": '"0123"'}, ("PreconditionFailed", 412)),
                         ({"IfUnmodifiedSince": past}, ("PreconditionFailed", 412)),
                         ({"IfNoneMatch": etag}, ("304", 304)),
                         ({"IfModifiedSince": future}, ("304", 304))]:
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket=b, Key="c.txt", **kwargs)
        assert code(e) == want, kwargs
    assert s3.get_object(Bucket=b, Key="c.txt", IfNoneMatch='"0123"')["Body"].read() == b"conditional"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=b, Key="c.txt", IfMatch='"0123"')
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412


def test_conditional_put(m):
    m.require_writes()
    s3, b = m.s3, m.bucket
    s3.put_object(Bucket=b, Key="once", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=b, Key="once", Body=b"second", IfNoneMatch="*")
    assert code(e) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=b, Key="once", Body=b"second", IfMatch='"0123"')
    assert code(e) == ("PreconditionFailed", 412)
    s3.put_object(Bucket=b, Key="once", Body=b"swapped", IfMatch=md5(b"first"))
    assert s3.get_object(Bucket=b, Key="once")["Body"].read() == b"swapped"
    if m.backend.direct:
        assert m.backend.get("once") == b"swapped"


def test_list_with_delimiter_and_pagination(m):
    """1,005 keys under one prefix: more than one page of the store's own listing."""
    names = ["a.txt", "dir/x", "dir/y/z"] + [f"many/k{i:05d}" for i in range(1005)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda k: m.seed(k, b"v"), names))
    s3, b = m.s3, m.bucket
    top = s3.list_objects_v2(Bucket=b, Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["a.txt"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["dir/", "many/"]
    sub = s3.list_objects_v2(Bucket=b, Prefix="dir/", Delimiter="/")
    assert [o["Key"] for o in sub["Contents"]] == ["dir/x"] and [p["Prefix"] for p in sub["CommonPrefixes"]] == ["dir/y/"]
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=b))
    keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    assert keys == sorted(names) and len(pages) == 2
    v1 = [o["Key"] for p in s3.get_paginator("list_objects").paginate(Bucket=b, PaginationConfig={"PageSize": 300})
          for o in p.get("Contents", [])]
    assert v1 == keys
    after = s3.list_objects_v2(Bucket=b, StartAfter="many/k01000")
    assert [o["Key"] for o in after["Contents"]] == [f"many/k{i:05d}" for i in range(1001, 1005)]


def test_delete(m):
    for k in ["d1", "d2", "d3"]:
        m.seed(k, b"bye")
    s3, b = m.s3, m.bucket
    assert s3.delete_object(Bucket=b, Key="d1")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.delete_object(Bucket=b, Key="never-was")["ResponseMetadata"]["HTTPStatusCode"] == 204
    r = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "d2"}, {"Key": "also-never"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["also-never", "d2"] and not r.get("Errors")
    for k in ["d1", "d2"]:
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket=b, Key=k)
        assert code(e) == ("NoSuchKey", 404)
        if m.backend.direct:
            assert m.backend.get(k) is None
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"]] == ["d3"]


def test_multipart(m):
    m.require_writes()
    s3, b = m.s3, m.bucket
    part1, part2 = os.urandom(5 * 1024 * 1024), os.urandom(1024 * 1024 + 1)
    up = s3.create_multipart_upload(Bucket=b, Key="mp.bin", ContentType="application/x-mp")
    parts = [{"PartNumber": n, "ETag": s3.upload_part(Bucket=b, Key="mp.bin", UploadId=up["UploadId"], PartNumber=n,
                                                       Body=body)["ETag"]} for n, body in [(1, part1), (2, part2)]]
    done = s3.complete_multipart_upload(Bucket=b, Key="mp.bin", UploadId=up["UploadId"], MultipartUpload={"Parts": parts})
    want = '"%s-2"' % hashlib.md5(hashlib.md5(part1).digest() + hashlib.md5(part2).digest()).hexdigest()
    assert done["ETag"] == want
    head = s3.head_object(Bucket=b, Key="mp.bin")
    assert head["ETag"] == want and head["ContentLength"] == len(part1) + len(part2)
    assert head["ContentType"] == "application/x-mp"
    assert s3.get_object(Bucket=b, Key="mp.bin", Range="bytes=5242878-5242881")["Body"].read() == (part1 + part2)[5242878:5242882]
    if m.backend.direct:
        assert m.backend.get("mp.bin") == part1 + part2
    # An aborted upload leaves nothing.
    up = s3.create_multipart_upload(Bucket=b, Key="gone.bin")
    s3.upload_part(Bucket=b, Key="gone.bin", UploadId=up["UploadId"], PartNumber=1, Body=part2)
    s3.abort_multipart_upload(Bucket=b, Key="gone.bin", UploadId=up["UploadId"])
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=b, Key="gone.bin", UploadId=up["UploadId"])
    assert code(e) == ("NoSuchUpload", 404)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"]] == ["mp.bin"]
    # boto3's managed transfer, as the aws CLI does it.
    data = os.urandom(11 * 1024 * 1024)
    s3.upload_fileobj(io.BytesIO(data), b, "managed.bin", Config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
    assert s3.head_object(Bucket=b, Key="managed.bin")["ETag"].endswith('-3"')
    assert s3.get_object(Bucket=b, Key="managed.bin")["Body"].read() == data


def test_copy_and_metadata(m):
    m.require_writes()
    s3, b = m.s3, m.bucket
    meta = {"team": "lake", "n": "1"}
    s3.put_object(Bucket=b, Key="src.txt", Body=b"copy me", ContentType="text/x-src", Metadata=meta,
                  CacheControl="max-age=60", ContentDisposition="attachment", ContentLanguage="en")
    head = s3.head_object(Bucket=b, Key="src.txt")
    assert head["ContentType"] == "text/x-src" and head["Metadata"] == meta and head["CacheControl"] == "max-age=60"
    assert head["ContentDisposition"] == "attachment" and head["ContentLanguage"] == "en"
    got = s3.get_object(Bucket=b, Key="src.txt")
    assert got["Metadata"] == meta and got["ContentType"] == "text/x-src"

    r = s3.copy_object(Bucket=b, Key="copied.txt", CopySource=f"{b}/src.txt")
    assert r["CopyObjectResult"]["ETag"] == md5(b"copy me")
    head = s3.head_object(Bucket=b, Key="copied.txt")
    assert head["ContentType"] == "text/x-src" and head["Metadata"] == meta
    s3.copy_object(Bucket=b, Key="replaced.txt", CopySource=f"{b}/src.txt", MetadataDirective="REPLACE",
                   ContentType="text/x-new", Metadata={"fresh": "yes"})
    head = s3.head_object(Bucket=b, Key="replaced.txt")
    assert head["ContentType"] == "text/x-new" and head["Metadata"] == {"fresh": "yes"}
    assert head["ETag"] == md5(b"copy me")
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=b, Key="src.txt", CopySource=f"{b}/src.txt")
    assert code(e) == ("InvalidRequest", 400)
    s3.copy_object(Bucket=b, Key="src.txt", CopySource=f"{b}/src.txt", MetadataDirective="REPLACE",
                   ContentType="text/x-self", Metadata={"self": "1"})
    assert s3.head_object(Bucket=b, Key="src.txt")["Metadata"] == {"self": "1"}
    if m.backend.direct:
        assert m.backend.get("copied.txt") == b"copy me" and m.backend.get("replaced.txt") == b"copy me"
    if not m.backend.keeps_attrs:
        return
    # The store keeps the attributes: a gateway with none of this one's records reports the same.
    other = m.other_gateway()
    try:
        s3b = other.client()
        for key, ctype, want in [("copied.txt", "text/x-src", meta), ("replaced.txt", "text/x-new", {"fresh": "yes"}),
                                 ("src.txt", "text/x-self", {"self": "1"})]:
            head = s3b.head_object(Bucket=b, Key=key)
            assert (head["ContentType"], head["Metadata"], head["ETag"]) == (ctype, want, md5(b"copy me")), key
    finally:
        other.stop()


def assert_mount_refused(gateway, args, secret=None):
    r = cli(gateway, "fs", "mount", *args[:-1], "/refused", args[-1])
    assert r.returncode != 0
    line = r.stderr.strip()
    assert len(line.splitlines()) == 1 and args[-1] in line and len(line) < 500, line
    assert secret is None or secret not in line
    return line


def test_wrong_credentials(gateway, backend):
    m = Mounted(gateway, backend)
    args = backend.bad_credentials()
    cli(gateway, "fs", "unmount", f"/{m.bucket}")
    if args is None:
        pytest.skip(f"{backend.name}: the server does not check credentials")
    secret = next(a.split("=", 1)[1] for a in args if a.startswith(("secret_access_key=", "access_key=")))
    assert_mount_refused(gateway, args, secret)
    r = cli(gateway, "fs", "mount", "--no-check", *args[:-1], "/denied", args[-1])
    assert r.returncode == 0, r.stderr
    with pytest.raises(ClientError) as e:
        m.s3.get_object(Bucket="denied", Key="anything")
    assert code(e) == ("AccessDenied", 403)
    # The client learns that access was denied, not which upstream store refused it.
    assert args[-1] not in str(e.value.response) and secret not in str(e.value.response)
    cli(gateway, "fs", "unmount", "/denied")


def test_missing_bucket(gateway, backend):
    args = backend.missing()
    if args is None:
        pytest.skip(f"{backend.name}: a memory store always exists")
    assert_mount_refused(gateway, args)


def test_stopped_server_is_503_within_the_timeout(gateway, backend):
    stopped = backend.stopped()
    if stopped is None:
        pytest.skip(f"{backend.name}: no server to stop")
    args, seed, stop = stopped
    try:
        seed("k", b"v")
        r = cli(gateway, "fs", "mount", *args[:-1], "/fragile", args[-1])
        assert r.returncode == 0, r.stderr
        s3 = gateway.client()
        assert s3.get_object(Bucket="fragile", Key="k")["Body"].read() == b"v"
    finally:
        stop()
    start = time.time()
    for call in [lambda: s3.get_object(Bucket="fragile", Key="k"), lambda: s3.list_objects_v2(Bucket="fragile")]:
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == ("ServiceUnavailable", 503)
    assert time.time() - start < 30, "no request hangs past the mount's timeout"
    cli(gateway, "fs", "unmount", "/fragile")
