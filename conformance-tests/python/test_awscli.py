"""The aws CLI (v1) against the gateway: the Must-show session and more."""

import filecmp
import os
import subprocess
import uuid

import json


def aws(gateway, *args, check=True):
    cmd = ["aws", "--endpoint-url", gateway.endpoint, *args]
    r = subprocess.run(cmd, env=gateway.env(), capture_output=True, text=True, timeout=300)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed: {r.stderr}")
    return r


def test_cli_session_mb_cp_sync_ls_rm(gateway, tmp_path):
    b = "b"  # the issue's own session; one-letter names are accepted
    aws(gateway, "s3", "mb", f"s3://{b}")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(40 * 1024 * 1024))
    aws(gateway, "s3", "cp", str(big), f"s3://{b}/big.bin")
    back = tmp_path / "back.bin"
    aws(gateway, "s3", "cp", f"s3://{b}/big.bin", str(back))
    assert filecmp.cmp(big, back, shallow=False)
    tree = tmp_path / "tree"
    for rel in ["a.txt", "sub/b.txt", "sub/deeper/c d.txt", "ü/ñ.txt"]:
        p = tree / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(rel)
    aws(gateway, "s3", "sync", str(tree), f"s3://{b}/tree")
    again = aws(gateway, "s3", "sync", str(tree), f"s3://{b}/tree")
    assert again.stdout.strip() == "", "a re-sync transfers nothing"
    ls = aws(gateway, "s3", "ls", "--recursive", f"s3://{b}").stdout
    for rel in ["big.bin", "tree/a.txt", "tree/sub/b.txt", "tree/sub/deeper/c d.txt", "tree/ü/ñ.txt"]:
        assert rel in ls, rel
    down = tmp_path / "down"
    aws(gateway, "s3", "sync", f"s3://{b}/tree", str(down))
    assert (down / "sub/deeper/c d.txt").read_text() == "sub/deeper/c d.txt"
    aws(gateway, "s3", "rm", "--recursive", f"s3://{b}")
    assert aws(gateway, "s3", "ls", "--recursive", f"s3://{b}").stdout.strip() == ""
    aws(gateway, "s3", "rb", f"s3://{b}")
    assert b not in aws(gateway, "s3", "ls").stdout


def test_presign_fetched_with_http(gateway, tmp_path):
    b = "pre-" + uuid.uuid4().hex[:8]
    aws(gateway, "s3", "mb", f"s3://{b}")
    f = tmp_path / "p.txt"
    f.write_text("presigned body")
    aws(gateway, "s3", "cp", str(f), f"s3://{b}/p.txt")
    url = aws(gateway, "s3", "presign", f"s3://{b}/p.txt").stdout.strip()
    got = subprocess.run(["curl", "-sS", "--fail", url], capture_output=True, timeout=60)
    assert got.returncode == 0 and got.stdout == b"presigned body", got.stderr
    tampered = url.replace("p.txt", "q.txt")
    got = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", tampered], capture_output=True, text=True, timeout=60)
    assert got.stdout == "403"


def test_s3api_errors_exit_nonzero(gateway):
    r = aws(gateway, "s3api", "head-bucket", "--bucket", "does-not-exist", check=False)
    assert r.returncode != 0 and "404" in r.stderr


def test_s3api_covers_every_supported_operation(gateway, tmp_path):
    """One `aws s3api` call per S3 operation the gateway serves."""
    def api(*args):
        out = aws(gateway, "s3api", *args, "--output", "json").stdout
        return json.loads(out) if out.strip() else {}

    b = "api-" + uuid.uuid4().hex[:8]
    body = tmp_path / "body"
    body.write_bytes(b"x" * (5 * 1024 * 1024))
    api("create-bucket", "--bucket", b)
    assert b in [x["Name"] for x in api("list-buckets")["Buckets"]]
    api("head-bucket", "--bucket", b)
    api("get-bucket-location", "--bucket", b)
    assert "Status" not in api("get-bucket-versioning", "--bucket", b)
    assert api("get-bucket-acl", "--bucket", b)["Grants"][0]["Permission"] == "FULL_CONTROL"
    put = api("put-object", "--bucket", b, "--key", "k", "--body", str(body), "--content-type", "text/x-k", "--metadata", "a=1")
    head = api("head-object", "--bucket", b, "--key", "k")
    assert head["ETag"] == put["ETag"] and head["ContentType"] == "text/x-k" and head["Metadata"] == {"a": "1"}
    got = api("get-object", "--bucket", b, "--key", "k", "--range", "bytes=0-9", str(tmp_path / "out"))
    assert got["ContentLength"] == 10 and (tmp_path / "out").read_bytes() == b"x" * 10
    assert api("get-object-acl", "--bucket", b, "--key", "k")["Owner"]["ID"] == "root"
    assert api("get-object-tagging", "--bucket", b, "--key", "k")["TagSet"] == []
    api("copy-object", "--bucket", b, "--key", "k2", "--copy-source", f"{b}/k")
    assert [o["Key"] for o in api("list-objects", "--bucket", b)["Contents"]] == ["k", "k2"]
    assert [o["Key"] for o in api("list-objects-v2", "--bucket", b, "--prefix", "k2")["Contents"]] == ["k2"]
    up = api("create-multipart-upload", "--bucket", b, "--key", "mp")["UploadId"]
    assert [u["UploadId"] for u in api("list-multipart-uploads", "--bucket", b)["Uploads"]] == [up]
    p1 = api("upload-part", "--bucket", b, "--key", "mp", "--upload-id", up, "--part-number", "1", "--body", str(body))["ETag"]
    p2 = api("upload-part-copy", "--bucket", b, "--key", "mp", "--upload-id", up, "--part-number", "2",
             "--copy-source", f"{b}/k", "--copy-source-range", "bytes=0-99")["CopyPartResult"]["ETag"]
    assert [p["PartNumber"] for p in api("list-parts", "--bucket", b, "--key", "mp", "--upload-id", up)["Parts"]] == [1, 2]
    parts = json.dumps({"Parts": [{"PartNumber": 1, "ETag": p1}, {"PartNumber": 2, "ETag": p2}]})
    done = api("complete-multipart-upload", "--bucket", b, "--key", "mp", "--upload-id", up, "--multipart-upload", parts)
    assert done["ETag"].endswith('-2"')
    gone = api("create-multipart-upload", "--bucket", b, "--key", "gone")["UploadId"]
    api("abort-multipart-upload", "--bucket", b, "--key", "gone", "--upload-id", gone)
    r = aws(gateway, "s3api", "get-bucket-policy", "--bucket", b, check=False)
    assert r.returncode != 0 and "NoSuchBucketPolicy" in r.stderr
    deleted = api("delete-objects", "--bucket", b, "--delete", json.dumps({"Objects": [{"Key": "k"}, {"Key": "k2"}]}))
    assert sorted(d["Key"] for d in deleted["Deleted"]) == ["k", "k2"]
    api("delete-object", "--bucket", b, "--key", "mp")
    api("delete-bucket", "--bucket", b)
    r = aws(gateway, "s3api", "head-bucket", "--bucket", b, check=False)
    assert r.returncode != 0 and "404" in r.stderr
