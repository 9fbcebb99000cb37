"""s3fs/fsspec through the gateway: ls, find, glob, open with seek, write, rm -r."""

import pytest
import s3fs

from matrix import matrix  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def fs(matrix):  # noqa: F811
    gw = matrix.gw
    return s3fs.S3FileSystem(key=gw.access_key, secret=gw.secret_key, endpoint_url=gw.endpoint,
                             client_kwargs={"region_name": "us-east-1"},
                             config_kwargs={"s3": {"addressing_style": "path"}}, use_listings_cache=False)


def test_s3fs_tree(fs, matrix):  # noqa: F811
    b = matrix.bucket + "/fsspec"
    for p in ["a/1.txt", "a/2.txt", "a/b/3.txt", "a/b/c/4.csv", "top.txt"]:
        fs.pipe(f"{b}/{p}", p.encode() * 10)
    assert sorted(fs.ls(f"{b}/a")) == [f"{b}/a/1.txt", f"{b}/a/2.txt", f"{b}/a/b"]
    assert {x["type"] for x in fs.ls(f"{b}/a", detail=True)} == {"file", "directory"}
    assert fs.find(f"{b}/a") == [f"{b}/a/1.txt", f"{b}/a/2.txt", f"{b}/a/b/3.txt", f"{b}/a/b/c/4.csv"]
    assert fs.glob(f"{b}/a/**/*.csv") == [f"{b}/a/b/c/4.csv"]
    assert fs.glob(f"{b}/a/*.txt") == [f"{b}/a/1.txt", f"{b}/a/2.txt"]
    assert fs.isdir(f"{b}/a/b") and fs.isfile(f"{b}/a/1.txt") and not fs.exists(f"{b}/nope")
    assert fs.info(f"{b}/a/1.txt")["size"] == 70
    assert fs.cat_file(f"{b}/a/1.txt", start=3, end=8) == (b"a/1.txt" * 10)[3:8]
    fs.cp(f"{b}/a", f"{b}/copy", recursive=True)
    assert len(fs.find(f"{b}/copy")) == 4
    fs.mv(f"{b}/top.txt", f"{b}/moved.txt")
    assert not fs.exists(f"{b}/top.txt") and fs.cat(f"{b}/moved.txt") == b"top.txt" * 10
    fs.touch(f"{b}/empty")
    assert fs.size(f"{b}/empty") == 0
    fs.rm(f"{b}/a", recursive=True)
    assert not fs.exists(f"{b}/a")
    fs.rm(f"{b}/copy", recursive=True)
    assert sorted(fs.find(b)) == [f"{b}/empty", f"{b}/moved.txt"]


def test_s3fs_write_and_seek(fs, matrix):  # noqa: F811
    path = f"{matrix.bucket}/fsspec/big.bin"
    with fs.open(path, "wb", block_size=5 * 2**20) as f:  # over one block: a multipart upload
        for i in range(12):
            f.write(bytes([i]) * 2**20)
    assert fs.info(path)["ETag"].endswith('-3"')
    with fs.open(path, "rb", block_size=2**20) as f:
        f.seek(7 * 2**20 + 5)
        assert f.read(3) == b"\x07\x07\x07"
        f.seek(-1, 2)
        assert f.read() == b"\x0b"
        f.seek(2**20 - 1)
        assert f.read(2) == b"\x00\x01"
