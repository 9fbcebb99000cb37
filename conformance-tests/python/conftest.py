"""Spawns the real arustio binary for the Python client tests."""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

import boto3
import pytest
from botocore.config import Config


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(cmd, port, what):
    """Starts a local upstream server and waits for its port; returns the process."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    deadline = time.time() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError(f"{what} did not start: {' '.join(cmd)}")
            time.sleep(0.1)


def stop_server(proc):
    proc.kill()
    proc.wait(timeout=10)


def cli(gateway, *args, env=None):
    """Runs the arustio admin CLI against `gateway`, with a clean cloud environment; `env`
    adds variables (a value of None removes one)."""
    e = dict(os.environ, ARUSTIO_SERVER=f"{gateway.scheme}://127.0.0.1:{gateway.grpc_port}",
             ARUSTIO_ACCESS_KEY=gateway.access_key, ARUSTIO_SECRET_KEY=gateway.secret_key, HOME=gateway.data_dir)
    for k in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "S3_ENDPOINT",
              "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "ARUSTIO_TLS_CA"]:
        e.pop(k, None)
    if gateway.tls:
        e["ARUSTIO_TLS_CA"] = gateway.tls.ca
    for k, v in (env or {}).items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    return subprocess.run([binary(), *args], env=e, capture_output=True, text=True, timeout=60)


def wait_for(cond, what, within=10):
    """Polls `cond` until it holds; fails after `within` seconds."""
    deadline = time.time() + within
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def binary():
    path = os.environ.get("ARUSTIO_BIN")
    if not path:
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "target"))
        path = os.path.join(target, "debug", "arustio")
    assert os.path.exists(path), f"{path} not found: build the gateway or set ARUSTIO_BIN"
    return path


class Gateway:
    """`tls`, if given, has `cert`, `key` and `ca` (PEM file paths): the node serves https."""

    def __init__(self, extra_args=(), extra_env=None, creds=None, tls=None, data_dir=None):
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="arustio-test-")
        self.port = free_port()
        self.grpc_port = free_port()
        self.metrics_port = free_port()
        self.access_key, self.secret_key = creds or ("AK" + uuid.uuid4().hex[:12].upper(), uuid.uuid4().hex)
        self.tls = tls
        self.scheme = "https" if tls else "http"
        self.endpoint = f"{self.scheme}://127.0.0.1:{self.port}"
        self._env = dict(os.environ, ARUSTIO_ACCESS_KEY=self.access_key, ARUSTIO_SECRET_KEY=self.secret_key,
                         ARUSTIO_LOG="warn", **(extra_env or {}))
        tls_args = ["--tls-cert", tls.cert, "--tls-key", tls.key, "--tls-ca", tls.ca] if tls else []
        self._args = [binary(), "serve", "--data-dir", self.data_dir, "--s3-addr", f"127.0.0.1:{self.port}",
                      "--grpc-addr", f"127.0.0.1:{self.grpc_port}", "--metrics-addr",
                      f"127.0.0.1:{self.metrics_port}", *tls_args, *extra_args]
        self.log = open(os.path.join(self.data_dir, "server.log"), "ab")
        self._spawn()

    def _spawn(self):
        self.proc = subprocess.Popen(self._args, env=self._env, stdout=subprocess.DEVNULL, stderr=self.log,
                                     stdin=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            assert self.proc.poll() is None, "arustio exited during start"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("arustio did not start")

    def kill(self):
        """Stops the process (SIGKILL) and keeps its data dir."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def restart(self):
        """Kills the process and starts it again on the same data dir and ports."""
        self.kill()
        self._spawn()

    def env(self):
        """Environment for the aws CLI."""
        return dict(os.environ, AWS_ACCESS_KEY_ID=self.access_key, AWS_SECRET_ACCESS_KEY=self.secret_key,
                    AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")

    def client(self, **cfg):
        """A boto3 client; `cfg` adds botocore Config settings, or replaces these."""
        return boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, region_name="us-east-1", verify=self.tls.ca if self.tls else None,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}).merge(Config(**cfg)),
        )

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def start_cluster(name, n=3, extra_args=()):
    """Nodes 1..n of a new cluster (node 1 forms it, the others join it), sharing a
    cluster secret and root credentials; the caller stops them."""
    secret = {"ARUSTIO_CLUSTER_SECRET": f"{name}-cluster-secret-" + uuid.uuid4().hex}
    creds = ("AK" + name.upper()[:6] + uuid.uuid4().hex[:8].upper(), uuid.uuid4().hex)
    nodes = [Gateway(extra_args=[*extra_args, "--node-id", "1"], extra_env=secret, creds=creds)]
    try:
        for i in range(2, n + 1):
            nodes.append(Gateway(extra_args=[*extra_args, "--node-id", str(i), "--join",
                                             f"http://127.0.0.1:{nodes[0].grpc_port}"], extra_env=secret, creds=creds))
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return nodes


@contextlib.contextmanager
def virtual_host_bucket(domain="s3.arustio.test"):
    """A gateway serving virtual hosts under `domain` with a new bucket: (gateway, bucket,
    the bucket's host name)."""
    gw = Gateway(extra_args=("--domain", domain))
    try:
        name = "vh-" + uuid.uuid4().hex[:8]
        gw.client().create_bucket(Bucket=name)
        yield gw, name, f"{name}.{domain}"
    finally:
        gw.stop()


@pytest.fixture(scope="module")
def gateway():
    gw = Gateway()
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def minio():
    """A MinIO server for the module; its endpoint."""
    from upstreams import start_minio

    proc, url, data = start_minio()
    yield url
    stop_server(proc)
    shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def s3(gateway):
    return gateway.client()


@pytest.fixture
def bucket(s3):
    name = "b-" + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name)
    return name
