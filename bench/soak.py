"""Soak: mixed load at concurrency 64 through a 3-node cluster with the cache on and two
users, over MinIO, for DURATION seconds (default 600). The leader is killed (SIGKILL) in
the middle and started again 15 s later; at three quarters a follower is restarted. It
prints the errors by kind, the RSS of each node over time (from its /metrics), and a
final checksum comparison of every object written. A script, not a test: run it, read it.

    [ARUSTIO_BIN=...] [MINIO_BIN=...] python bench/soak.py [--seconds 600] [--concurrency 64]

Each worker signs as one of the two users, writes and reads only its own keys (so every
read has one right answer), and talks to one node, picking another when its node does
not answer. Sizes are 1 KiB to 1 MiB.
"""

import argparse
import hashlib
import json
import os
import random
import sys
import threading
import time
import urllib.request
from collections import Counter

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/arustio-target"))
sys.path.insert(0, os.path.join(HERE, "..", "conformance-tests", "python"))
from conftest import cli, start_cluster, stop_server  # noqa: E402
from upstreams import MINIO_PASSWORD, MINIO_USER, s3_client, start_minio  # noqa: E402

KIB = 1024


def client(node, creds):
    return boto3.client("s3", endpoint_url=node.endpoint, aws_access_key_id=creds["access_key"],
                        aws_secret_access_key=creds["secret_key"], region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                      connect_timeout=5, read_timeout=30, max_pool_connections=4))


def metric(node, name):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{node.metrics_port}/metrics", timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def leader_of(nodes):
    for n in nodes:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{n.metrics_port}/health/ready", timeout=5) as r:
                leader = json.loads(r.read())["leader"]
                if leader:
                    return leader
        except (OSError, ValueError):
            continue
    return None


