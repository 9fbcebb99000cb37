"""A cache peer cut off while the cache is in use: in a 3-node cluster over MinIO, node 3
stops answering (SIGSTOP: its sockets stay open and say nothing, as behind a partition
that drops packets). Reads through nodes 1 and 2 still give the right bytes, the blocks
node 3 owns coming from the store once a peer fetch times out (then node 3 is passed
over for 10 s, so the wait is paid once, not per block); Raft keeps its quorum,
so a mount can still be made; and when node 3 answers again it serves as before."""

import os
import signal
import time
import uuid

import pytest

from conftest import cli, start_cluster, wait_for
from upstreams import MINIO_PASSWORD, MINIO_USER, s3_client

MIB = 1024 * 1024


def metric(gw, name):
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{gw.metrics_port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0


@pytest.fixture
def cluster(minio):
    bucket = "part-" + uuid.uuid4().hex[:8]
    s3_client(minio, MINIO_USER, MINIO_PASSWORD).create_bucket(Bucket=bucket)
    nodes = start_cluster("part", 3, extra_args=["--cache-block-size", "1MiB"])
    try:
        r = cli(nodes[0], "fs", "mount", "/shared", f"s3://{bucket}", "-o", f"endpoint={minio}", "-o",
                f"access_key_id={MINIO_USER}", "-o", f"secret_access_key={MINIO_PASSWORD}")
        assert r.returncode == 0, r.stderr
        yield nodes
    finally:
        for n in nodes:
            try:
                os.kill(n.proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            n.stop()


def test_reads_go_on_from_the_store_while_a_cache_peer_is_cut_off(cluster):
    a, b, c = cluster
    wait_for(lambda: metric(a, "arustio_cache_ring_nodes") == 3, "three nodes on the ring", within=30)
    objects = {f"obj-{i}": os.urandom(3 * MIB) for i in range(4)}
    for key, body in objects.items():
        a.client().put_object(Bucket="shared", Key=key, Body=body)
    for key, body in objects.items():
        assert c.client().get_object(Bucket="shared", Key=key)["Body"].read() == body
    os.kill(c.proc.pid, signal.SIGSTOP)
    try:
        start = time.time()
        for gw in (a, b):
            s3 = gw.client(read_timeout=60)
            for key, body in objects.items():
                assert s3.get_object(Bucket="shared", Key=key)["Body"].read() == body, key
        took = time.time() - start
        fallbacks = metric(a, "arustio_cache_fallbacks_total") + metric(b, "arustio_cache_fallbacks_total")
        print(f"8 reads of 3 MiB with a peer cut off: {took:.1f} s, {fallbacks:.0f} blocks from the store after a peer failed")
        assert fallbacks >= 1, "node 3 owns some blocks: they came from the store"
        # A peer that failed is passed over for a while: each reading node waits out one
        # peer timeout (5 s), not one per block (24 s here before, 5 blocks timed out).
        assert took < 20, took
        # Two of three is a quorum: the cluster still takes writes.
        r = cli(a, "fs", "mount", "/more", "mem://more")
        assert r.returncode == 0, r.stderr
    finally:
        os.kill(c.proc.pid, signal.SIGCONT)
    for key, body in objects.items():
        assert c.client().get_object(Bucket="shared", Key=key)["Body"].read() == body
    wait_for(lambda: "/more" in cli(c, "fs", "list").stdout, "node 3 caught up", within=30)
