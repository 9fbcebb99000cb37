"""An S3 mount backed by a real S3 server (moto, started here on a free port): the
gateway's S3 operations land in the upstream bucket under the mount's prefix."""

import hashlib
import io
import os
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

from conftest import cli, stop_server
from upstreams import MINIO_PASSWORD, MINIO_USER, s3_client, start_moto


@pytest.fixture(scope="module")
def moto():
    proc, url = start_moto()
    yield url
    stop_server(proc)


def upstream(endpoint, key="testing", secret="testing"):
    return s3_client(endpoint, key, secret)


def test_s3_mount_end_to_end_on_moto(gateway, moto):
    s3_mount_end_to_end(gateway, moto, "testing", "testing")


def test_s3_mount_end_to_end_on_minio(gateway, minio):
    s3_mount_end_to_end(gateway, minio, MINIO_USER, MINIO_PASSWORD)


def s3_mount_end_to_end(gateway, endpoint, key, secret):
    up = upstream(endpoint, key, secret)
    up.create_bucket(Bucket="lake-upstream")
    up.put_object(Bucket="lake-upstream", Key="warehouse/seeded.txt", Body=b"written outside the gateway")
    env = {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "S3_ENDPOINT": endpoint}
    r = cli(gateway, "fs", "mount", "/s3data", "s3a://lake-upstream/warehouse", env=env)
    assert r.returncode == 0, r.stderr
    assert "access_key_id: from $AWS_ACCESS_KEY_ID" in r.stdout and "endpoint: from $S3_ENDPOINT" in r.stdout
    listed = cli(gateway, "fs", "list").stdout
    assert "s3a://lake-upstream/warehouse" in listed and "aws_secret_access_key=****" in listed and f"aws_secret_access_key={secret}" not in listed

    s3 = gateway.client()
    assert s3.get_object(Bucket="s3data", Key="seeded.txt")["Body"].read() == b"written outside the gateway"
    etag = s3.head_object(Bucket="s3data", Key="seeded.txt")["ETag"].strip('"')
    assert len(etag) != 32, "a foreign object's ETag must not look like an MD5"

    data = os.urandom(11 * 1024 * 1024)
    from boto3.s3.transfer import TransferConfig
    s3.upload_fileobj(io.BytesIO(data), "s3data", "dir/big.bin", Config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
    s3.put_object(Bucket="s3data", Key="dir/small.txt", Body=b"small", ContentType="text/plain", Metadata={"k": "v"})
    direct = up.get_object(Bucket="lake-upstream", Key="warehouse/dir/big.bin")["Body"].read()
    assert hashlib.md5(direct).digest() == hashlib.md5(data).digest(), "bytes land under the prefix upstream"
    got = s3.get_object(Bucket="s3data", Key="dir/big.bin", Range="bytes=100-199")["Body"].read()
    assert got == data[100:200]
    head = s3.head_object(Bucket="s3data", Key="dir/small.txt")
    assert head["ContentType"] == "text/plain" and head["Metadata"] == {"k": "v"}
    assert head["ETag"] == '"%s"' % hashlib.md5(b"small").hexdigest()

    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="s3data")["Contents"]]
    assert keys == ["dir/big.bin", "dir/small.txt", "seeded.txt"]
    cps = [p["Prefix"] for p in s3.list_objects_v2(Bucket="s3data", Delimiter="/")["CommonPrefixes"]]
    assert cps == ["dir/"]

    s3.copy_object(Bucket="s3data", Key="dir/copy.txt", CopySource="s3data/dir/small.txt")
    assert up.get_object(Bucket="lake-upstream", Key="warehouse/dir/copy.txt")["Body"].read() == b"small"
    s3.copy_object(Bucket="s3data", Key="from-local.txt", CopySource=f"{make_local(s3)}/x.txt")
    assert up.get_object(Bucket="lake-upstream", Key="warehouse/from-local.txt")["Body"].read() == b"local bytes"

    s3.delete_object(Bucket="s3data", Key="dir/copy.txt")
    with pytest.raises(ClientError):
        up.head_object(Bucket="lake-upstream", Key="warehouse/dir/copy.txt")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="s3data", Key="dir/copy.txt")
    assert e.value.response["Error"]["Code"] == "NoSuchKey"

    r = cli(gateway, "fs", "unmount", "/s3data")
    assert r.returncode == 0, r.stderr
    assert up.get_object(Bucket="lake-upstream", Key="warehouse/dir/small.txt")["Body"].read() == b"small", "unmount leaves the store"


