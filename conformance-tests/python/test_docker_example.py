"""What docker-compose.yml runs, without a Docker engine: its two init scripts
(docker/init-buckets.sh, docker/init-mounts.sh) against a real MinIO and a real 3-node
cluster, then `examples/docker.rs` (built by `cargo build --all-targets`) through a node
other than the one the mounts were made on; the bytes land in MinIO's three buckets."""

import os
import pathlib
import subprocess

import pytest

from conftest import binary, start_cluster
from upstreams import MINIO_PASSWORD, MINIO_USER, s3_client

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUCKETS = ["test-bucket", "data-bucket", "temp-bucket"]


@pytest.fixture(scope="module")
def cluster():
    nodes = start_cluster("compose")
    try:
        yield nodes
    finally:
        for n in nodes:
            n.stop()


def run(script, env):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("ARUSTIO_", "AWS_"))}
    e.update(env, INIT_TIMEOUT="60", INIT_POLL="1")
    return subprocess.run(["sh", str(ROOT / "docker" / script)], env=e, capture_output=True, text=True, timeout=120)


def test_the_compose_init_and_the_docker_example(minio, cluster):
    store = dict(MINIO_ENDPOINT=minio, AWS_ACCESS_KEY_ID=MINIO_USER, AWS_SECRET_ACCESS_KEY=MINIO_PASSWORD)
    made = run("init-buckets.sh", store)
    assert made.returncode == 0, made.stdout + made.stderr
    upstream = s3_client(minio, MINIO_USER, MINIO_PASSWORD)
    names = {b["Name"] for b in upstream.list_buckets()["Buckets"]}
    assert set(BUCKETS) <= names

    first = cluster[0]
    mounts = dict(store, ARUSTIO_SERVER=f"http://127.0.0.1:{first.grpc_port}", ARUSTIO_ACCESS_KEY=first.access_key,
                  ARUSTIO_SECRET_KEY=first.secret_key, ARUSTIO_CLI=binary(), ARUSTIO_NODES="3")
    done = run("init-mounts.sh", mounts)
    assert done.returncode == 0, done.stdout + done.stderr
    again = run("init-mounts.sh", mounts)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("exists, skipped") == 3, again.stdout

    example = pathlib.Path(binary()).parent / "examples" / "docker"
    assert example.is_file(), f"{example}: build it with `cargo build --workspace --all-targets`"
    third = cluster[2]
    env = dict(os.environ, ARUSTIO_S3_ENDPOINT=third.endpoint, AWS_ACCESS_KEY_ID=third.access_key,
               AWS_SECRET_ACCESS_KEY=third.secret_key)
    shown = subprocess.run([str(example)], env=env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "done: every step held" in shown.stdout

    def body(bucket, key):
        return upstream.get_object(Bucket=bucket, Key=key)["Body"].read()

    assert body("test-bucket", "hello.txt") == b"Hello from the test bucket\n"
    assert body("data-bucket", "copied/hello.txt") == b"Hello from the test bucket\n"
    assert body("data-bucket", "data/records.json").startswith(b"{")
    assert upstream.list_objects_v2(Bucket="temp-bucket").get("KeyCount") == 0
