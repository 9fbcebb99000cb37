"""Paths and inputs an attacker controls: listings and reads never leave a local mount's
root, odd ranges and keys are S3 errors (never a 500 or a panic), and error messages
name no host paths or upstream stores."""

import os
import shutil
import tempfile
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import cli


@pytest.fixture(scope="module")
def lake(gateway):
    """A local mount at /data/lake (bucket `data`), and a directory outside it."""
    base = tempfile.mkdtemp(prefix="arustio-sec-")
    root, outside = os.path.join(base, "lake"), os.path.join(base, "outside")
    os.makedirs(os.path.join(root, "dir"))
    os.makedirs(outside)
    with open(os.path.join(root, "dir", "inside.txt"), "w") as f:
        f.write("inside")
    with open(os.path.join(outside, "secret.txt"), "w") as f:
        f.write("secret")
    os.symlink(outside, os.path.join(root, "out"))
    os.symlink(os.path.join(outside, "secret.txt"), os.path.join(root, "outfile"))
    os.symlink(root, os.path.join(root, "dir", "loop"))
    os.symlink(os.path.join(root, "dir", "inside.txt"), os.path.join(root, "alias.txt"))
    r = cli(gateway, "fs", "mount", "/data/lake", f"local://{root}")
    assert r.returncode == 0, r.stderr
    yield root, outside
    cli(gateway, "fs", "unmount", "/data/lake")
    shutil.rmtree(base, ignore_errors=True)


def keys(s3, prefix, **kw):
    out, token = [], None
    for _ in range(50):
        args = dict(Bucket="data", Prefix=prefix, **kw)
        if token:
            args["ContinuationToken"] = token
        page = s3.list_objects_v2(**args)
        out += [o["Key"] for o in page.get("Contents", [])] + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        token = page.get("NextContinuationToken")
        if not token:
            return out
    raise AssertionError("listing did not end")


@pytest.mark.parametrize("prefix", ["lake//etc/", "lake//", "lake/./", "lake/../", "lake/dir//", "lake/../../etc/"])
def test_listing_with_a_prefix_no_key_can_have_lists_nothing(s3, lake, prefix):
    assert keys(s3, prefix) == []
    assert keys(s3, prefix, Delimiter="/") == []


def test_listing_never_follows_symlinks_out_of_the_root_or_round_a_loop(s3, lake):
    listed = keys(s3, "lake/")
    assert "lake/dir/inside.txt" in listed
    assert "lake/alias.txt" in listed, "a link to a file inside the root is an object"
    assert not any(k.startswith("lake/out") for k in listed), listed
    assert not any("loop" in k for k in listed), listed
    assert keys(s3, "lake/out/") == []
    # Named explicitly, the link leads inside the root: its tree is listed once, not again
    # through the link inside it.
    assert keys(s3, "lake/dir/loop/") == ["lake/dir/loop/alias.txt", "lake/dir/loop/dir/inside.txt"]


def test_reads_and_writes_never_follow_symlinks_out_of_the_root(s3, lake):
    root, outside = lake
    assert s3.get_object(Bucket="data", Key="lake/alias.txt")["Body"].read() == b"inside"
    for key in ["lake/out/secret.txt", "lake/outfile"]:
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket="data", Key=key)
        assert e.value.response["Error"]["Code"] == "NoSuchKey", key
        with pytest.raises(ClientError) as e:
            s3.head_object(Bucket="data", Key=key)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket="data", Key="lake/out/planted.txt", Body=b"x")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403)
    assert not os.path.exists(os.path.join(outside, "planted.txt"))
    s3.delete_object(Bucket="data", Key="lake/out/secret.txt")
    assert os.path.exists(os.path.join(outside, "secret.txt")), "a delete through a link must not reach outside"


def test_a_child_of_a_file_is_missing_not_an_internal_error(s3, lake):
    s3.put_object(Bucket="data", Key="lake/plain", Body=b"file")
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket="data", Key="lake/plain/child")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="data", Key="lake/plain/child")
    assert e.value.response["Error"]["Code"] == "NoSuchKey"
    r = s3.delete_object(Bucket="data", Key="lake/plain/child")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204


@pytest.mark.parametrize("rng", ["bytes=-1", "bytes=0-", "bytes=0-0", "bytes=-0"])
def test_any_range_of_an_empty_object_is_416(s3, bucket, rng):
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="empty", Range=rng)
    assert e.value.response["Error"]["Code"] == "InvalidRange", rng
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416


def test_error_messages_name_no_host_paths(gateway, s3, lake):
    root, _ = lake
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket="data", Key="lake/reserved#12", Body=b"x")
    assert e.value.response["Error"]["Code"] == "InvalidArgument"
    msg = e.value.response["Error"]["Message"]
    assert root not in msg and "local://" not in msg, msg
    s3.put_object(Bucket="data", Key="lake/f", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket="data", Key="lake/f/g", Body=b"x")
    msg = e.value.response["Error"]["Message"]
    assert root not in msg and "local://" not in msg, msg
    with open(gateway.log.name, "rb") as f:
        assert f.read(), "the detail goes to the log"



def test_a_mount_may_not_expose_the_nodes_own_state(gateway):
    data = os.path.realpath(gateway.data_dir)
    for root in [data, os.path.join(data, "meta"), os.path.dirname(data), "/"]:
        r = cli(gateway, "fs", "mount", f"/exposed-{uuid.uuid4().hex[:6]}", f"local://{root}")
        assert r.returncode != 0, root
        assert "holds this node's state" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    s3 = gateway.client()
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert not any(n.startswith("exposed-") for n in names), names


def test_a_file_dated_far_ahead_is_listed_and_read_not_a_panic(gateway, s3, lake):
    # Asks for 10000-01-02; ext4 stores at most 2446, other filesystems keep it (the
    # clamp to 9999-12-31 is the gateway unit test dates_past_year_9999_are_clamped).
    root, _ = lake
    path = os.path.join(root, "future.txt")
    with open(path, "w") as f:
        f.write("from the future")
    os.utime(path, (253402300800 + 86400, 253402300800 + 86400))
    assert s3.get_object(Bucket="data", Key="lake/future.txt")["Body"].read() == b"from the future"
    assert s3.head_object(Bucket="data", Key="lake/future.txt")["ContentLength"] == 15
    assert "lake/future.txt" in keys(s3, "lake/")
    assert gateway.proc.poll() is None


def test_a_huge_multipart_expiry_is_not_a_panic():
    from conftest import Gateway

    gw = Gateway(extra_env={"ARUSTIO_MULTIPART_EXPIRY_SECS": str(2**64 - 1)})
    try:
        s3 = gw.client()
        s3.create_bucket(Bucket="b")
        up = s3.create_multipart_upload(Bucket="b", Key="k")
        assert s3.list_multipart_uploads(Bucket="b")["Uploads"][0]["UploadId"] == up["UploadId"]
        assert gw.proc.poll() is None
        gw.log.flush()
        with open(gw.log.name, "rb") as f:
            assert b"panicked" not in f.read(), "the upload sweeper panicked"
    finally:
        gw.stop()
