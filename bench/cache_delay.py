"""The gateway's block cache behind a slow link: MinIO reached through bench/delayproxy.py
(default 10 ms each way = 20 ms round trip, 400 Mbit/s), measured side by side with direct
reads through the same proxy in one run.

    [ARUSTIO_BIN=...] python bench/cache_delay.py [--delay-ms 10] [--rate-mbit 400] [--big-mib 256]
        [--small-count 200] [--rss-gib 4 | --skip-rss] [--direct-only] [--gateway-args="--cache-memory 1GiB"]

- GET of one BIG object: direct via the proxy, through the gateway cold, then warm (median of 3).
  Goals: warm >= 10x faster than direct, cold <= 1.1x direct.
- SMALL 4 KiB objects, sequentially, through a `consistency=ttl:600` mount: direct, cold, warm;
  per-op p50/p90 and the hit ratio from the `x-arustio-cache` header.
- TCP_NODELAY: warm 4 KiB GETs through the gateway vs MinIO on loopback without the proxy (a
  missing TCP_NODELAY shows as a ~40 ms p90).
- RSS: the gateway's VmRSS after reading --rss-gib GiB through its 1 GiB memory tier (cycling
  over objects that do not fit, read over loopback to keep the run short).
`--direct-only` runs the direct parts only (no gateway needed).
"""

import argparse
import hashlib
import math
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter

import boto3
from botocore.config import Config

HERE = os.path.dirname(os.path.abspath(__file__))
# Where scripts/lib.sh builds, unless told otherwise.
os.environ.setdefault("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/arustio-target"))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "conformance-tests", "python"))
from conftest import Gateway, binary, cli, stop_server  # noqa: E402
from delayproxy import start_proxy  # noqa: E402
from stream_rss import vm  # noqa: E402
from upstreams import MINIO_PASSWORD, MINIO_USER, s3_client, start_minio  # noqa: E402

MIB = 1 << 20
# No checksums either way, so neither side pays for CRCs the other does not compute.
NOCHECK = dict(request_checksum_calculation="when_required", response_checksum_validation="when_required",
               read_timeout=300, connect_timeout=10)  # Gateway.client() already sets retries to 1


def client(endpoint):
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=MINIO_USER,
                        aws_secret_access_key=MINIO_PASSWORD, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **NOCHECK))


def check_flags(args):
    """Fails early (before a Gateway leaks its temp dir) when `arustio serve` lacks a flag."""
    helptext = subprocess.run([binary(), "serve", "--help"], capture_output=True, text=True, timeout=30).stdout
    missing = [f for f in args if f.startswith("--") and f.split("=")[0] not in helptext]
    if missing:
        raise SystemExit(f"{binary()} serve does not take {' '.join(missing)} (not built with the cache yet?)")


def pct(xs, p):
    s = sorted(xs)
    return s[max(0, math.ceil(p * len(s)) - 1)]


def get(s3, bucket, key, md5=None):
    """(seconds, bytes, x-arustio-cache); streams the body in 1 MiB reads."""
    t = time.perf_counter()
    r = s3.get_object(Bucket=bucket, Key=key)
    n, body = 0, r["Body"]
    while True:
        b = body.read(MIB)
        if not b:
            break
        n += len(b)
        if md5 is not None:
            md5.update(b)
    return time.perf_counter() - t, n, r["ResponseMetadata"]["HTTPHeaders"].get("x-arustio-cache")


def get_small(s3, bucket, keys, want=None):
    """Sequential GETs; returns (ms list, Counter of x-arustio-cache parts)."""
    ms, tags = [], Counter()
    for k in keys:
        t = time.perf_counter()
        r = s3.get_object(Bucket=bucket, Key=k)
        data = r["Body"].read()
        ms.append((time.perf_counter() - t) * 1000)
        if want is not None:
            assert data == want[k], f"{k}: other bytes"
        h = r["ResponseMetadata"]["HTTPHeaders"].get("x-arustio-cache")
        tags.update([p.strip() for p in h.split(",")] if h else ["absent"])
    return ms, tags


def hit_ratio(tags):
    total = sum(tags.values())
    return tags["hit"] / total if total else 0.0


def fmt_tags(tags):
    return " ".join(f"{k}={v}" for k, v in sorted(tags.items()))


def mount(gw, path, endpoint, *extra):
    opts = ["-o", f"endpoint={endpoint}", "-o", f"access_key_id={MINIO_USER}", "-o",
            f"secret_access_key={MINIO_PASSWORD}", "-o", "region=us-east-1"]
    for e in extra:
        opts += ["-o", e]
    r = cli(gw, "fs", "mount", *opts, path, "s3://bench")
    assert r.returncode == 0, f"mount {path}: {r.stderr}"


