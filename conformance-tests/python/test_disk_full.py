"""The data dir's filesystem full (a tmpfs of 24 MiB the test mounts, as root): writes fail
with 507 InsufficientStorage, a clear code, not a 500; reads go on; nothing written
before is damaged; and once space is freed the node takes writes again, and restarts on
its data dir as it was."""

import os
import shutil
import subprocess
import tempfile

import pytest
from botocore.exceptions import ClientError

from conftest import Gateway

MIB = 1024 * 1024

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture
def small_fs():
    path = tempfile.mkdtemp(prefix="arustio-fullfs-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", path], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", path], check=False)
        shutil.rmtree(path, ignore_errors=True)


def fill(s3, bucket, prefix):
    """PUTs 4 MiB objects until one fails; the keys stored and the error."""
    stored = []
    for i in range(20):
        key = f"{prefix}{i}"
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=os.urandom(4 * MIB))
            stored.append(key)
        except ClientError as e:
            return stored, e
    raise AssertionError("24 MiB held 80 MiB")


def test_a_full_data_dir_refuses_writes_clearly_and_recovers(small_fs):
    data = os.path.join(small_fs, "data")
    os.makedirs(data)
    gw = Gateway(data_dir=data)
    try:
        s3 = gw.client()
        s3.create_bucket(Bucket="b")
        keep = os.urandom(100 * 1024)
        s3.put_object(Bucket="b", Key="keep", Body=keep)
        stored, e = fill(s3, "b", "big-")
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 507, e.response
        assert e.response["Error"]["Code"] == "InsufficientStorage"
        # A multipart part, staged on the same disk, is refused the same way.
        up = s3.create_multipart_upload(Bucket="b", Key="mp")["UploadId"]
        with pytest.raises(ClientError) as part:
            s3.upload_part(Bucket="b", Key="mp", UploadId=up, PartNumber=1, Body=os.urandom(8 * MIB))
        assert part.value.response["ResponseMetadata"]["HTTPStatusCode"] == 507
        s3.abort_multipart_upload(Bucket="b", Key="mp", UploadId=up)
        # Reads go on, and nothing written before is damaged or half there.
        assert s3.get_object(Bucket="b", Key="keep")["Body"].read() == keep
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket="b")["Contents"]]
        assert listed == sorted(["keep", *stored]), "the refused PUT left nothing"
        for key in stored:
            assert len(s3.get_object(Bucket="b", Key=key)["Body"].read()) == 4 * MIB
        # Space back: writes work again.
        for key in stored:
            s3.delete_object(Bucket="b", Key=key)
        s3.put_object(Bucket="b", Key="after", Body=b"room again")
        assert s3.get_object(Bucket="b", Key="after")["Body"].read() == b"room again"
        # The node's own state survived the full disk: it restarts as it was.
        gw.restart()
        assert s3.get_object(Bucket="b", Key="keep")["Body"].read() == keep
        assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket="b")["Contents"]) == ["after", "keep"]
    finally:
        gw.stop()
