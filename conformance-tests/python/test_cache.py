"""The block cache, through real gateway processes over a real MinIO: hits and their
header, strict and ttl consistency against objects overwritten in the store directly,
the disk tier across a restart, `cache load` / `cache free`, `Cache-Control: no-cache`,
and a 3-node cluster where blocks come from their owner node."""

import json
import os
import shutil
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import Gateway, cli, wait_for
from upstreams import MINIO_PASSWORD, MINIO_USER, s3_client

MIB = 1024 * 1024
# Small blocks, so that multi-block objects stay small.
BLOCK_ARGS = ["--cache-block-size", "1MiB"]


@pytest.fixture(scope="module")
def upstream(minio):
    up = s3_client(minio, MINIO_USER, MINIO_PASSWORD)
    up.create_bucket(Bucket="cached")
    return up


def mount(gw, minio, path, *opts, bucket="cached"):
    args = ["fs", "mount", path, f"s3://{bucket}", "-o", f"endpoint={minio}", "-o", f"access_key_id={MINIO_USER}",
            "-o", f"secret_access_key={MINIO_PASSWORD}"]
    for o in opts:
        args += ["-o", o]
    r = cli(gw, *args)
    assert r.returncode == 0, r.stderr


def get(s3, bucket, key, **kw):
    r = s3.get_object(Bucket=bucket, Key=key, **kw)
    return r["Body"].read(), r["ResponseMetadata"]["HTTPHeaders"].get("x-arustio-cache")


