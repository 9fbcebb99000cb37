"""What the client tests share: a gateway of their own with a bucket on its root (local)
store, and, for the tests that need one, a bucket mounted from a MinIO upstream."""

import shutil

import pytest

import upstreams
from conftest import Gateway, cli, stop_server


class Matrix:
    def __init__(self):
        self.gw = Gateway()
        self.s3 = self.gw.client()
        self.bucket = "local"
        self.s3.create_bucket(Bucket=self.bucket)
        self.upstream = None

    def mount_minio(self):
        """Mounts bucket `lake` of a fresh MinIO at /s3up (under prefix `warehouse`)."""
        self.minio, url, self.minio_data = upstreams.start_minio()
        self.upstream = upstreams.s3_client(url, upstreams.MINIO_USER, upstreams.MINIO_PASSWORD)
        self.upstream.create_bucket(Bucket="lake")
        r = cli(self.gw, "fs", "mount", "-o", f"endpoint={url}", "-o", f"access_key_id={upstreams.MINIO_USER}",
                "-o", f"secret_access_key={upstreams.MINIO_PASSWORD}", "/s3up", "s3://lake/warehouse")
        assert r.returncode == 0, r.stderr

    def upstream_keys(self, prefix):
        pages = self.upstream.get_paginator("list_objects_v2").paginate(Bucket="lake", Prefix=f"warehouse/{prefix}")
        return [o["Key"][len("warehouse/"):] for p in pages for o in p.get("Contents", [])]

    def keys(self, bucket, prefix=""):
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [o["Key"] for p in pages for o in p.get("Contents", [])]

    def close(self):
        self.gw.stop()
        if self.upstream is not None:
            stop_server(self.minio)
            shutil.rmtree(self.minio_data, ignore_errors=True)


@pytest.fixture(scope="module")
def matrix():
    m = Matrix()
    yield m
    m.close()


@pytest.fixture(scope="module")
def matrix_with_s3():
    m = Matrix()
    m.mount_minio()
    yield m
    m.close()
