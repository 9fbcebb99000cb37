"""Time one PUT and one GET of a 64 MiB object on each backend, directly and through the
gateway, in the same run. Prints seconds and the gateway/direct ratio.

    ARUSTIO_BIN=... python bench/backends_64mib.py

Starts its own gateway, moto server, Azurite and fake-gcs-server (as the tests do). GCS
writes through object_store are refused by fake-gcs-server, so GCS gets a GET only (the
object is seeded through the emulator's JSON API).
"""

import io
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "conformance-tests", "python"))
from conftest import Gateway, cli, free_port, start_server, stop_server  # noqa: E402
from test_azure_backend import ACCOUNT, KEY, azurite_bin  # noqa: E402
from test_gcs_backend import key_json, make_bucket, seed  # noqa: E402
from test_s3_backend import upstream  # noqa: E402

SIZE = 64 * 1024 * 1024
DATA = os.urandom(SIZE)


def timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def through_gateway(s3, bucket, key):
    put = timed(lambda: s3.put_object(Bucket=bucket, Key=key, Body=DATA))
    get = timed(lambda: s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return put, get


def row(name, direct, gateway):
    (dp, dg), (gp, gg) = direct, gateway
    fmt = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
    ratio = lambda g, d: "-" if g is None or d is None else f"{g / d:.1f}x"  # noqa: E731
    print(f"| {name} | {fmt(dp)} | {fmt(gp)} | {ratio(gp, dp)} | {fmt(dg)} | {fmt(gg)} | {ratio(gg, dg)} |")


def main():
    procs = []
    work = tempfile.mkdtemp(prefix="arustio-bench-")
    gw = Gateway()
    try:
        s3 = gw.client()
        print("| backend | PUT direct s | PUT gateway s | ratio | GET direct s | GET gateway s | ratio |")
        print("|---|---|---|---|---|---|---|")
        # local
        local = os.path.join(work, "local")
        os.makedirs(local)
        assert cli(gw, "fs", "mount", "/localb", f"local://{local}").returncode == 0
        path = os.path.join(local, "direct.bin")

        def local_put():
            with open(path, "wb") as f:
                f.write(DATA)
                f.flush()

        def local_get():
            with open(path, "rb") as f:
                f.read()

        row("local", (timed(local_put), timed(local_get)), through_gateway(s3, "localb", "gw.bin"))
        # mem (no direct access from outside the gateway)
        assert cli(gw, "fs", "mount", "/memb", "mem://bench").returncode == 0
        row("mem", (None, None), through_gateway(s3, "memb", "gw.bin"))
        # S3 on moto
        port = free_port()
        procs.append(start_server([os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1", "-p", str(port)], port, "moto"))
        moto = f"http://127.0.0.1:{port}"
        up = upstream(moto)
        up.create_bucket(Bucket="bench")
        r = cli(gw, "fs", "mount", "-o", f"endpoint={moto}", "-o", "access_key_id=testing", "-o", "secret_access_key=testing", "/s3b", "s3://bench")
        assert r.returncode == 0, r.stderr
        direct = (timed(lambda: up.put_object(Bucket="bench", Key="direct.bin", Body=DATA)),
                  timed(lambda: up.get_object(Bucket="bench", Key="direct.bin")["Body"].read()))
        row("S3 (moto 5.2.5)", direct, through_gateway(s3, "s3b", "gw.bin"))
        # Azure on Azurite
        port = free_port()
        procs.append(start_server([azurite_bin(), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--silent"], port, "azurite"))
        az = f"http://127.0.0.1:{port}/{ACCOUNT}"
        from azure.storage.blob import BlobServiceClient

        svc = BlobServiceClient.from_connection_string(f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};BlobEndpoint={az};")
        cont = svc.create_container("bench")
        r = cli(gw, "fs", "mount", "-o", f"endpoint={az}", "-o", f"account={ACCOUNT}", "-o", f"access_key={KEY}", "/azb", "az://bench")
        assert r.returncode == 0, r.stderr
        direct = (timed(lambda: cont.upload_blob("direct.bin", DATA, overwrite=True)),
                  timed(lambda: cont.download_blob("direct.bin").readall()))
        row("Azure (Azurite 3.35.0)", direct, through_gateway(s3, "azb", "gw.bin"))
        # GCS on fake-gcs-server: GET only
        port = free_port()
        exe = os.environ.get("FAKE_GCS_BIN", os.path.expanduser("~/go/bin/fake-gcs-server"))
        procs.append(start_server([exe, "-scheme", "http", "-host", "127.0.0.1", "-port", str(port), "-backend", "memory", "-public-host", f"127.0.0.1:{port}", "-log-level", "error"], port, "fake-gcs"))
        gcs = f"http://127.0.0.1:{port}"
        make_bucket(gcs, "bench")
        seed(gcs, "bench", "seeded.bin", DATA)
        r = cli(gw, "fs", "mount", "-o", f"service_account_key={key_json(gcs)}", "/gcsb", "gs://bench")
        assert r.returncode == 0, r.stderr
        q = urllib.parse.quote("seeded.bin", safe="")
        direct_get = timed(lambda: urllib.request.urlopen(f"{gcs}/storage/v1/b/bench/o/{q}?alt=media").read())
        gw_get = timed(lambda: s3.get_object(Bucket="gcsb", Key="seeded.bin")["Body"].read())
        row("GCS (fake-gcs-server v1.56.1, GET only)", (None, direct_get), (None, gw_get))
    finally:
        for p in procs:
            stop_server(p)
        gw.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
