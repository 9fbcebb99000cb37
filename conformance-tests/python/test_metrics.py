"""The metrics port of a real gateway: `/metrics` after a known workload through boto3
over a MinIO mount holds the counts of what was done (parsed by the Prometheus client's
own OpenMetrics parser), and `/health/ready` is ready only while a leader is known."""

import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from conftest import Gateway, binary, cli, free_port, start_cluster, wait_for
from upstreams import MINIO_PASSWORD, MINIO_USER, s3_client

KIB = 1024


def fetch(port, path):
    """(status, body) of GET http://127.0.0.1:PORT/PATH."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def scrape(port):
    """Every sample: {(name, frozenset(labels)): value}; the text must parse as OpenMetrics."""
    status, text = fetch(port, "/metrics")
    assert status == 200, text
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0)


@pytest.fixture(scope="module")
def metered(minio):
    bucket = "metered-" + uuid.uuid4().hex[:8]
    s3_client(minio, MINIO_USER, MINIO_PASSWORD).create_bucket(Bucket=bucket)
    gw = Gateway(extra_args=["--cache-memory", "64MiB", "--cache-block-size", "1MiB"])
    r = cli(gw, "fs", "mount", "/metered", f"s3://{bucket}", "-o", f"endpoint={minio}", "-o",
            f"access_key_id={MINIO_USER}", "-o", f"secret_access_key={MINIO_PASSWORD}")
    assert r.returncode == 0, r.stderr
    yield gw, bucket
    gw.stop()


def test_a_known_workload_is_counted(metered):
    gw, bucket = metered
    s3 = gw.client()
    size = 100 * KIB
    before = scrape(gw.metrics_port)
    for i in range(3):
        s3.put_object(Bucket="metered", Key=f"obj-{i}", Body=os.urandom(size))
    sources = []
    for _ in range(2):
        for i in range(3):
            r = s3.get_object(Bucket="metered", Key=f"obj-{i}")
            assert len(r["Body"].read()) == size
            sources.append(r["ResponseMetadata"]["HTTPHeaders"].get("x-arustio-cache"))
    assert sources == ["miss"] * 3 + ["hit"] * 3
    after = scrape(gw.metrics_port)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("arustio_s3_requests_total", operation="PutObject", status="200") == 3
    assert delta("arustio_s3_requests_total", operation="GetObject", status="200") == 6
    assert delta("arustio_s3_request_duration_seconds_count", operation="GetObject") == 6
    assert delta("arustio_s3_sent_bytes_total", mount="/metered") == 6 * size
    # On the wire: boto3 sends bodies aws-chunked, with a few bytes of framing per chunk.
    assert 3 * size <= delta("arustio_s3_received_bytes_total", mount="/metered") <= 3 * size + 3 * KIB
    assert delta("arustio_cache_misses_total") == 3
    assert delta("arustio_cache_hits_total", tier="memory") == 3
    assert delta("arustio_cache_served_bytes_total", tier="memory") == 3 * size
    assert value(after, "arustio_cache_capacity_bytes", tier="memory") == 64 * 1024 * KIB
    assert value(after, "arustio_cache_used_bytes", tier="memory") >= 3 * size
    store = dict(store=f"s3://{bucket}", kind="s3")
    assert delta("arustio_upstream_requests_total", op="put", **store) == 3
    # Strict consistency: each hit is a conditional GET the store answers 304, no bytes.
    assert delta("arustio_upstream_requests_total", op="get", **store) == 6
    assert delta("arustio_upstream_errors_total", op="get", **store) == 0
    assert value(after, "arustio_upstream_request_duration_seconds_count", op="put", **store) >= 3

    # A missing key: a 404, neither bytes of an object nor a store failure.
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket="metered", Key="missing")
    last = scrape(gw.metrics_port)
    assert value(last, "arustio_s3_requests_total", operation="GetObject", status="404") == 1
    assert value(last, "arustio_upstream_errors_total", op="get", **store) == 0


def test_raft_admin_and_process_series(metered):
    gw, _ = metered
    assert cli(gw, "fs", "list").returncode == 0
    refused = cli(gw, "fs", "list", env={"ARUSTIO_SECRET_KEY": "not-the-secret"})
    assert refused.returncode != 0
    m = scrape(gw.metrics_port)
    assert value(m, "arustio_grpc_calls_total", method="Admin/Mount", result="Ok") == 1
    assert value(m, "arustio_grpc_calls_total", method="Admin/ListMounts", result="Ok") >= 1
    assert value(m, "arustio_grpc_calls_total", method="Admin/ListMounts", result="Unauthenticated") == 1
    assert value(m, "arustio_raft_leader") == 1
    assert value(m, "arustio_raft_is_leader") == 1
    assert value(m, "arustio_raft_term") >= 1
    applied = value(m, "arustio_raft_applied_index")
    assert applied >= 3, "membership, credentials and the mount were applied"
    assert value(m, "arustio_raft_commit_index") >= applied
    assert value(m, "arustio_raft_last_log_index") >= applied
    assert value(m, "process_resident_memory_bytes") > 1 << 20
    assert value(m, "process_open_fds") > 3
    assert value(m, "arustio_s3_connections_accepted_total") >= 1


def test_unknown_paths_and_methods(metered):
    gw, _ = metered
    assert fetch(gw.metrics_port, "/nope")[0] == 404
    assert fetch(gw.metrics_port, "/health/live") == (200, "ok\n")
    req = urllib.request.Request(f"http://127.0.0.1:{gw.metrics_port}/metrics", method="POST", data=b"")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=5)
    assert e.value.code == 405


def ready(port):
    status, body = fetch(port, "/health/ready")
    return status, json.loads(body)


def test_a_joining_node_is_live_but_not_ready():
    """A node whose cluster cannot be reached has its metadata but no leader and no S3 port."""
    data = tempfile.mkdtemp(prefix="arustio-ready-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARUSTIO_")}
    env.update(ARUSTIO_LOG="warn", ARUSTIO_CLUSTER_SECRET="ready-cluster-secret-" + uuid.uuid4().hex)
    args = [binary(), "serve", "--data-dir", data, "--node-id", "2", "--s3-addr", f"127.0.0.1:{free_port()}",
            "--grpc-addr", f"127.0.0.1:{free_port()}", "--metrics-addr", f"127.0.0.1:{port}",
            "--join", f"http://127.0.0.1:{free_port()}"]
    proc = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        def live():
            try:
                return fetch(port, "/health/live")[0] == 200
            except OSError:
                return False

        wait_for(live, "the metrics port", within=30)
        time.sleep(1)
        assert ready(port) == (503, {"ready": False, "metadata": True, "leader": None, "s3": False})
        r = subprocess.run([binary(), "health", "--ready", "--addr", f"127.0.0.1:{port}"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 1 and "503" in r.stderr, r
        r = subprocess.run([binary(), "health", "--addr", f"127.0.0.1:{port}"], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, r
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_ready_follows_the_leader():
    """Three nodes are ready; with the leader and a follower killed the third has no leader
    and is not ready (yet still live); when the old leader comes back and a leader is
    elected, it is ready again."""
    nodes = start_cluster("ready")
    try:
        for n in nodes:
            wait_for(lambda n=n: ready(n.metrics_port)[0] == 200, "every node ready", within=30)
        leader = ready(nodes[2].metrics_port)[1]["leader"]
        # Keep a follower; kill the leader and the other follower.
        survivor = next(n for i, n in enumerate(nodes, 1) if i != leader)
        killed = [n for n in nodes if n is not survivor]
        for n in killed:
            n.kill()
        wait_for(lambda: ready(survivor.metrics_port)[1]["leader"] is None, "the leader known no more", within=20)
        status, body = ready(survivor.metrics_port)
        assert (status, body["ready"], body["s3"], body["metadata"]) == (503, False, True, True)
        assert fetch(survivor.metrics_port, "/health/live")[0] == 200
        assert value(scrape(survivor.metrics_port), "arustio_raft_leader") == 0
        # One comes back (the old leader): two of three elect a leader. (Before the log
        # ids of Raft messages kept their leader's node id, the old leader refused every
        # vote and this timed out in about 1 run in 2.)
        killed[0]._spawn()
        wait_for(lambda: ready(survivor.metrics_port)[0] == 200, "a leader again", within=30)
        assert ready(survivor.metrics_port)[1]["leader"] is not None
    finally:
        for n in nodes:
            n.stop()


def test_json_logs_carry_the_request_id():
    """With --log-format json each line is one JSON object, and the lines of a request
    carry the id its response's x-amz-request-id header names."""
    # --log beats the harness's ARUSTIO_LOG=warn (flags beat the environment).
    gw = Gateway(extra_args=["--log-format", "json", "--log", "info,arustio=debug"])
    try:
        s3 = gw.client()
        with pytest.raises(s3.exceptions.ClientError) as e:
            s3.head_bucket(Bucket="no-such-bucket-here")
        rid = e.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]

        def lines():
            gw.log.flush()
            with open(os.path.join(gw.data_dir, "server.log")) as f:
                return [json.loads(line) for line in f if line.strip()]

        wait_for(lambda: any(line.get("span", {}).get("request_id") == rid for line in lines()),
                 "a log line of the request", within=10)
        mine = [line for line in lines() if line.get("span", {}).get("request_id") == rid]
        assert all(line["span"]["name"] == "s3" for line in mine), mine
        assert any(line["fields"].get("status") == 404 for line in mine), mine
    finally:
        gw.stop()