def stats(gw):
    r = cli(gw, "cache", "stats", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def blob(n, seed):
    return (seed.encode() * (n // len(seed) + 1))[:n]


@pytest.fixture(scope="module")
def gw(minio, upstream):
    disk = os.path.join(os.environ.get("TMPDIR", "/tmp"), "arustio-disk-" + uuid.uuid4().hex[:8])
    g = Gateway(extra_args=[*BLOCK_ARGS, "--cache-memory", "64MiB", "--cache-disk-dir", disk,
                            "--cache-disk", "64MiB"])
    mount(g, minio, "/strict")
    mount(g, minio, "/ttl", "consistency=ttl:3")
    yield g
    g.stop()
    shutil.rmtree(disk, ignore_errors=True)


def test_a_second_get_is_a_hit_and_counted(gw, upstream):
    data = os.urandom(3 * MIB + 5)
    upstream.put_object(Bucket="cached", Key="hit/obj", Body=data)
    s3 = gw.client()
    before = stats(gw)[0]
    body, source = get(s3, "strict", "hit/obj")
    assert body == data and source == "miss"
    wait_for(lambda: stats(gw)[0]["memory"]["blocks"] >= before["memory"]["blocks"] + 4, "the blocks to be held")
    body, source = get(s3, "strict", "hit/obj")
    assert body == data and source == "hit"
    after = stats(gw)[0]
    assert after["misses"] - before["misses"] == 4, after
    assert after["memory"]["hits"] - before["memory"]["hits"] == 4, after
    # A range across a block edge, from the held blocks.
    r = s3.get_object(Bucket="strict", Key="hit/obj", Range=f"bytes={MIB - 10}-{MIB + 9}")
    assert r["Body"].read() == data[MIB - 10:MIB + 10]
    assert r["ResponseMetadata"]["HTTPHeaders"]["x-arustio-cache"] == "hit"


def test_strict_mode_never_serves_an_overwritten_object(gw, upstream):
    s3 = gw.client()
    old, new = blob(2 * MIB + 100, "old-"), blob(2 * MIB + 100, "new!")
    upstream.put_object(Bucket="cached", Key="strict/obj", Body=old)
    assert get(s3, "strict", "strict/obj")[0] == old
    assert get(s3, "strict", "strict/obj") == (old, "hit")
    upstream.put_object(Bucket="cached", Key="strict/obj", Body=new)
    body, source = get(s3, "strict", "strict/obj")
    assert body == new and source == "miss"
    # A ranged GET across a block edge after another direct overwrite.
    newer = blob(2 * MIB + 100, "3rd#")
    edge = f"bytes={MIB - 3}-{MIB + 2}"
    assert s3.get_object(Bucket="strict", Key="strict/obj", Range=edge)["Body"].read() == new[MIB - 3:MIB + 3]
    upstream.put_object(Bucket="cached", Key="strict/obj", Body=newer)
    assert s3.get_object(Bucket="strict", Key="strict/obj", Range=edge)["Body"].read() == newer[MIB - 3:MIB + 3]
    # Deleted in the store: gone through the gateway at once.
    upstream.delete_object(Bucket="cached", Key="strict/obj")
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket="strict", Key="strict/obj")


def test_ttl_mode_serves_old_bytes_only_within_the_ttl(gw, upstream):
    s3 = gw.client()
    v1, v2 = blob(MIB + 7, "one-"), blob(MIB + 7, "two-")
    upstream.put_object(Bucket="cached", Key="ttl/obj", Body=v1)
    assert get(s3, "ttl", "ttl/obj") == (v1, "miss")
    wait_for(lambda: get(s3, "ttl", "ttl/obj")[1] == "hit", "a hit")
    upstream.put_object(Bucket="cached", Key="ttl/obj", Body=v2)
    # Within the TTL the cached version may be served, whole: never a mix.
    assert get(s3, "ttl", "ttl/obj")[0] == v1
    time.sleep(3.2)
    assert get(s3, "ttl", "ttl/obj")[0] == v2
    # A write through the gateway is seen at once, TTL or not.
    s3.put_object(Bucket="ttl", Key="ttl/obj", Body=b"through the gateway")
    assert get(s3, "ttl", "ttl/obj")[0] == b"through the gateway"


def test_a_sequential_ranged_reader_gets_blocks_read_ahead(gw, upstream):
    data = os.urandom(8 * MIB)
    upstream.put_object(Bucket="cached", Key="ahead/obj", Body=data)
    s3 = gw.client()
    before = stats(gw)[0]["readahead_blocks"]

    def ranged(a, b):
        r = s3.get_object(Bucket="strict", Key="ahead/obj", Range=f"bytes={a}-{b - 1}")
        return r["Body"].read(), r["ResponseMetadata"]["HTTPHeaders"]["x-arustio-cache"]

    assert ranged(0, MIB) == (data[:MIB], "miss")
    assert ranged(MIB, MIB + 1000)[0] == data[MIB:MIB + 1000]
    # The second read continued the first: the next blocks are fetched ahead.
    wait_for(lambda: stats(gw)[0]["readahead_blocks"] > before, "readahead")
    wait_for(lambda: ranged(3 * MIB, 3 * MIB + 10)[1] == "hit", "a read-ahead block to be held")
    assert ranged(3 * MIB, 4 * MIB)[0] == data[3 * MIB:4 * MIB]


def test_ttl_mode_never_mixes_held_and_new_blocks(gw, upstream):
    s3 = gw.client()
    v1, v2 = blob(3 * MIB, "aaa-"), blob(3 * MIB, "bbb-")
    upstream.put_object(Bucket="cached", Key="ttl/mix", Body=v1)
    # Only the first block is held; then the object changes in the store.
    r = s3.get_object(Bucket="ttl", Key="ttl/mix", Range="bytes=0-99")
    assert r["Body"].read() == v1[:100]
    wait_for(lambda: s3.get_object(Bucket="ttl", Key="ttl/mix", Range="bytes=0-99")["ResponseMetadata"]
             ["HTTPHeaders"]["x-arustio-cache"] == "hit", "the first block to be held")
    upstream.put_object(Bucket="cached", Key="ttl/mix", Body=v2)
    # The held block is of the old version, the rest is not held: the whole GET finds the
    # version changed before it starts, and gives the new bytes, never v1's block with v2's.
    body, _ = get(s3, "ttl", "ttl/mix")
    assert body == v2


def test_store_requests_per_get(gw, minio, upstream):
    """Cold: one request (its response gives the version); warm strict: one conditional
    request answered 304; warm ttl: none."""
    from counting_proxy import CountingProxy

    proxy = CountingProxy(int(minio.rsplit(":", 1)[1]))
    try:
        mount(gw, proxy.endpoint, "/counted")
        mount(gw, proxy.endpoint, "/countedttl", "consistency=ttl:600")
        s3 = gw.client()
        data = os.urandom(2 * MIB + 1)
        upstream.put_object(Bucket="cached", Key="count/obj", Body=data)
        upstream.put_object(Bucket="cached", Key="count/ranged", Body=data)

        def requests(fn):
            proxy.reset()
            out = fn()
            time.sleep(0.2)
            return proxy.requests, out, list(proxy.lines)

        n, out, lines = requests(lambda: get(s3, "counted", "count/obj"))
        assert out == (data, "miss") and n == 1, lines
        n, out, lines = requests(lambda: get(s3, "counted", "count/obj"))
        assert out == (data, "hit") and n == 1, lines
        # A range from a given byte, cold: the blocks it touches, in one request.
        n, out, lines = requests(lambda: s3.get_object(Bucket="counted", Key="count/ranged",
                                                       Range=f"bytes={MIB - 5}-{MIB + 4}")["Body"].read())
        assert out == data[MIB - 5:MIB + 5] and n == 1, lines
        # A suffix range, cold: the store's answer gives the size and the bytes at once.
        upstream.put_object(Bucket="cached", Key="count/suffix", Body=data)
        n, out, lines = requests(lambda: s3.get_object(Bucket="counted", Key="count/suffix",
                                                       Range=f"bytes=-{MIB + 10}")["Body"].read())
        assert out == data[-(MIB + 10):] and n == 1, lines
        # The whole block it covered is held: a warm GET of it is one 304.
        n, out, lines = requests(lambda: get(s3, "counted", "count/suffix", Range=f"bytes={2 * MIB - 3}-"))
        assert out == (data[2 * MIB - 3:], "hit") and n == 1, lines
        # A conditional GET, cold: one request, and a 304 for the client from its answer.
        upstream.put_object(Bucket="cached", Key="count/cond", Body=b"conditional")
        etag = upstream.head_object(Bucket="cached", Key="count/cond")["ETag"]
        n, out, lines = requests(lambda: get(s3, "counted", "count/cond", IfNoneMatch='"nope"'))
        assert out[0] == b"conditional" and n == 1, lines
        gw_etag = s3.head_object(Bucket="counted", Key="count/cond")["ETag"]
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket="counted", Key="count/cond", IfNoneMatch=gw_etag)
        assert e.value.response["Error"]["Code"] == "304", etag
        n, out, lines = requests(lambda: get(s3, "countedttl", "count/obj"))
        assert out[0] == data and n <= 1, lines
        n, out, lines = requests(lambda: get(s3, "countedttl", "count/obj"))
        assert out == (data, "hit") and n == 0, lines
    finally:
        proxy.close()


def test_store_requests_per_put(gw, minio, upstream):
    """A PUT through an S3 mount is one store request: the store's reply names the ETag, so
    no HEAD follows; what the gateway then reports is what the store holds."""
    from counting_proxy import CountingProxy

    proxy = CountingProxy(int(minio.rsplit(":", 1)[1]))
    try:
        mount(gw, proxy.endpoint, "/countput")
        s3 = gw.client()
        proxy.reset()
        put = s3.put_object(Bucket="countput", Key="p/obj", Body=b"small body", ContentType="text/x-a",
                            Metadata={"k": "v"})
        time.sleep(0.2)
        assert proxy.requests == 1 and proxy.lines[0].startswith("PUT "), proxy.lines
        head = s3.head_object(Bucket="countput", Key="p/obj")
        assert head["ETag"] == put["ETag"] == upstream.head_object(Bucket="cached", Key="p/obj")["ETag"]
        assert (head["ContentType"], head["Metadata"], head["ContentLength"]) == ("text/x-a", {"k": "v"}, 10)
        # A multipart upload: Complete is one request too, and the ETag is the gateway's
        # (of the client's parts), kept across the HEAD that follows.
        up = s3.create_multipart_upload(Bucket="countput", Key="p/mp", ContentType="text/x-b")
        parts = []
        for n in (1, 2):
            body = bytes([n]) * (5 * MIB if n == 1 else 100)
            r = s3.upload_part(Bucket="countput", Key="p/mp", UploadId=up["UploadId"], PartNumber=n, Body=body)
            parts.append({"PartNumber": n, "ETag": r["ETag"]})
        done = s3.complete_multipart_upload(Bucket="countput", Key="p/mp", UploadId=up["UploadId"],
                                            MultipartUpload={"Parts": parts})
        assert done["ETag"].endswith('-2"'), done["ETag"]
        head = s3.head_object(Bucket="countput", Key="p/mp")
        assert (head["ETag"], head["ContentType"], head["ContentLength"]) == (done["ETag"], "text/x-b", 5 * MIB + 100)
        assert s3.get_object(Bucket="countput", Key="p/mp")["Body"].read() == b"\x01" * (5 * MIB) + b"\x02" * 100
    finally:
        proxy.close()


def test_no_cache_request_header_bypasses(gw, upstream):
    upstream.put_object(Bucket="cached", Key="bypass/obj", Body=b"x" * 1000)
    s3 = gw.client()
    get(s3, "strict", "bypass/obj")
    wait_for(lambda: get(s3, "strict", "bypass/obj")[1] == "hit", "a hit")

    def no_cache(request, **_):
        request.headers["Cache-Control"] = "no-cache"

    s3.meta.events.register("before-sign.s3.GetObject", no_cache)
    before = stats(gw)[0]["bypasses"]
    assert get(s3, "strict", "bypass/obj") == (b"x" * 1000, "bypass")
    assert stats(gw)[0]["bypasses"] == before + 1


def test_cache_load_and_free(gw, upstream):
    for i in range(3):
        upstream.put_object(Bucket="cached", Key=f"warm/d/f{i}", Body=blob(MIB + i, f"w{i}-"))
    r = cli(gw, "cache", "load", "/strict/warm/d")
    assert r.returncode != 0 and "directory (use -R)" in r.stderr
    r = cli(gw, "cache", "load", "/strict/warm/d", "-R")
    assert r.returncode == 0 and "Loaded 3 file(s)" in r.stdout, r.stderr
    s3 = gw.client()
    wait_for(lambda: get(s3, "strict", "warm/d/f1")[1] == "hit", "a hit after cache load")
    assert get(s3, "strict", "warm/d/f2") == (blob(MIB + 2, "w2-"), "hit")
    r = cli(gw, "cache", "free", "/strict/warm/d/f2")
    assert r.returncode == 0, r.stderr
    time.sleep(0.3)
    assert get(s3, "strict", "warm/d/f2") == (blob(MIB + 2, "w2-"), "miss")
    assert get(s3, "strict", "warm/d/f1")[1] == "hit"


def test_disk_tier_blocks_survive_a_restart(gw, upstream):
    data = os.urandom(2 * MIB)
    upstream.put_object(Bucket="cached", Key="disk/obj", Body=data)
    s3 = gw.client()
    disk_before = stats(gw)[0]["disk"]["blocks"]
    assert get(s3, "strict", "disk/obj") == (data, "miss")
    wait_for(lambda: stats(gw)[0]["disk"]["blocks"] >= disk_before + 2, "the disk writes")
    gw.restart()
    s = stats(gw)[0]
    assert s["memory"]["blocks"] == 0 and s["disk"]["blocks"] >= 2, s
    assert get(gw.client(), "strict", "disk/obj") == (data, "hit")
    assert stats(gw)[0]["disk"]["hits"] >= 2


def test_cache_on_write_holds_the_blocks_of_a_put(gw, minio):
    mount(gw, minio, "/onwrite", "cache_on_write=true")
    s3 = gw.client()
    data = os.urandom(2 * MIB + 3)
    s3.put_object(Bucket="onwrite", Key="w/obj", Body=data)
    wait_for(lambda: stats(gw)[0]["memory"]["blocks"] > 0 and get(s3, "onwrite", "w/obj")[1] == "hit",
             "the written blocks to be held")
    assert get(s3, "onwrite", "w/obj") == (data, "hit")
    # Without the option, a PUT leaves nothing behind to hit.
    s3.put_object(Bucket="strict", Key="w/plain", Body=data)
    assert get(s3, "strict", "w/plain") == (data, "miss")


def test_local_stores_are_not_cached_by_default(gw):
    s3 = gw.client()
    s3.create_bucket(Bucket="localbucket")
    s3.put_object(Bucket="localbucket", Key="k", Body=b"node-local")
    assert get(s3, "localbucket", "k") == (b"node-local", "bypass")


# A 3-node cluster: each block is owned by one node (rendezvous hashing over the
# registered cache nodes); other nodes fetch it from the owner, never all from the store.

@pytest.fixture(scope="module")
def cluster(minio, upstream):
    secret = {"ARUSTIO_CLUSTER_SECRET": "cache-cluster-secret-" + uuid.uuid4().hex}
    creds = ("AKCACHE" + uuid.uuid4().hex[:8].upper(), uuid.uuid4().hex)
    first = Gateway(extra_args=[*BLOCK_ARGS, "--node-id", "1"], extra_env=secret, creds=creds)
    nodes = [first]
    for i in (2, 3):
        nodes.append(Gateway(extra_args=[*BLOCK_ARGS, "--node-id", str(i), "--join",
                                         f"http://127.0.0.1:{first.grpc_port}"], extra_env=secret, creds=creds))
    from counting_proxy import CountingProxy

    proxy = CountingProxy(int(minio.rsplit(":", 1)[1]))
    mount(first, proxy.endpoint, "/shared")
    first.proxy = proxy
    wait_for(lambda: all(len(stats(n)) == 3 and all(x["ring"] == [1, 2, 3] for x in stats(n)) for n in nodes),
             "three cache nodes on every node's ring", within=30)
    yield nodes
    for n in nodes:
        n.stop()
    proxy.close()


def total(nodes, field):
    return sum(s[field] for s in stats(nodes[0]))


def test_a_block_is_read_from_the_store_once_in_the_cluster(cluster, upstream):
    a, b, c = cluster
    data = os.urandom(24 * MIB)
    upstream.put_object(Bucket="cached", Key="cluster/obj", Body=data)
    misses, served = total(cluster, "misses"), total(cluster, "peer_hits")
    handed = total(cluster, "handed_to_owners")
    a.proxy.reset()
    # No node has seen it: node A reads it in one store request, and hands each block to
    # its owner.
    body, source = get(a.client(), "shared", "cluster/obj")
    assert body == data and source == "miss", source
    assert a.proxy.requests == 1, a.proxy.lines
    assert total(cluster, "misses") - misses == 24, "each of the 24 blocks read from the store once"

    # About 16 of the 24 blocks belong to the other two nodes: wait until their handing
    # over has stopped.
    seen = []

    def settled():
        s = stats(a)
        seen.append((sum(x["handed_to_owners"] for x in s) - handed, sum(x["received_from_peers"] for x in s)))
        time.sleep(0.3)
        return len(seen) > 1 and seen[-1] == seen[-2] and seen[-1][0] >= 8

    wait_for(settled, "the blocks to reach their owners")
    a.proxy.reset()
    body, source = get(c.client(), "shared", "cluster/obj")
    assert body == data and "peer" in source and "miss" not in source, source
    assert total(cluster, "misses") - misses == 24, "the second read, through another node, read no block from the store"
    assert total(cluster, "peer_hits") > served
    # One store request for it: a conditional GET (304) on the version another node saw.
    assert a.proxy.requests == 1, a.proxy.lines


def test_a_peer_killed_mid_read_still_gives_the_right_bytes(cluster, upstream):
    a, b, c = cluster
    # Large enough that many blocks are still to come when the peer dies (sockets and the
    # segments read ahead hold ~15 MiB in flight).
    data = os.urandom(48 * MIB)
    upstream.put_object(Bucket="cached", Key="cluster/kill", Body=data)
    # Read once through C, so the blocks are on their owners (about 32 of the 48 on A and
    # B); then A reads from them.
    held = lambda: sum(s["memory"]["blocks"] for s in stats(a) if s["node"] in (1, 2))  # noqa: E731
    before = held()
    assert get(c.client(), "shared", "cluster/kill")[0] == data
    wait_for(lambda: held() >= before + 20, "the blocks to reach their owners")
    r = a.client().get_object(Bucket="shared", Key="cluster/kill")
    first = r["Body"].read(MIB)
    b.kill()
    rest = r["Body"].read()
    assert first + rest == data
    s = [x for x in stats(a) if x["node"] == 1][0]
    assert s["fallbacks"] >= 1, s
    # Removed from the cluster, the node leaves the ring (RemoveCacheNode).
    r = cli(a, "cluster", "remove-node", "2")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: [x["ring"] for x in stats(a) if x["node"] == 1] == [[1, 3]], "node 2 to leave the ring")
    assert get(c.client(), "shared", "cluster/kill")[0] == data
