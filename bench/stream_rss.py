"""Peak RSS of the gateway while it streams one large object up and back.

Starts a real gateway, PUTs SIZE bytes in one request (a presigned URL, the body
generated on the fly with a Content-Length, so the client holds nothing either), GETs it
back and checks its MD5, then does the same with a multipart upload through boto3.
Prints the gateway's peak RSS (VmHWM) after a 1 MiB baseline and after each large
transfer, and the ratio to the baseline.

    ARUSTIO_BIN=... python bench/stream_rss.py [SIZE_MIB]   (default 1024)
"""

import hashlib
import http.client
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "conformance-tests", "python"))
from conftest import Gateway  # noqa: E402

CHUNK = 1024 * 1024


def vm(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
    return -1


def put_stream(gw, s3, bucket, key, size):
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=3600)
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=600)
    conn.putrequest("PUT", u.path + "?" + u.query, skip_accept_encoding=True)
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    md5 = hashlib.md5()
    block = bytes(range(256)) * (CHUNK // 256)
    sent = 0
    while sent < size:
        b = block[: min(CHUNK, size - sent)]
        md5.update(b)
        conn.send(b)
        sent += len(b)
    r = conn.getresponse()
    r.read()
    assert r.status == 200, r.status
    return md5.hexdigest()


def get_stream(gw, s3, bucket, key):
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=3600)
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=600)
    conn.request("GET", u.path + "?" + u.query)
    r = conn.getresponse()
    md5 = hashlib.md5()
    while True:
        b = r.read(CHUNK)
        if not b:
            break
        md5.update(b)
    return md5.hexdigest()


def main():
    size = int(sys.argv[1] if len(sys.argv) > 1 else 1024) * CHUNK
    gw = Gateway()
    try:
        s3 = gw.client()
        s3.create_bucket(Bucket="bench")
        pid = gw.proc.pid
        put_stream(gw, s3, "bench", "small", CHUNK)
        get_stream(gw, s3, "bench", "small")
        base = vm(pid, "VmHWM")
        print(f"baseline after 1 MiB PUT+GET: peak RSS {base} MiB")

        t = time.time()
        want = put_stream(gw, s3, "bench", "big", size)
        put_s = time.time() - t
        after_put = vm(pid, "VmHWM")
        t = time.time()
        got = get_stream(gw, s3, "bench", "big")
        get_s = time.time() - t
        after_get = vm(pid, "VmHWM")
        assert got == want, "GET returned other bytes"
        mib = size // CHUNK
        print(f"single PUT of {mib} MiB: {put_s:.1f} s ({mib / put_s:.0f} MiB/s), peak RSS {after_put} MiB ({after_put / base:.2f}x baseline)")
        print(f"GET of {mib} MiB: {get_s:.1f} s ({mib / get_s:.0f} MiB/s), peak RSS {after_get} MiB ({after_get / base:.2f}x baseline)")

        from boto3.s3.transfer import TransferConfig

        class Gen:
            def __init__(self, n):
                self.left = n

            def read(self, n=-1):
                n = self.left if n < 0 else min(n, self.left)
                self.left -= n
                return b"\x5a" * n

        t = time.time()
        s3.upload_fileobj(Gen(size), "bench", "mp", Config=TransferConfig(multipart_chunksize=64 * CHUNK, max_concurrency=4))
        mp_s = time.time() - t
        after_mp = vm(pid, "VmHWM")
        print(f"multipart PUT of {mib} MiB (64 MiB parts, 4 at once): {mp_s:.1f} s, peak RSS {after_mp} MiB ({after_mp / base:.2f}x baseline)")
    finally:
        gw.stop()


if __name__ == "__main__":
    main()
