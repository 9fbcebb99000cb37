"""TLS on the S3 endpoint, the admin API and the peer RPCs: a CA made here signs a node
certificate (SANs 127.0.0.1 and localhost); boto3, the aws CLI and the arustio CLI verify it;
clients without the CA are refused; plaintext to a TLS port fails at once and leaves the port
serving; a 3-node cluster forms, replicates and serves over TLS; and a node refuses to serve
plaintext beyond loopback unless --insecure."""

import datetime
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import types
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import SSLError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import Gateway, binary, cli, free_port, wait_for
from upstreams import MINIO_PASSWORD, MINIO_USER, s3_client


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def make_ca(directory, name):
    """A CA (key and self-signed certificate); returns (key, cert, path of its PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert, _write(os.path.join(directory, f"{name}.pem"), cert.public_bytes(serialization.Encoding.PEM))


def make_node_cert(directory, ca_key, ca_cert):
    """A server certificate for 127.0.0.1 and localhost, signed by the CA; (cert, key) paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "arustio node")]))
        .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return (_write(os.path.join(directory, "node.pem"), cert.public_bytes(serialization.Encoding.PEM)),
            _write(os.path.join(directory, "node-key.pem"), key_pem))


@pytest.fixture(scope="module")
def pki():
    d = tempfile.mkdtemp(prefix="arustio-tls-")
    ca_key, ca_cert, ca = make_ca(d, "test-ca")
    cert, key = make_node_cert(d, ca_key, ca_cert)
    _, _, other_ca = make_ca(d, "other-ca")
    yield types.SimpleNamespace(dir=d, ca=ca, cert=cert, key=key, other_ca=other_ca)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def gw(pki):
    g = Gateway(tls=pki)
    yield g
    g.stop()


def aws(gw, *args, ca_bundle=None):
    extra = ["--ca-bundle", ca_bundle] if ca_bundle else []
    # One attempt: a refused handshake is not retried for seconds.
    env = dict(gw.env(), AWS_MAX_ATTEMPTS="1")
    return subprocess.run(["aws", "--endpoint-url", gw.endpoint, *extra, *args], env=env, capture_output=True,
                          timeout=120)


def read_to_eof(sock):
    """Everything the peer sends until it closes (the socket's timeout fails a hang)."""
    got = b""
    while chunk := sock.recv(4096):
        got += chunk
    return got


def test_boto3_over_https_puts_gets_and_lists(gw):
    assert gw.endpoint.startswith("https://127.0.0.1:")
    s3 = gw.client()
    s3.create_bucket(Bucket="tls-boto3")
    body = os.urandom(3 * 1024 * 1024 + 7)
    s3.put_object(Bucket="tls-boto3", Key="dir/obj", Body=body)
    assert s3.get_object(Bucket="tls-boto3", Key="dir/obj")["Body"].read() == body
    listed = s3.list_objects_v2(Bucket="tls-boto3", Prefix="dir/")
    assert [o["Key"] for o in listed["Contents"]] == ["dir/obj"]


def test_the_aws_cli_over_https_with_the_ca_bundle(gw, pki, tmp_path):
    src = tmp_path / "up.bin"
    src.write_bytes(os.urandom(9 * 1024 * 1024))
    for args in (["s3", "mb", "s3://tls-cli"], ["s3", "cp", str(src), "s3://tls-cli/a/up.bin"]):
        r = aws(gw, *args, ca_bundle=pki.ca)
        assert r.returncode == 0, r.stderr
    r = aws(gw, "s3", "ls", "--recursive", "s3://tls-cli", ca_bundle=pki.ca)
    assert r.returncode == 0 and b"a/up.bin" in r.stdout, r.stderr
    r = aws(gw, "s3", "cp", "s3://tls-cli/a/up.bin", "-", ca_bundle=pki.ca)
    assert r.returncode == 0 and r.stdout == src.read_bytes(), r.stderr


