"""One gateway over S3 (moto), Azure (Azurite) and GCS (fake-gcs-server) mounts, at the top
level and at nested paths: copies across the stores through the gateway with boto3 and the
aws CLI, with the bytes checked directly in each upstream."""

import os
import subprocess
import sys
import uuid

from conftest import cli, free_port, start_server, stop_server
from test_azure_backend import ACCOUNT, KEY, azurite_bin, container
from test_gcs_backend import key_json, make_bucket, seed
from test_s3_backend import upstream


def test_copies_across_three_clouds(gateway, tmp_path):
    procs = []
    try:
        port = free_port()
        exe = os.path.join(os.path.dirname(sys.executable), "moto_server")
        procs.append(start_server([exe, "-H", "127.0.0.1", "-p", str(port)], port, "moto"))
        moto = f"http://127.0.0.1:{port}"
        port = free_port()
        procs.append(start_server([azurite_bin(), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
                                   "--skipApiVersionCheck", "--loose", "--silent"], port, "azurite"))
        az = f"http://127.0.0.1:{port}/{ACCOUNT}"
        port = free_port()
        gcs_bin = os.environ.get("FAKE_GCS_BIN", os.path.expanduser("~/go/bin/fake-gcs-server"))
        procs.append(start_server([gcs_bin, "-scheme", "http", "-host", "127.0.0.1", "-port", str(port), "-backend", "memory",
                                   "-public-host", f"127.0.0.1:{port}", "-log-level", "error"], port, "fake-gcs-server"))
        gcs = f"http://127.0.0.1:{port}"

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
