"""The aws CLI (v1) against the gateway: the Must-show session and more."""

import filecmp
import os
import subprocess
import uuid

import requests


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
    assert requests.get(url).text == "presigned body"


def test_s3api_errors_exit_nonzero(gateway):
    r = aws(gateway, "s3api", "head-bucket", "--bucket", "does-not-exist", check=False)
    assert r.returncode != 0 and "404" in r.stderr
