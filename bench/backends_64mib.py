"""Time one PUT and one GET of a 64 MiB object on each backend, directly and through the
gateway, in the same run. Prints seconds and the gateway/direct ratio.

    ARUSTIO_BIN=... python bench/backends_64mib.py

Starts its own gateway, moto server, Azurite and fake-gcs-server (as the tests do). GCS
writes through object_store are refused by fake-gcs-server, so GCS gets a GET only (the
object is seeded through the emulator's JSON API).
"""

import os
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "conformance-tests", "python"))
from conftest import Gateway, cli, stop_server  # noqa: E402
from upstreams import (  # noqa: E402
    AZURE_KEY,
    MINIO_PASSWORD,
    MINIO_USER,
    azure_container,
    gcs_key_json,
    gcs_make_bucket,
    gcs_seed,
    s3_client,
    start_azurite,
    start_fake_gcs,
    start_minio,
    start_moto,
)

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
        # S3 on moto and on MinIO
        for name, start, key, secret in [("S3 (moto 5.2.5)", start_moto, "testing", "testing"),
                                         ("S3 (MinIO)", start_minio, MINIO_USER, MINIO_PASSWORD)]:
            proc, url = start()[:2]
            procs.append(proc)
            up = s3_client(url, key, secret)
            up.create_bucket(Bucket="bench")
            mount = f"/s3{len(procs)}"
            r = cli(gw, "fs", "mount", "-o", f"endpoint={url}", "-o", f"access_key_id={key}", "-o", f"secret_access_key={secret}", mount, "s3://bench")
            assert r.returncode == 0, r.stderr
            direct = (timed(lambda: up.put_object(Bucket="bench", Key="direct.bin", Body=DATA)),
                      timed(lambda: up.get_object(Bucket="bench", Key="direct.bin")["Body"].read()))
            row(name, direct, through_gateway(s3, mount[1:], "gw.bin"))
        # Azure on Azurite
        proc, az = start_azurite()
        procs.append(proc)
        cont = azure_container(az, "bench")
        r = cli(gw, "fs", "mount", "-o", f"endpoint={az}", "-o", "account=devstoreaccount1", "-o", f"access_key={AZURE_KEY}", "/azb", "az://bench")
        assert r.returncode == 0, r.stderr
        direct = (timed(lambda: cont.upload_blob("direct.bin", DATA, overwrite=True)),
                  timed(lambda: cont.download_blob("direct.bin").readall()))
        row("Azure (Azurite 3.35.0)", direct, through_gateway(s3, "azb", "gw.bin"))
        # GCS on fake-gcs-server: GET only
        proc, gcs = start_fake_gcs()
        procs.append(proc)
        gcs_make_bucket(gcs, "bench")
        gcs_seed(gcs, "bench", "seeded.bin", DATA)
        r = cli(gw, "fs", "mount", "-o", f"service_account_key={gcs_key_json(gcs)}", "/gcsb", "gs://bench")
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