def test_clients_without_the_ca_are_refused(gw, pki):
    # boto3 with the system's CAs, and with another CA.
    for verify in (True, pki.other_ca):
        c = boto3.client("s3", endpoint_url=gw.endpoint, aws_access_key_id=gw.access_key,
                         aws_secret_access_key=gw.secret_key, region_name="us-east-1", verify=verify,
                         config=Config(retries={"max_attempts": 1}))
        with pytest.raises(SSLError, match="CERTIFICATE_VERIFY_FAILED"):
            c.list_buckets()
    # The aws CLI without --ca-bundle, and with another CA.
    for bundle in (None, pki.other_ca):
        r = aws(gw, "s3", "ls", ca_bundle=bundle)
        assert r.returncode != 0 and b"CERTIFICATE_VERIFY_FAILED" in r.stderr, r.stderr
    assert r.returncode != 0 and b"CERTIFICATE_VERIFY_FAILED" in r.stderr, r.stderr
    # The arustio CLI with the wrong CA.
    r = cli(gw, "fs", "list", env={"ARUSTIO_TLS_CA": pki.other_ca})
    assert r.returncode != 0 and "certificate" in r.stderr.lower(), r.stderr
    # The port still serves.
    assert "Buckets" in gw.client().list_buckets()


def test_plaintext_to_the_tls_ports_fails_at_once_and_the_ports_keep_serving(gw):
    # A plain HTTP request to the S3 port: a 400 that says to use https.
    start = time.time()
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 400"), reply
    assert reply.endswith(b"\r\n\r\nThis port speaks HTTPS: use an https:// URL\n"), reply
    # Garbage that opens like a TLS record: closed (after an alert at most), not answered.
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as s:
        s.sendall(b"\x16\x03\x01\x00\x05hello" + os.urandom(64))
        assert b"HTTP" not in read_to_eof(s)
    # A connection that never says anything does not hold up the others.
    silent = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    try:
        assert "Buckets" in gw.client().list_buckets()
    finally:
        silent.close()
    # The arustio CLI in plaintext to the TLS gRPC port.
    r = cli(gw, "fs", "list", env={"ARUSTIO_SERVER": f"http://127.0.0.1:{gw.grpc_port}", "ARUSTIO_TLS_CA": None})
    assert r.returncode != 0 and "https://" in r.stderr, r.stderr
    # Plain HTTP/2 to the gRPC port: the connection is closed.
    with socket.create_connection(("127.0.0.1", gw.grpc_port), timeout=5) as s:
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        assert b"HTTP" not in read_to_eof(s)
    assert time.time() - start < 20
    # Both ports still serve over TLS.
    assert "Buckets" in gw.client().list_buckets()
    r = cli(gw, "fs", "list")
    assert r.returncode == 0, r.stderr
    ctx = ssl.create_default_context(cafile=gw.tls.ca)
    with socket.create_connection(("127.0.0.1", gw.grpc_port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            assert s.version() in ("TLSv1.2", "TLSv1.3")


def test_the_arustio_cli_over_https(gw, pki, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (store / "f.txt").write_bytes(b"over tls")
    env = {k: v for k, v in os.environ.items() if k != "ARUSTIO_TLS_CA"}
    env.update(ARUSTIO_ACCESS_KEY=gw.access_key, ARUSTIO_SECRET_KEY=gw.secret_key, HOME=gw.data_dir)
    url = f"https://127.0.0.1:{gw.grpc_port}"

    def run(*args):
        return subprocess.run([binary(), *args], env=env, capture_output=True, text=True, timeout=60)

    r = run("-s", url, "--tls-ca", pki.ca, "fs", "mount", "/tlsmnt", f"local://{store}")
    assert r.returncode == 0, r.stderr
    r = run("-s", url, "--tls-ca", pki.ca, "fs", "list", "--json")
    assert r.returncode == 0 and "/tlsmnt" in [m["path"] for m in json.loads(r.stdout)], r.stderr
    r = run("-s", f"https://localhost:{gw.grpc_port}", "--tls-ca", pki.ca, "fs", "cat", "/tlsmnt/f.txt")
    assert r.returncode == 0 and r.stdout == "over tls", r.stderr
    # https without the CA, and the CA with http://: said plainly.
    r = run("-s", url, "fs", "list")
    assert r.returncode != 0 and "--tls-ca" in r.stderr, r.stderr
    r = run("-s", f"http://127.0.0.1:{gw.grpc_port}", "--tls-ca", pki.ca, "fs", "list")
    assert r.returncode != 0 and "https://" in r.stderr, r.stderr


# A 3-node cluster over TLS: Raft, the admin API, cache peers and forwarded S3 requests.

@pytest.fixture(scope="module")
def tls_cluster(pki, minio):
    secret = {"ARUSTIO_CLUSTER_SECRET": "tls-cluster-" + uuid.uuid4().hex}
    creds = ("AKTLS" + uuid.uuid4().hex[:8].upper(), uuid.uuid4().hex)
    block = ["--cache-block-size", "1MiB"]
    first = Gateway(extra_args=[*block, "--node-id", "1"], extra_env=secret, creds=creds, tls=pki)
    nodes = [first]
    for i in (2, 3):
        nodes.append(Gateway(extra_args=[*block, "--node-id", str(i), "--join", f"https://127.0.0.1:{first.grpc_port}"],
                             extra_env=secret, creds=creds, tls=pki))
    shared = tempfile.mkdtemp(prefix="arustio-tls-shared-")
    up = s3_client(minio, MINIO_USER, MINIO_PASSWORD)
    up.create_bucket(Bucket="tlscached")
    yield types.SimpleNamespace(nodes=nodes, shared=shared, minio=minio, upstream=up)
    for n in nodes:
        n.stop()
    shutil.rmtree(shared, ignore_errors=True)


def test_a_cluster_forms_and_replicates_over_tls(tls_cluster):
    nodes = tls_cluster.nodes
    r = cli(nodes[1], "cluster", "status", "--json")
    assert r.returncode == 0, r.stderr
    status = json.loads(r.stdout)
    assert sorted(m["id"] for m in status["members"]) == [1, 2, 3], status
    # A mount made through node 3 is seen by every node.
    r = cli(nodes[2], "fs", "mount", "/tlsshared", f"local://{tls_cluster.shared}")
    assert r.returncode == 0, r.stderr
    for n in nodes:
        r = cli(n, "fs", "list", "--json")
        assert r.returncode == 0 and "/tlsshared" in [m["path"] for m in json.loads(r.stdout)], r.stderr
    # Written through node 1, read through each node.
    nodes[0].client().put_object(Bucket="tlsshared", Key="k", Body=b"through every node")
    for n in nodes:
        assert n.client().get_object(Bucket="tlsshared", Key="k")["Body"].read() == b"through every node"
    # `cache stats` asks each member directly, over TLS.
    r = cli(nodes[0], "cache", "stats", "--json")
    assert r.returncode == 0 and sorted(s["node"] for s in json.loads(r.stdout)) == [1, 2, 3], r.stderr


def test_a_multipart_upload_continues_through_other_nodes_over_tls(tls_cluster):
    a, b, c = tls_cluster.nodes
    part = os.urandom(5 * 1024 * 1024)
    up = a.client().create_multipart_upload(Bucket="tlsshared", Key="mp")["UploadId"]
    # Listed through node 2 (it asks node 1's admin API), a part through node 2 (passed to
    # node 1's S3 endpoint over https), completed through node 3.
    listed = b.client().list_multipart_uploads(Bucket="tlsshared")
    assert up in [u["UploadId"] for u in listed.get("Uploads", [])], listed
    etag = b.client().upload_part(Bucket="tlsshared", Key="mp", UploadId=up, PartNumber=1, Body=part)["ETag"]
    c.client().complete_multipart_upload(Bucket="tlsshared", Key="mp", UploadId=up,
                                         MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert a.client().get_object(Bucket="tlsshared", Key="mp")["Body"].read() == part


def test_cache_blocks_come_from_peers_over_tls(tls_cluster):
    a, b, c = tls_cluster.nodes
    r = cli(a, "fs", "mount", "/tlscached", "s3://tlscached", "-o", f"endpoint={tls_cluster.minio}",
            "-o", f"access_key_id={MINIO_USER}", "-o", f"secret_access_key={MINIO_PASSWORD}")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: all(x["ring"] == [1, 2, 3] for x in json.loads(cli(a, "cache", "stats", "--json").stdout)),
             "three cache nodes on the ring", within=30)
    data = os.urandom(12 * 1024 * 1024)
    tls_cluster.upstream.put_object(Bucket="tlscached", Key="obj", Body=data)
    assert a.client().get_object(Bucket="tlscached", Key="obj")["Body"].read() == data

    def peer_read():
        r = c.client().get_object(Bucket="tlscached", Key="obj")
        assert r["Body"].read() == data
        return "peer" in r["ResponseMetadata"]["HTTPHeaders"].get("x-arustio-cache", "")

    wait_for(peer_read, "a read through node 3 from its peers' blocks", within=20)


# Plaintext beyond loopback.

def serve(args, env=None):
    """Starts `arustio serve ARGS` on a temp data dir; returns (process, data dir)."""
    data = tempfile.mkdtemp(prefix="arustio-bind-")
    e = {k: v for k, v in os.environ.items() if not k.startswith("ARUSTIO_")}
    e.update(ARUSTIO_ACCESS_KEY="AKBIND", ARUSTIO_SECRET_KEY="bind-secret-1234", ARUSTIO_LOG="warn",
             ARUSTIO_METRICS_ADDR="127.0.0.1:0", **(env or {}))
    proc = subprocess.Popen([binary(), "serve", "--data-dir", data, *args], env=e, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return proc, data


def wait_listening(proc, port):
    deadline = time.time() + 30
    while time.time() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listening on {port}")


@pytest.mark.parametrize("which", ["s3", "grpc"])
def test_plaintext_on_a_non_loopback_address_is_refused(which):
    s3, grpc = free_port(), free_port()
    addrs = {"s3": f"0.0.0.0:{s3}", "grpc": f"127.0.0.1:{grpc}"}
    if which == "grpc":
        addrs = {"s3": f"127.0.0.1:{s3}", "grpc": f"0.0.0.0:{grpc}"}
    proc, data = serve(["--s3-addr", addrs["s3"], "--grpc-addr", addrs["grpc"], "--advertise-addr",
                        f"127.0.0.1:{grpc}"])
    try:
        _, err = proc.communicate(timeout=30)
        assert proc.returncode != 0
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1, err
        name = "S3" if which == "s3" else "gRPC"
        assert f"refusing to serve plaintext {name} on {addrs[which]}" in lines[0] and "--insecure" in lines[0], err
    finally:
        proc.kill()
        shutil.rmtree(data, ignore_errors=True)


@pytest.mark.parametrize("how", [["--insecure"], "ARUSTIO_INSECURE"])
def test_insecure_allows_plaintext_on_any_address(how):
    s3, grpc = free_port(), free_port()
    flags, env = (how, None) if isinstance(how, list) else ([], {how: "1"})
    proc, data = serve(["--s3-addr", f"0.0.0.0:{s3}", "--grpc-addr", f"127.0.0.1:{grpc}", *flags], env=env)
    try:
        wait_listening(proc, s3)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        shutil.rmtree(data, ignore_errors=True)


def test_tls_serves_on_any_address(pki):
    s3, grpc = free_port(), free_port()
    proc, data = serve(["--s3-addr", f"0.0.0.0:{s3}", "--grpc-addr", f"127.0.0.1:{grpc}", "--tls-cert", pki.cert,
                        "--tls-key", pki.key])
    try:
        wait_listening(proc, s3)
        ctx = ssl.create_default_context(cafile=pki.ca)
        with socket.create_connection(("127.0.0.1", s3), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                assert s.recv(4096).startswith(b"HTTP/1.1 403"), "an unsigned request, refused over TLS"
    finally:
        proc.kill()
        proc.wait(timeout=10)
        shutil.rmtree(data, ignore_errors=True)