def rotated(data, i):
    """A distinct object of the same size (shifted by an odd amount, so no block repeats)."""
    k = (i * 1_048_583) % len(data)
    return data[k:] + data[:k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--delay-ms", type=float, default=10)
    ap.add_argument("--rate-mbit", type=float, default=400)
    ap.add_argument("--big-mib", type=int, default=256)
    ap.add_argument("--small-count", type=int, default=200)
    ap.add_argument("--warm-reps", type=int, default=3)
    ap.add_argument("--rss-gib", type=float, default=4)
    ap.add_argument("--rss-distinct", type=int, default=6, help="distinct objects cycled over for the RSS part")
    ap.add_argument("--skip-rss", action="store_true")
    ap.add_argument("--direct-only", action="store_true")
    ap.add_argument("--gateway-args", default="--cache-memory 1GiB")
    ap.add_argument("--timeout", type=int, default=1500, help="seconds for the whole run")
    a = ap.parse_args()

    def on_alarm(*_):
        raise TimeoutError(f"run exceeded --timeout {a.timeout} s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(a.timeout)
    minio = data_dir = stop_proxy = gw = None
    rows = []
    try:
        minio, url, data_dir = start_minio()
        up = s3_client(url, MINIO_USER, MINIO_PASSWORD)
        up.create_bucket(Bucket="bench")
        big = os.urandom(a.big_mib * MIB)
        big_md5 = hashlib.md5(big).hexdigest()
        up.put_object(Bucket="bench", Key="big.bin", Body=big)
        small = {f"small/{i:04d}": os.urandom(4096) for i in range(a.small_count)}
        for k, v in small.items():
            up.put_object(Bucket="bench", Key=k, Body=v)
        keys = list(small)
        pport, stop_proxy = start_proxy(int(url.rsplit(":", 1)[1]), a.delay_ms, a.rate_mbit)
        purl = f"http://127.0.0.1:{pport}"
        print(f"MinIO {url}, proxy {purl}: {a.delay_ms:g} ms each way, cap {a.rate_mbit:g} Mbit/s; "
              f"big {a.big_mib} MiB, {a.small_count} x 4 KiB", flush=True)
        direct, loop = client(purl), client(url)
        size_mb = a.big_mib * MIB / 1e6

        # Big object
        d_s, n, _ = get(direct, "bench", "big.bin")
        assert n == len(big)
        print(f"big GET direct via proxy: {d_s:.2f} s ({size_mb / d_s:.0f} MB/s)", flush=True)
        # Small objects
        d_ms, _ = get_small(direct, "bench", keys, small)
        print(f"small GET direct via proxy: p50 {statistics.median(d_ms):.2f} ms, p90 {pct(d_ms, .9):.2f} ms", flush=True)
        l_ms, _ = get_small(loop, "bench", keys)
        print(f"small GET MinIO loopback: p50 {statistics.median(l_ms):.2f} ms, p90 {pct(l_ms, .9):.2f} ms", flush=True)
        rows.append(("big GET s (MB/s)", f"{d_s:.2f} ({size_mb / d_s:.0f})"))
        rows.append(("4 KiB GET p50 / p90 ms", f"{statistics.median(d_ms):.2f} / {pct(d_ms, .9):.2f}"))
        if a.direct_only:
            print("\n| measurement | direct via proxy |\n|---|---|")
            for name, v in rows:
                print(f"| {name} | {v} |")
            print(f"| 4 KiB GET MinIO loopback p50 / p90 ms | {statistics.median(l_ms):.2f} / {pct(l_ms, .9):.2f} |")
            return

        check_flags(shlex.split(a.gateway_args))
        gw = Gateway(extra_args=shlex.split(a.gateway_args))
        pid = gw.proc.pid
        s3 = gw.client(**NOCHECK)
        mount(gw, "/big", purl)
        mount(gw, "/small", purl, "consistency=ttl:600")
        base_rss = vm(pid, "VmRSS")

        c_s, n, c_tag = get(s3, "big", "big.bin")
        assert n == len(big), f"cold read returned {n} bytes"
        warm = [get(s3, "big", "big.bin") for _ in range(a.warm_reps)]
        w_s = statistics.median(w[0] for w in warm)
        md5 = hashlib.md5()
        get(s3, "big", "big.bin", md5)
        assert md5.hexdigest() == big_md5, "gateway returned other bytes for big.bin"
        w_tags = ",".join(str(w[2]) for w in warm)
        print(f"big GET gateway cold: {c_s:.2f} s ({size_mb / c_s:.0f} MB/s) [cache: {c_tag}]; warm median of "
              f"{a.warm_reps}: {w_s:.3f} s ({size_mb / w_s:.0f} MB/s) [cache: {w_tags}]", flush=True)

        gc_ms, gc_tags = get_small(s3, "small", keys, small)
        gw_ms, gw_tags = get_small(s3, "small", keys, small)
        print(f"small GET gateway cold: p50 {statistics.median(gc_ms):.2f} ms, p90 {pct(gc_ms, .9):.2f} ms "
              f"[{fmt_tags(gc_tags)}]; warm: p50 {statistics.median(gw_ms):.2f} ms, p90 {pct(gw_ms, .9):.2f} ms "
              f"[{fmt_tags(gw_tags)}]", flush=True)
        after_rss = vm(pid, "VmRSS")

        rss_line = None
        if not a.skip_rss:
            total = int(a.rss_gib * 1024 * MIB)
            count = min(a.rss_distinct, math.ceil(total / len(big)))
            for i in range(count):
                up.put_object(Bucket="bench", Key=f"rss/{i:02d}", Body=rotated(big, i + 1))
            mount(gw, "/rss", url)  # loopback: 4 GiB over the capped link would take minutes
            t, done, i = time.perf_counter(), 0, 0
            while done < total:
                done += get(s3, "rss", f"rss/{i % count:02d}")[1]
                i += 1
            dt = time.perf_counter() - t
            rss, hwm = vm(pid, "VmRSS"), vm(pid, "VmHWM")
            rss_line = (f"{rss} MiB (peak {hwm} MiB) after reading {done / 1024 / MIB:.1f} GiB ({count} objects "
                        f"of {a.big_mib} MiB, cycled, loopback) in {dt:.1f} s")
            print(f"gateway RSS: {base_rss} MiB after mounts, {after_rss} MiB after the cache runs, {rss_line}",
                  flush=True)

        dm, dp = statistics.median(d_ms), pct(d_ms, .9)
        cm, cp = statistics.median(gc_ms), pct(gc_ms, .9)
        wm, wp = statistics.median(gw_ms), pct(gw_ms, .9)
        lm, lp = statistics.median(l_ms), pct(l_ms, .9)
        print(f"\nlink: {a.delay_ms:g} ms each way, {a.rate_mbit:g} Mbit/s; gateway args: {a.gateway_args}\n")
        print("| measurement | direct via proxy | gateway cold | gateway warm | cold/direct | direct/warm | goal |")
        print("|---|---|---|---|---|---|---|")
        print(f"| GET {a.big_mib} MiB, s (MB/s) | {d_s:.2f} ({size_mb / d_s:.0f}) | {c_s:.2f} ({size_mb / c_s:.0f}) "
              f"| {w_s:.3f} ({size_mb / w_s:.0f}) | {c_s / d_s:.2f}x | {d_s / w_s:.1f}x | cold <= 1.1x, warm >= 10x |")
        print(f"| GET 4 KiB p50 ms (ttl mount) | {dm:.2f} | {cm:.2f} | {wm:.2f} | {cm / dm:.2f}x | {dm / wm:.1f}x | |")
        print(f"| GET 4 KiB p90 ms (ttl mount) | {dp:.2f} | {cp:.2f} | {wp:.2f} | {cp / dp:.2f}x | {dp / wp:.1f}x | |")
        print(f"| 4 KiB hit ratio (x-arustio-cache) | - | {hit_ratio(gc_tags):.0%} | {hit_ratio(gw_tags):.0%} "
              f"| | | warm 100% |")
        print("\n| TCP_NODELAY check, 4 KiB GET | MinIO loopback | gateway warm | gateway/MinIO |\n|---|---|---|---|")
        print(f"| p50 ms | {lm:.2f} | {wm:.2f} | {wm / lm:.2f}x |")
        print(f"| p90 ms | {lp:.2f} | {wp:.2f} | {wp / lp:.2f}x |")
        if wp > 20:
            print(f"WARNING: gateway warm 4 KiB p90 is {wp:.1f} ms (> 20 ms): a missing TCP_NODELAY looks like this")
        if rss_line:
            print(f"\n| gateway VmRSS after mounts | after cache runs | after the RSS reads |\n|---|---|---|\n"
                  f"| {base_rss} MiB | {after_rss} MiB | {rss_line} |")
    finally:
        signal.alarm(0)
        if gw is not None:
            gw.stop()
        if stop_proxy is not None:
            stop_proxy()
        if minio is not None:
            stop_server(minio)
        if data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
