"""An Azure Blob mount backed by Azurite (npm, pinned 3.35.0), started here on a free port."""

import hashlib
import io
import os

import pytest
from botocore.exceptions import ClientError

from conftest import cli, stop_server
from upstreams import AZURE_ACCOUNT as ACCOUNT
from upstreams import AZURE_KEY as KEY
from upstreams import azure_container as container
from upstreams import start_azurite

@pytest.fixture(scope="module")
def azurite():
    proc, url = start_azurite()
    yield url
    stop_server(proc)


def test_azure_mount_end_to_end(gateway, azurite):
    c = container(azurite, "lake")
    c.upload_blob("base/seeded.txt", b"written into azurite directly")
    env = {"AZURE_STORAGE_ACCOUNT": ACCOUNT, "AZURE_STORAGE_KEY": KEY}
    r = cli(gateway, "fs", "mount", "-o", f"endpoint={azurite}", "/azdata", "az://lake/base", env=env)
    assert r.returncode == 0, r.stderr
    assert "access_key: from $AZURE_STORAGE_KEY" in r.stdout
    listed = cli(gateway, "fs", "list").stdout
    assert "azure_storage_account_key=****" in listed and KEY not in listed

    s3 = gateway.client()
    assert s3.get_object(Bucket="azdata", Key="seeded.txt")["Body"].read() == b"written into azurite directly"
    data = os.urandom(10 * 1024 * 1024 + 17)
    s3.put_object(Bucket="azdata", Key="dir/big.bin", Body=data, ContentType="application/x-test")
    direct = c.download_blob("base/dir/big.bin").readall()
    assert hashlib.sha256(direct).digest() == hashlib.sha256(data).digest()
    head = s3.head_object(Bucket="azdata", Key="dir/big.bin")
    assert head["ETag"] == '"%s"' % hashlib.md5(data).hexdigest() and head["ContentType"] == "application/x-test"
    assert s3.get_object(Bucket="azdata", Key="dir/big.bin", Range="bytes=5-9")["Body"].read() == data[5:10]

    from boto3.s3.transfer import TransferConfig

    s3.upload_fileobj(io.BytesIO(data), "azdata", "mp.bin", Config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
    assert s3.head_object(Bucket="azdata", Key="mp.bin")["ETag"].endswith('-3"')
    assert c.download_blob("base/mp.bin").readall() == data

    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="azdata")["Contents"]]
    assert keys == ["dir/big.bin", "mp.bin", "seeded.txt"]
    s3.copy_object(Bucket="azdata", Key="dir/copy.bin", CopySource="azdata/mp.bin")
    assert c.download_blob("base/dir/copy.bin").readall() == data

    s3.delete_object(Bucket="azdata", Key="dir/copy.bin")
    s3.delete_object(Bucket="azdata", Key="never-existed")  # a missing blob is 204, as S3
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket="azdata", Key="dir/copy.bin")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert cli(gateway, "fs", "unmount", "/azdata").returncode == 0


def test_azure_mount_is_checked(gateway, azurite):
    r = cli(gateway, "fs", "mount", "-o", f"endpoint={azurite}", "-o", f"account={ACCOUNT}", "-o", f"access_key={KEY}",
            "/nocontainer", "az://missing")
    assert r.returncode != 0 and "az://missing" in r.stderr and KEY not in r.stderr
