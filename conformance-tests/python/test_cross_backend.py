"""One gateway over S3 (moto), Azure (Azurite) and GCS (fake-gcs-server) mounts, at the top
level and at nested paths: copies across the stores through the gateway with boto3 and the
aws CLI, with the bytes checked directly in each upstream."""

import os
import subprocess
import uuid

from conftest import cli, stop_server
from upstreams import AZURE_ACCOUNT as ACCOUNT
from upstreams import AZURE_KEY as KEY
from upstreams import azure_container as container
from upstreams import gcs_key_json as key_json
from upstreams import gcs_make_bucket as make_bucket
from upstreams import gcs_seed as seed
from upstreams import s3_client as upstream
from upstreams import start_azurite, start_fake_gcs, start_moto


def test_copies_across_three_clouds(gateway, tmp_path):
    procs, urls = [], []
    try:
        for start in (start_moto, start_azurite, start_fake_gcs):
            proc, url = start()
            procs.append(proc)
            urls.append(url)
        moto, az, gcs = urls

        up = upstream(moto)
        up.create_bucket(Bucket="cross")
        cont = container(az, "cross")
        make_bucket(gcs, "cross")
        payload = os.urandom(2 * 1024 * 1024 + 3)
        seed(gcs, "cross", "origin.bin", payload)

        s3_opts = ["-o", f"endpoint={moto}", "-o", "access_key_id=testing", "-o", "secret_access_key=testing"]
        az_opts = ["-o", f"endpoint={az}", "-o", f"account={ACCOUNT}", "-o", f"access_key={KEY}"]
        gcs_opts = ["-o", f"service_account_key={key_json(gcs)}"]
        for args in [(*s3_opts, "/s3data", "s3://cross/top"), (*az_opts, "/azdata", "az://cross/top"),
                     (*gcs_opts, "/gcsdata", "gs://cross"), (*s3_opts, "/nested/deep/s3", "s3://cross/nested"),
                     (*az_opts, "/nested/az", "az://cross/nested")]:
            r = cli(gateway, "fs", "mount", *args)
            assert r.returncode == 0, r.stderr

        s3 = gateway.client()
        # GCS (read) -> S3 -> Azure -> nested S3 -> nested Azure, each a CopyObject through the gateway.
        s3.copy_object(Bucket="s3data", Key="from-gcs.bin", CopySource="gcsdata/origin.bin")
        s3.copy_object(Bucket="azdata", Key="from-s3.bin", CopySource="s3data/from-gcs.bin")
        s3.copy_object(Bucket="nested", Key="deep/s3/from-az.bin", CopySource="azdata/from-s3.bin")
        s3.copy_object(Bucket="nested", Key="az/from-nested-s3.bin", CopySource="nested/deep/s3/from-az.bin")
        assert up.get_object(Bucket="cross", Key="top/from-gcs.bin")["Body"].read() == payload
        assert cont.download_blob("top/from-s3.bin").readall() == payload
        assert up.get_object(Bucket="cross", Key="nested/from-az.bin")["Body"].read() == payload
        assert cont.download_blob("nested/from-nested-s3.bin").readall() == payload

        # The aws CLI sees the nested mounts inside bucket `nested`, and copies between clouds.
        env = gateway.env()
        ls = subprocess.run(["aws", "--endpoint-url", gateway.endpoint, "s3", "ls", "--recursive", "s3://nested"],
                            env=env, capture_output=True, text=True, timeout=120)
        assert ls.returncode == 0, ls.stderr
        assert "az/from-nested-s3.bin" in ls.stdout and "deep/s3/from-az.bin" in ls.stdout
        name = f"cli-{uuid.uuid4().hex[:6]}.bin"
        cp = subprocess.run(["aws", "--endpoint-url", gateway.endpoint, "s3", "cp", "s3://azdata/from-s3.bin", f"s3://s3data/{name}"],
                            env=env, capture_output=True, text=True, timeout=120)
        assert cp.returncode == 0, cp.stderr
        assert up.get_object(Bucket="cross", Key=f"top/{name}")["Body"].read() == payload
        for path in ["/s3data", "/azdata", "/gcsdata", "/nested/deep/s3", "/nested/az"]:
            assert cli(gateway, "fs", "unmount", path).returncode == 0
    finally:
        for p in procs:
            stop_server(p)
