"""Peak RSS of the gateway while it lists a prefix with many keys.

Writes N small files straight into a local directory mounted at /big (as a store filled
behind the gateway would be), then lists bucket `big` page by page with boto3, flat and
with a delimiter over a directory holding every key. Prints the pages, the time, and the
gateway's peak RSS against a baseline listing of 1,000 keys in the same process.

    ARUSTIO_BIN=... python bench/list_rss.py [N]   (default 200000)
"""

import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "conformance-tests", "python"))
from conftest import Gateway  # noqa: E402
from stream_rss import vm  # noqa: E402


def fill(root, prefix, n):
    d = os.path.join(root, prefix)
    for i in range(n):
        sub = os.path.join(d, f"{i // 1000:04d}")
        if i % 1000 == 0:
            os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"key-{i:07d}"), "wb") as f:
            f.write(b"x")


def count(s3, bucket, prefix, delimiter=None):
    pages = keys = 0
    kw = {"Bucket": bucket, "Prefix": prefix}
    if delimiter:
        kw["Delimiter"] = delimiter
    for page in s3.get_paginator("list_objects_v2").paginate(**kw):
        pages += 1
        keys += len(page.get("Contents", [])) + len(page.get("CommonPrefixes", []))
    return pages, keys


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    store = tempfile.mkdtemp(prefix="arustio-list-")
    fill(store, "small", 1000)
    t = time.time()
    fill(store, "many", n)
    print(f"wrote {n} files in {time.time() - t:.1f} s")
    cfg = os.path.join(store, "..", os.path.basename(store) + ".toml")
    with open(cfg, "w") as f:
        f.write(f'[[mounts]]\npath = "/big"\nuri = "local://{store}"\n')
    gw = Gateway(extra_args=("--config", cfg))
    try:
        s3 = gw.client()
        pid = gw.proc.pid
        count(s3, "big", "small/")
        base = vm(pid, "VmHWM")
        print(f"baseline after listing 1,000 keys: peak RSS {base} MiB")
        t = time.time()
        pages, keys = count(s3, "big", "many/")
        dt = time.time() - t
        peak = vm(pid, "VmHWM")
        print(f"flat listing: {keys} keys in {pages} pages, {dt:.1f} s ({keys / dt:.0f} keys/s), peak RSS {peak} MiB ({peak / base:.2f}x baseline)")
        t = time.time()
        pages, keys = count(s3, "big", "", "/")
        print(f"delimiter listing at the top: {keys} entries in {pages} page(s), {time.time() - t:.2f} s (one common prefix hides {n} keys)")
        assert keys == 2
    finally:
        gw.stop()
        shutil.rmtree(store, ignore_errors=True)
        os.remove(cfg)


if __name__ == "__main__":
    main()