class Book:
    """What each key should hold, and the errors seen, shared by the workers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.digests = {}
        self.errors = Counter()
        self.ops = Counter()
        self.wrong = []

    def error(self, op, e):
        if isinstance(e, ClientError):
            kind = f"{e.response['ResponseMetadata'].get('HTTPStatusCode')} {e.response['Error'].get('Code')}"
        else:
            kind = type(e).__name__
        with self.lock:
            self.errors[(op, kind)] += 1


def worker(n, nodes, users, book, stop, seed):
    rnd = random.Random(seed)
    name, creds = users[n % 2]
    at = n % len(nodes)
    clients = [client(node, creds) for node in nodes]
    mine = []
    i = 0
    while not stop.is_set():
        s3 = clients[at]
        op = rnd.choices(["put", "get", "list", "delete"], [40, 45, 10, 5])[0]
        if op in ("get", "delete") and not mine:
            op = "put"
        try:
            if op == "put":
                key = f"{name}/w{n}/k{i}"
                i += 1
                body = rnd.randbytes(rnd.choice([KIB, 16 * KIB, 256 * KIB, 1024 * KIB]))
                s3.put_object(Bucket="soak", Key=key, Body=body)
                with book.lock:
                    book.digests[key] = hashlib.sha256(body).hexdigest()
                mine.append(key)
            elif op == "get":
                key = rnd.choice(mine)
                got = s3.get_object(Bucket="soak", Key=key)["Body"].read()
                if hashlib.sha256(got).hexdigest() != book.digests[key]:
                    with book.lock:
                        book.wrong.append(key)
            elif op == "list":
                s3.list_objects_v2(Bucket="soak", Prefix=f"{name}/w{n}/", MaxKeys=100)
            else:
                key = mine.pop(rnd.randrange(len(mine)))
                s3.delete_object(Bucket="soak", Key=key)
                with book.lock:
                    book.digests.pop(key, None)
            with book.lock:
                book.ops[op] += 1
        except Exception as e:  # noqa: BLE001 - every failure is counted by kind
            book.error(op, e)
            # An unanswered PUT or DELETE may or may not have landed: the key is left out
            # of the final check, which then says so.
            if op in ("put", "delete"):
                with book.lock:
                    book.digests[key] = None
            at = (at + 1) % len(nodes)
            time.sleep(0.2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("DURATION", "600")))
    ap.add_argument("--concurrency", type=int, default=64)
    args = ap.parse_args()
    proc, url, data = start_minio()
    nodes = []
    try:
        s3_client(url, MINIO_USER, MINIO_PASSWORD).create_bucket(Bucket="soak-store")
        nodes = start_cluster("soak", 3, extra_args=["--cache-memory", "256MiB"])
        r = cli(nodes[0], "fs", "mount", "/soak", "s3://soak-store", "-o", f"endpoint={url}", "-o",
                f"access_key_id={MINIO_USER}", "-o", f"secret_access_key={MINIO_PASSWORD}")
        assert r.returncode == 0, r.stderr
        users = []
        for name in ("ann", "bob"):
            creds = json.loads(cli(nodes[0], "user", "add", name, "--json").stdout)
            assert cli(nodes[0], "user", "grant", name, f"soak/{name}/", "write").returncode == 0
            users.append((name, creds))
        book, stop = Book(), threading.Event()
        threads = [threading.Thread(target=worker, args=(n, nodes, users, book, stop, n), daemon=True)
                   for n in range(args.concurrency)]
        start = time.time()
        for t in threads:
            t.start()
        rss, events = [], []
        killed_at = restarted = None
        while (now := time.time() - start) < args.seconds:
            if killed_at is None and now >= args.seconds / 2:
                leader = leader_of(nodes)
                victim = nodes[(leader or 1) - 1]
                victim.kill()
                killed_at = now
                events.append(f"{now:6.0f} s  killed the leader, node {leader} (SIGKILL)")
            if killed_at is not None and not restarted and now >= killed_at + 15:
                victim._spawn()
                restarted = "leader"
                events.append(f"{now:6.0f} s  node {leader} started again")
            if restarted == "leader" and now >= args.seconds * 3 / 4:
                # A follower that was not the one killed.
                now_leader = leader_of(nodes)
                follower = next(i for i in range(1, 4) if i not in (now_leader, leader))
                nodes[follower - 1].kill()
                nodes[follower - 1]._spawn()
                restarted = "both"
                events.append(f"{time.time() - start:6.0f} s  restarted follower node {follower}")
            rss.append((now, [metric(n, "process_resident_memory_bytes") for n in nodes],
                        sum(book.ops.values())))
            time.sleep(min(30, max(1, args.seconds / 20)))
        stop.set()
        for t in threads:
            t.join(timeout=60)
        took = time.time() - start
        print(f"# soak: {took:.0f} s, concurrency {args.concurrency}, 3 nodes, cache 256 MiB each, 2 users, over MinIO")
        print("\n## events")
        for e in events:
            print(e)
        print("\n## operations")
        for op, n in sorted(book.ops.items()):
            print(f"{op:7} {n:8}  {n / took:8.1f}/s")
        print("\n## errors by kind")
        if not book.errors:
            print("none")
        for (op, kind), n in sorted(book.errors.items()):
            print(f"{op:7} {kind:40} {n:6}")
        print("\n## RSS per node (MiB), from /metrics")
        print("     t   node1   node2   node3     ops")
        for t, values, ops in rss:
            cells = " ".join(f"{v / 2**20:7.0f}" if v else "      -" for v in values)
            print(f"{t:6.0f} {cells} {ops:7}")
        print("\n## final check: every object written, read back through node 1 as root")
        root = nodes[0].client()
        checked = missing = mismatched = unknown = 0
        for key, digest in sorted(book.digests.items()):
            if digest is None:
                unknown += 1
                continue
            checked += 1
            try:
                got = root.get_object(Bucket="soak", Key=key)["Body"].read()
            except ClientError:
                missing += 1
                continue
            if hashlib.sha256(got).hexdigest() != digest:
                mismatched += 1
        print(f"checked {checked}, missing {missing}, mismatched {mismatched}, wrong reads during the run "
              f"{len(book.wrong)}, left out (an unanswered write) {unknown}")
    finally:
        for n in nodes:
            n.stop()
        stop_server(proc)


if __name__ == "__main__":
    main()
