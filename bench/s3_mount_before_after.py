"""PUT and GET of a 64 MiB object through an S3 mount, for two gateway binaries side by side
against one MinIO, with MinIO direct as the baseline: interleaved rounds, so machine noise
hits every row alike. Prints medians and each row's ratio to MinIO direct.

    ARUSTIO_BIN_BEFORE=/path/old ARUSTIO_BIN=/path/new python bench/s3_mount_before_after.py [ROUNDS]

Used for issue 13 (S3 mounts moved from object_store to aws-sdk-s3): "before" is the
object_store build, "after" the SDK build.
"""

import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "conformance-tests", "python"))
from conftest import Gateway, cli, stop_server  # noqa: E402
from upstreams import MINIO_PASSWORD, MINIO_USER, s3_client, start_minio  # noqa: E402

from backends_64mib import DATA, timed  # noqa: E402  (the same 64 MiB body and timer)


def gateway(binary, url):
    os.environ["ARUSTIO_BIN"] = binary
    gw = Gateway()
    r = cli(gw, "fs", "mount", "-o", f"endpoint={url}", "-o", f"access_key_id={MINIO_USER}",
            "-o", f"secret_access_key={MINIO_PASSWORD}", "/bench", "s3://bench")
    assert r.returncode == 0, r.stderr
    return gw


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    before, after = os.environ["ARUSTIO_BIN_BEFORE"], os.environ["ARUSTIO_BIN"]
    proc, url = start_minio()[:2]
    up = s3_client(url, MINIO_USER, MINIO_PASSWORD)
    up.create_bucket(Bucket="bench")
    gws = []
    try:
        gws = [gateway(before, url), gateway(after, url)]
        rows = {"MinIO direct": (up, "bench"), "gateway before (object_store)": (gws[0].client(), "bench"),
                "gateway after (aws-sdk-s3)": (gws[1].client(), "bench")}
        times = {name: ([], []) for name in rows}
        for i in range(rounds):
            for name, (client, bucket) in rows.items():
                key = f"{name.split()[1]}-{i}.bin"
                times[name][0].append(timed(lambda: client.put_object(Bucket=bucket, Key=key, Body=DATA)))
                times[name][1].append(timed(lambda: client.get_object(Bucket=bucket, Key=key)["Body"].read()))
        base = [statistics.median(t) for t in times["MinIO direct"]]
        print(f"64 MiB through an S3 mount on MinIO, median of {rounds} interleaved rounds")
        print("| row | PUT s | PUT ratio | GET s | GET ratio |")
        print("|---|---|---|---|---|")
        for name, (puts, gets) in times.items():
            p, g = statistics.median(puts), statistics.median(gets)
            print(f"| {name} | {p:.2f} | {p / base[0]:.2f}x | {g:.2f} | {g / base[1]:.2f}x |")
    finally:
        for gw in gws:
            gw.stop()
        stop_server(proc)


if __name__ == "__main__":
    main()
