"""Keys that object_store cannot represent (`data//x`, `a/../b`), written into Azure and GCS
buckets by other tools: the mount check and every listing name the key and the reason in
one line, instead of 'does not answer' and a 503 after retries. (S3 mounts list them as they
are, on the SDK client: test_s3_native.py.)"""

import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import cli, stop_server
from upstreams import (AZURE_ACCOUNT, AZURE_KEY, azure_container, gcs_key_json, gcs_make_bucket, gcs_seed,
                       start_azurite, start_fake_gcs)

ODD = {"azure": "data//part-0.parquet", "gcs": "a/../b"}


@pytest.fixture(scope="module")
def azure():
    proc, url = start_azurite()
    c = azure_container(url, "odd-" + uuid.uuid4().hex[:6])
    for k in ["ok1", ODD["azure"], "ok2"]:
        c.upload_blob(k, b"v")
    yield ["-o", f"endpoint={url}", "-o", f"account={AZURE_ACCOUNT}", "-o", f"access_key={AZURE_KEY}",
           f"az://{c.container_name}"]
    stop_server(proc)


@pytest.fixture(scope="module")
def gcs():
    proc, url = start_fake_gcs()
    bucket = "odd-" + uuid.uuid4().hex[:6]
    gcs_make_bucket(url, bucket)
    for k in ["ok1", ODD["gcs"], "ok2"]:
        gcs_seed(url, bucket, k, b"v")
    yield ["-o", f"service_account_key={gcs_key_json(url)}", f"gs://{bucket}"]
    stop_server(proc)


@pytest.mark.parametrize("kind", ["azure", "gcs"])
def test_an_odd_foreign_key_is_named_by_the_mount_check_and_the_listing(request, gateway, kind):
    gw = gateway
    args = request.getfixturevalue(kind)
    odd = ODD[kind]
    path = f"/odd{kind}"
    r = cli(gw, "fs", "mount", *args[:-1], path, args[-1])
    assert r.returncode != 0
    line = r.stderr.strip()
    assert len(line.splitlines()) == 1 and odd in line and "cannot be listed" in line, line
    assert "does not answer" not in line, line
    r = cli(gw, "fs", "mount", "--no-check", *args[:-1], path, args[-1])
    assert r.returncode == 0, r.stderr
    try:
        with pytest.raises(ClientError) as e:
            gw.client().list_objects_v2(Bucket=path[1:])
        err = e.value.response["Error"]
        assert err["Code"] == "InternalError" and odd in err["Message"], err
        assert len(err["Message"].splitlines()) == 1
    finally:
        cli(gw, "fs", "unmount", path)
