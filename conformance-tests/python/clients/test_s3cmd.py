"""s3cmd through the gateway: put, get, ls, del and sync. s3cmd lists with ListObjects v1
(markers, never list-type=2), so this is also the v1 test of a real client."""

import filecmp
import os
import subprocess
import sys

import pytest

from matrix import matrix  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def s3cmd(matrix, tmp_path_factory):  # noqa: F811
    gw = matrix.gw
    cfg = tmp_path_factory.mktemp("s3cmd") / "s3cfg"
    host = gw.endpoint.split("://", 1)[1]
    cfg.write_text(f"[default]\naccess_key = {gw.access_key}\nsecret_key = {gw.secret_key}\nhost_base = {host}\n"
                   f"host_bucket = {host}\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n")
    exe = os.path.join(os.path.dirname(sys.executable), "s3cmd")

    def run(*args):
        r = subprocess.run([exe, "-c", str(cfg), "--max-retries=1", *args], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"s3cmd {' '.join(args)}: {r.stdout} {r.stderr}"
        assert "WARNING" not in r.stderr and "ERROR" not in r.stderr, r.stderr
        return r.stdout

    return run


def test_s3cmd_put_get_ls_del_sync(s3cmd, matrix, tmp_path):  # noqa: F811
    src, get, back = tmp_path / "src", tmp_path / "get", tmp_path / "back"
    for d in (src / "a" / "b", src / "sp ace", get, back):
        d.mkdir(parents=True)
    for name, data in {"1.txt": b"one", "a/2.txt": b"two", "a/b/3.txt": b"three", "sp ace/\u00e9+&.txt": b"x"}.items():
        (src / name).write_bytes(data)
    big = os.urandom(12 * 1024 * 1024)
    (tmp_path / "big.bin").write_bytes(big)
    s3cmd("mb", "s3://s3cmdb")
    assert "s3://s3cmdb" in s3cmd("ls")
    s3cmd("put", str(src / "1.txt"), "s3://s3cmdb/one.txt")
    s3cmd("put", "--multipart-chunk-size-mb=5", str(tmp_path / "big.bin"), "s3://s3cmdb/big.bin")
    listing = s3cmd("ls", "--list-md5", "s3://s3cmdb")
    assert "f97c5d29941bfb1b2fdab0874906ab82" in listing and "s3://s3cmdb/big.bin" in listing
    s3cmd("get", "s3://s3cmdb/big.bin", str(get / "big.bin"))
    assert (get / "big.bin").read_bytes() == big
    info = s3cmd("info", "s3://s3cmdb/one.txt")
    assert "MD5 sum:   f97c5d29941bfb1b2fdab0874906ab82" in info
    s3cmd("sync", f"{src}/", "s3://s3cmdb/tree/")
    assert "upload:" not in s3cmd("sync", f"{src}/", "s3://s3cmdb/tree/"), "a re-sync uploads nothing"
    assert len(s3cmd("ls", "-r", "s3://s3cmdb/tree/").splitlines()) == 4
    s3cmd("sync", "s3://s3cmdb/tree/", f"{back}/")
    cmp = filecmp.dircmp(src, back)
    assert not cmp.left_only and not cmp.right_only and not cmp.diff_files
    s3cmd("cp", "s3://s3cmdb/one.txt", "s3://s3cmdb/copy.txt")
    s3cmd("del", "s3://s3cmdb/copy.txt")
    s3cmd("del", "--recursive", "--force", "s3://s3cmdb/tree/")
    s3cmd("del", "s3://s3cmdb/one.txt", "s3://s3cmdb/big.bin")
    assert s3cmd("ls", "-r", "s3://s3cmdb").strip() == ""
    s3cmd("rb", "s3://s3cmdb")


def test_s3cmd_pages_past_1000_keys_and_prefixes(s3cmd, matrix):  # noqa: F811
    from concurrent.futures import ThreadPoolExecutor

    s3 = matrix.s3
    s3.create_bucket(Bucket="s3cmdpages")
    names = [f"k/{i:04d}" for i in range(1003)] + [f"d/{i:04d}/x" for i in range(1002)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket="s3cmdpages", Key=k, Body=b"v"), names))
    assert len(s3cmd("ls", "-r", "s3://s3cmdpages/k/").splitlines()) == 1003
    dirs = s3cmd("ls", "s3://s3cmdpages/d/").splitlines()
    assert len(dirs) == 1002 and all(line.strip().startswith("DIR") for line in dirs)
    assert len(s3cmd("ls", "-r", "s3://s3cmdpages").splitlines()) == 2005