def make_local(s3):
    if "localsrc" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket="localsrc")
    s3.put_object(Bucket="localsrc", Key="x.txt", Body=b"local bytes")
    return "localsrc"


def test_s3_mount_is_checked(gateway, moto):
    opts = ["-o", f"endpoint={moto}", "-o", "access_key_id=testing", "-o", "secret_access_key=hush-hush"]
    r = cli(gateway, "fs", "mount", *opts, "/nobucket", "s3://does-not-exist")
    assert r.returncode != 0 and "s3://does-not-exist" in r.stderr and "NoSuchBucket" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "hush-hush" not in r.stderr
    r = cli(gateway, "fs", "mount", "--no-check", *opts, "/nobucket", "s3://does-not-exist")
    assert r.returncode == 0, r.stderr
    r = cli(gateway, "fs", "mount", "-o", "no_such_option=1", "/other", "s3://x")
    assert r.returncode != 0 and "endpoint" in r.stderr
    cli(gateway, "fs", "unmount", "/nobucket")


def test_the_s3_example_runs_against_the_local_server(moto):
    upstream(moto).create_bucket(Bucket="example-bucket")
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "target"))
    exe = os.path.join(target, "debug", "examples", "s3")
    env = dict(os.environ, S3_BUCKET="example-bucket", S3_REGION="us-east-1", AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", S3_ENDPOINT=moto)
    r = subprocess.run([exe], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "read back: Hello S3!" in r.stdout and "deleted /s3/data/file.txt" in r.stdout


def test_create_only_puts_are_atomic_across_two_gateways(gateway, moto):
    """Two gateway processes over one bucket: the store, not a node's lock, picks one winner."""
    from concurrent.futures import ThreadPoolExecutor

    from conftest import Gateway

    up = upstream(moto)
    up.create_bucket(Bucket="shared-commits")
    other = Gateway()
    try:
        opts = ["-o", f"endpoint={moto}", "-o", "access_key_id=testing", "-o", "secret_access_key=testing"]
        for gw in (gateway, other):
            r = cli(gw, "fs", "mount", *opts, "/commits", "s3://shared-commits")
            assert r.returncode == 0, r.stderr
        clients = [gateway.client(), other.client()]

        def attempt(i):
            try:
                clients[i % 2].put_object(Bucket="commits", Key="_delta_log/00001.json", Body=f"writer {i}".encode(), IfNoneMatch="*")
                return True
            except ClientError as e:
                assert e.response["Error"]["Code"] == "PreconditionFailed", e.response["Error"]
                return False

        with ThreadPoolExecutor(max_workers=8) as pool:
            wins = sum(pool.map(attempt, range(8)))
        assert wins == 1
        # Compare-and-swap: node 0 reads the ETag, node 1 changes the object, and node 0's
        # swap against the old ETag is refused.
        etag = clients[0].head_object(Bucket="commits", Key="_delta_log/00001.json")["ETag"]
        clients[0].put_object(Bucket="commits", Key="_delta_log/00001.json", Body=b"swapped", IfMatch=etag)
        etag = clients[0].head_object(Bucket="commits", Key="_delta_log/00001.json")["ETag"]
        clients[1].put_object(Bucket="commits", Key="_delta_log/00001.json", Body=b"changed on node 1")
        with pytest.raises(ClientError) as e:
            clients[0].put_object(Bucket="commits", Key="_delta_log/00001.json", Body=b"stale", IfMatch=etag)
        assert e.value.response["Error"]["Code"] == "PreconditionFailed"
        assert up.get_object(Bucket="shared-commits", Key="_delta_log/00001.json")["Body"].read() == b"changed on node 1"
        # What one node wrote, the other reports the same: the store keeps the ETag, the
        # Content-Type and the user metadata with the object.
        clients[0].put_object(Bucket="commits", Key="meta.txt", Body=b"shared", ContentType="text/x-shared", Metadata={"team": "lake"})
        head0 = clients[0].head_object(Bucket="commits", Key="meta.txt")
        head1 = clients[1].head_object(Bucket="commits", Key="meta.txt")
        assert head1["ETag"] == head0["ETag"] == '"%s"' % hashlib.md5(b"shared").hexdigest()
        assert head1["ContentType"] == "text/x-shared" and head1["Metadata"] == {"team": "lake"}
        from boto3.s3.transfer import TransferConfig

        big = os.urandom(6 * 1024 * 1024)
        clients[0].upload_fileobj(io.BytesIO(big), "commits", "mp.bin", Config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
        assert clients[1].head_object(Bucket="commits", Key="mp.bin")["ETag"] == clients[0].head_object(Bucket="commits", Key="mp.bin")["ETag"]
        cli(gateway, "fs", "unmount", "/commits")
    finally:
        other.stop()


def test_a_silent_upstream_times_out_with_503(gateway):
    """A server that accepts connections and never answers: the mount's `timeout` bounds the wait."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        opts = ["-o", f"endpoint={url}", "-o", "access_key_id=k", "-o", "secret_access_key=s", "-o", "retries=0",
                "-o", "timeout=2s", "-o", "connect_timeout=2s"]
        r = cli(gateway, "fs", "mount", "--no-check", *opts, "/silent", "s3://silent")
        assert r.returncode == 0, r.stderr
        s3 = gateway.client()
        start = time.time()
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket="silent", Key="k")
        took = time.time() - start
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert took < 15, f"took {took:.1f} s with a 2 s timeout"
        cli(gateway, "fs", "unmount", "/silent")
    finally:
        stop.set()
        t.join(timeout=5)
        for c in held:
            c.close()
        listener.close()


def test_a_throttling_upstream_is_slow_down(gateway):
    """An upstream still throttling past the mount's retries: 429 (as GCS sends), or S3's
    503 with a SlowDown body, gives the client SlowDown (a 503 without a body, which a HEAD
    gets, stays ServiceUnavailable: nothing says it is throttling)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Throttle(BaseHTTPRequestHandler):
        def do_HEAD(self):
            self.send_response(429)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            body = b'<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>'
            self.send_response(503)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Throttle)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        opts = ["-o", f"endpoint={url}", "-o", "access_key_id=k", "-o", "secret_access_key=s", "-o", "retries=0"]
        r = cli(gateway, "fs", "mount", "--no-check", *opts, "/busy", "s3://busy")
        assert r.returncode == 0, r.stderr
        s3 = gateway.client()
        for call in [lambda: s3.get_object(Bucket="busy", Key="k"), lambda: s3.list_objects_v2(Bucket="busy")]:
            with pytest.raises(ClientError) as e:
                call()
            assert e.value.response["Error"]["Code"] == "SlowDown"
            assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        cli(gateway, "fs", "unmount", "/busy")
    finally:
        server.shutdown()
        t.join(timeout=5)


def test_a_mount_saved_under_object_store_option_names_is_served_after_a_restart(moto):
    """Mounts made before S3 moved to the AWS SDK saved object_store's canonical names
    (`aws_endpoint`, `aws_allow_http`, `aws_virtual_hosted_style_request`, ...): the new
    client reads them, across a restart, without a remount."""
    from conftest import Gateway

    up = upstream(moto)
    up.create_bucket(Bucket="saved-opts")
    up.put_object(Bucket="saved-opts", Key="old/part-0", Body=b"written before")
    gw = Gateway()
    try:
        opts = ["-o", f"aws_endpoint={moto}", "-o", "aws_access_key_id=testing", "-o", "aws_secret_access_key=testing",
                "-o", "aws_allow_http=true", "-o", "aws_virtual_hosted_style_request=false",
                "-o", "aws_imdsv1_fallback=false", "-o", "aws_region=us-east-1"]
        r = cli(gw, "fs", "mount", *opts, "/saved", "s3://saved-opts")
        assert r.returncode == 0, r.stderr
        gw.restart()
        s3 = gw.client()
        assert s3.get_object(Bucket="saved", Key="old/part-0")["Body"].read() == b"written before"
        s3.put_object(Bucket="saved", Key="new", Body=b"after")
        assert up.get_object(Bucket="saved-opts", Key="new")["Body"].read() == b"after"
        r = cli(gw, "fs", "list")
        assert "aws_virtual_hosted_style_request=false" in r.stdout and "aws_secret_access_key=****" in r.stdout, r.stdout
    finally:
        gw.stop()
