"""Real upstream servers started on free ports (moto, MinIO, Azurite, fake-gcs-server), and one
`Backend` per kind of store: how to mount it, and how to read and write it directly, past the
gateway. The shared backend suite (`test_backend_suite.py`) runs the same checks on each."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import boto3
from botocore.config import Config

from conftest import free_port, start_server, stop_server

AZURE_ACCOUNT = "devstoreaccount1"
# Azurite's published development key.
AZURE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
MINIO_USER, MINIO_PASSWORD = "minio-test", "minio-test-secret"


def _tool(env, default, what):
    path = os.environ.get(env, os.path.expanduser(default))
    assert os.path.exists(path), f"{path} not found: scripts/test.sh installs {what}"
    return path


def start_moto():
    """Returns (process, endpoint)."""
    port = free_port()
    exe = os.path.join(os.path.dirname(sys.executable), "moto_server")
    return start_server([exe, "-H", "127.0.0.1", "-p", str(port)], port, "moto_server"), f"http://127.0.0.1:{port}"


def start_minio():
    """Returns (process, endpoint, data dir); MinIO answers once its API is up, not only its port."""
    exe = _tool("MINIO_BIN", "~/go/bin/minio", "MinIO")
    port, console = free_port(), free_port()
    data = tempfile.mkdtemp(prefix="arustio-minio-")
    env = dict(os.environ, MINIO_ROOT_USER=MINIO_USER, MINIO_ROOT_PASSWORD=MINIO_PASSWORD)
    proc = subprocess.Popen([exe, "server", data, "--address", f"127.0.0.1:{port}", "--console-address",
                             f"127.0.0.1:{console}", "--quiet"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            s3_client(url, MINIO_USER, MINIO_PASSWORD).list_buckets()
            return proc, url, data
        except Exception:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError("minio did not start")
            time.sleep(0.2)


def start_azurite():
    port = free_port()
    cmd = [_tool("AZURITE_BIN", "~/.cache/arustio-npm/node_modules/.bin/azurite-blob", "azurite@3.35.0"),
           "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence", "--skipApiVersionCheck",
           "--loose", "--silent"]
    return start_server(cmd, port, "azurite"), f"http://127.0.0.1:{port}/{AZURE_ACCOUNT}"


def start_fake_gcs():
    exe = _tool("FAKE_GCS_BIN", "~/go/bin/fake-gcs-server", "fake-gcs-server")
    port = free_port()
    cmd = [exe, "-scheme", "http", "-host", "127.0.0.1", "-port", str(port), "-backend", "memory",
           "-public-host", f"127.0.0.1:{port}", "-log-level", "error"]
    return start_server(cmd, port, "fake-gcs-server"), f"http://127.0.0.1:{port}"


def s3_client(endpoint, key="testing", secret="testing"):
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
                        region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))


def s3_opts(endpoint, key, secret):
    """The `arustio fs mount` options for an S3 endpoint with static credentials."""
    return ["-o", f"endpoint={endpoint}", "-o", f"access_key_id={key}", "-o", f"secret_access_key={secret}"]


def azure_container(endpoint, name, create=True):
    from azure.storage.blob import BlobServiceClient

    conn = (f"DefaultEndpointsProtocol=http;AccountName={AZURE_ACCOUNT};AccountKey={AZURE_KEY};"
            f"BlobEndpoint={endpoint};")
    svc = BlobServiceClient.from_connection_string(conn)
    if create:
        svc.create_container(name)
    return svc.get_container_client(name)


def gcs_make_bucket(base, name):
    req = urllib.request.Request(f"{base}/storage/v1/b", data=json.dumps({"name": name}).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()


def gcs_seed(base, bucket, name, data, content_type="application/octet-stream"):
    """Writes through the JSON API, which fake-gcs-server accepts (object_store uses the XML API)."""
    q = urllib.parse.urlencode({"uploadType": "media", "name": name})
    req = urllib.request.Request(f"{base}/upload/storage/v1/b/{bucket}/o?{q}", data=data, method="POST",
                                 headers={"Content-Type": content_type})
    urllib.request.urlopen(req).read()


def gcs_key_json(base):
    return json.dumps({"gcs_base_url": base, "disable_oauth": True, "client_email": "", "private_key": "",
                       "private_key_id": ""})


class Backend:
    """One kind of store. `new_mount()` makes a fresh, empty place in it and returns the
    `arustio fs mount` arguments (options, then the URI) for it."""

    name = ""
    # Whether the gateway can write to it (object_store's GCS writes use the XML API, which
    # fake-gcs-server refuses).
    writable = True
    # Whether the store keeps Content-Type, user metadata and the ETag itself, so that a
    # second gateway over it reports the same.
    keeps_attrs = False
    # Whether objects can be put and read past the gateway.
    direct = True

    def new_mount(self):
        raise NotImplementedError

    def put(self, key, data):
        """Writes `key` (relative to the mount) straight into the store."""
        raise NotImplementedError

    def get(self, key):
        """Reads `key` straight from the store; None when it does not exist."""
        raise NotImplementedError

    def bad_credentials(self):
        """Mount arguments with wrong credentials, or None with no credentials to get wrong."""
        return None

    def missing(self):
        """Mount arguments naming a bucket or directory that does not exist."""
        raise NotImplementedError

    def stopped(self):
        """(mount arguments, seed(key, data), stop()) over a server of its own, or None."""
        return None


class MemBackend(Backend):
    name = "mem"
    direct = False

    def new_mount(self):
        return [f"mem://suite-{uuid.uuid4().hex[:8]}"]

    def missing(self):
        return None


class LocalBackend(Backend):
    name = "local"

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="arustio-suite-local-")

    def new_mount(self):
        self.dir = os.path.join(self.root, uuid.uuid4().hex[:8])
        os.makedirs(self.dir)
        return [f"local://{self.dir}"]

    def put(self, key, data):
        path = os.path.join(self.dir, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def get(self, key):
        try:
            with open(os.path.join(self.dir, key), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def missing(self):
        return [f"local://{self.root}/does-not-exist"]

    def close(self):
        shutil.rmtree(self.root, ignore_errors=True)


class S3Backend(Backend):
    keeps_attrs = True

    def __init__(self, name, start, key, secret, checks_credentials):
        self.name, self._start, self.key, self.secret = name, start, key, secret
        self.checks_credentials = checks_credentials
        started = start()
        self.proc, self.endpoint = started[0], started[1]
        self.client = s3_client(self.endpoint, key, secret)

    def _opts(self, endpoint=None, secret=None):
        return s3_opts(endpoint or self.endpoint, self.key, secret or self.secret)

    def new_mount(self):
        self.bucket = "suite-" + uuid.uuid4().hex[:8]
        self.client.create_bucket(Bucket=self.bucket)
        return [*self._opts(), f"s3://{self.bucket}/pre"]

    def put(self, key, data):
        self.client.put_object(Bucket=self.bucket, Key=f"pre/{key}", Body=data)

    def get(self, key):
        try:
            return self.client.get_object(Bucket=self.bucket, Key=f"pre/{key}")["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    def bad_credentials(self):
        if not self.checks_credentials:
            return None
        return [*self._opts(secret="not-the-secret"), f"s3://{self.bucket}"]

    def missing(self):
        return [*self._opts(), "s3://no-such-bucket-here"]

    def stopped(self):
        proc, endpoint = self._start()[:2]
        s3_client(endpoint, self.key, self.secret).create_bucket(Bucket="fragile")
        opts = [*self._opts(endpoint=endpoint), "-o", "retries=1", "-o", "connect_timeout=2s", "-o", "timeout=5s"]
        return [*opts, "s3://fragile"], lambda k, d: s3_client(endpoint, self.key, self.secret).put_object(
            Bucket="fragile", Key=k, Body=d), lambda: stop_server(proc)

    def close(self):
        stop_server(self.proc)


class AzureBackend(Backend):
    name = "azure"
    keeps_attrs = True

    def __init__(self):
        self.proc, self.endpoint = start_azurite()

    def _opts(self, endpoint=None, key=AZURE_KEY):
        return ["-o", f"endpoint={endpoint or self.endpoint}", "-o", f"account={AZURE_ACCOUNT}", "-o", f"access_key={key}"]

    def new_mount(self):
        name = "suite-" + uuid.uuid4().hex[:8]
        self.container = azure_container(self.endpoint, name)
        return [*self._opts(), f"az://{name}/pre"]

    def put(self, key, data):
        self.container.upload_blob(f"pre/{key}", data)

    def get(self, key):
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self.container.download_blob(f"pre/{key}").readall()
        except ResourceNotFoundError:
            return None

    def bad_credentials(self):
        wrong = "AAAA" + AZURE_KEY[4:]
        return [*self._opts(key=wrong), f"az://{self.container.container_name}"]

    def missing(self):
        return [*self._opts(), "az://no-such-container"]

    def stopped(self):
        proc, endpoint = start_azurite()
        c = azure_container(endpoint, "fragile")
        opts = [*self._opts(endpoint=endpoint), "-o", "retries=1", "-o", "connect_timeout=2s", "-o", "timeout=5s"]
        return [*opts, "az://fragile"], lambda k, d: c.upload_blob(k, d), lambda: stop_server(proc)

    def close(self):
        stop_server(self.proc)


class GcsBackend(Backend):
    name = "gcs"
    writable = False

    def __init__(self):
        self.proc, self.endpoint = start_fake_gcs()

    def _opts(self, endpoint=None):
        return ["-o", f"service_account_key={gcs_key_json(endpoint or self.endpoint)}"]

    def new_mount(self):
        self.bucket = "suite-" + uuid.uuid4().hex[:8]
        gcs_make_bucket(self.endpoint, self.bucket)
        return [*self._opts(), f"gs://{self.bucket}/pre"]

    def put(self, key, data):
        gcs_seed(self.endpoint, self.bucket, f"pre/{key}", data)

    def get(self, key):
        name = urllib.parse.quote(f"pre/{key}", safe="")
        try:
            return urllib.request.urlopen(f"{self.endpoint}/storage/v1/b/{self.bucket}/o/{name}?alt=media").read()
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise

    def missing(self):
        return [*self._opts(), "gs://no-such-bucket-here"]

    def stopped(self):
        proc, endpoint = start_fake_gcs()
        gcs_make_bucket(endpoint, "fragile")
        opts = [*self._opts(endpoint=endpoint), "-o", "retries=1", "-o", "connect_timeout=2s", "-o", "timeout=5s"]
        return [*opts, "gs://fragile"], lambda k, d: gcs_seed(endpoint, "fragile", k, d), lambda: stop_server(proc)

    def close(self):
        stop_server(self.proc)
