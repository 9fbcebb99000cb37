"""The S3 listener under abuse: slowloris clients are dropped within the header timeout,
past the connection cap clients get 503 SlowDown, and accept failures for want of file
descriptors back off instead of spinning."""

import os
import resource
import socket
import time

import pytest
from botocore.exceptions import ClientError

from conftest import Gateway


@pytest.fixture(scope="module")
def strict():
    gw = Gateway(extra_env={"ARUSTIO_S3_HEADER_TIMEOUT_SECS": "2", "ARUSTIO_S3_MAX_CONNECTIONS": "6",
                            "ARUSTIO_S3_BODY_TIMEOUT_SECS": "2"})
    yield gw
    gw.stop()


def closed_within(sock, seconds):
    """Seconds until the server closed `sock` (reading what it sends), or None."""
    start = time.time()
    sock.settimeout(0.2)
    while time.time() - start < seconds:
        try:
            if sock.recv(4096) == b"":
                return time.time() - start
        except socket.timeout:
            continue
        except ConnectionResetError:
            return time.time() - start
    return None


@pytest.mark.parametrize("sent", [b"GET / HTTP/1.1\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: a", b"", b"PRI * HTTP/2.0\r\n"])
def test_a_slowloris_client_is_dropped_within_the_header_timeout(strict, sent):
    with socket.create_connection(("127.0.0.1", strict.port)) as s:
        s.sendall(sent)
        took = closed_within(s, 8)
    assert took is not None, f"still open after 8 s having sent {sent!r}"
    assert 1.5 < took < 5, took
    assert strict.client().list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_an_idle_kept_alive_connection_is_closed_after_the_header_timeout(strict):
    with socket.create_connection(("127.0.0.1", strict.port)) as s:
        s.sendall(b"GET /minio/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(5)
        assert s.recv(4096).startswith(b"HTTP/1.1 ")
        took = closed_within(s, 8)
    assert took is not None and took < 5, took


def test_past_the_connection_cap_a_client_gets_503_slowdown(strict):
    s3 = strict.client()
    held = [socket.create_connection(("127.0.0.1", strict.port)) for _ in range(6)]
    try:
        time.sleep(0.3)
        with pytest.raises(ClientError) as e:
            s3.list_buckets()
        assert e.value.response["Error"]["Code"] == "SlowDown"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    finally:
        for s in held:
            s.close()
    deadline = time.time() + 5
    while True:
        try:
            assert s3.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
            break
        except ClientError:
            assert time.time() < deadline, "the cap was not released"
            time.sleep(0.1)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_accept_backs_off_when_out_of_file_descriptors():
    gw = Gateway()
    held = []
    try:
        open_now = len(os.listdir(f"/proc/{gw.proc.pid}/fd"))
        soft, hard = resource.prlimit(gw.proc.pid, resource.RLIMIT_NOFILE)
        resource.prlimit(gw.proc.pid, resource.RLIMIT_NOFILE, (open_now + 8, hard))
        held = [socket.create_connection(("127.0.0.1", gw.port)) for _ in range(40)]
        time.sleep(0.5)
        before = cpu_seconds(gw.proc.pid)
        time.sleep(3)
        spent = cpu_seconds(gw.proc.pid) - before
        # A loop spinning on EMFILE burns a whole core: about 3 s of CPU here.
        assert spent < 1.0, f"{spent:.2f} s of CPU in 3 s while out of descriptors"
        for s in held:
            s.close()
        held = []
        resource.prlimit(gw.proc.pid, resource.RLIMIT_NOFILE, (soft, hard))
        deadline = time.time() + 10
        while True:
            try:
                gw.client().list_buckets()
                break
            except Exception:
                assert time.time() < deadline, "no recovery once descriptors were free"
                time.sleep(0.2)
        assert gw.proc.poll() is None
    finally:
        for s in held:
            s.close()
        gw.stop()


def test_an_unsigned_form_upload_is_refused_before_its_body_is_read(gateway):
    boundary = "----arustio"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nbig\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    request = (f"POST /bucket HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
               f"Content-Length: {5 << 30}\r\n\r\n").encode() + head
    with socket.create_connection(("127.0.0.1", gateway.port)) as s:
        s.sendall(request)
        try:
            s.sendall(b"x" * (1 << 20))
        except OSError:
            pass  # refused and closed already
        s.settimeout(3)
        reply = b""
        try:
            while b"</Error>" not in reply:
                chunk = s.recv(65536)
                if not chunk:
                    break
                reply += chunk
        except socket.timeout:
            pass
    assert reply.startswith(b"HTTP/1.1 501"), reply[:200]
    assert b"<Code>NotImplemented</Code>" in reply
    assert gateway.client().list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_a_put_sent_a_byte_at_a_time_is_stored_in_linear_time(gateway, bucket):
    from test_wire import chunked_put

    body = bytes(i % 251 for i in range(1 << 20))
    # aws-chunked frames of one byte each: re-summing every held chunk on each write made
    # this about 5 * 10^11 additions.
    r = chunked_put(gateway, bucket, "bytewise", body, chunk=1)
    assert r.status_code == 200, r.text
    assert gateway.client().get_object(Bucket=bucket, Key="bytewise")["Body"].read() == body


def test_an_upload_that_stalls_mid_body_fails_with_request_timeout(strict):
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    s3 = strict.client()
    s3.create_bucket(Bucket="stall")
    url = f"{strict.endpoint}/stall/half"
    req = AWSRequest("PUT", url, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD", "Content-Length": "1000"})
    S3SigV4Auth(Credentials(strict.access_key, strict.secret_key), "s3", "us-east-1").add_auth(req)
    head = "PUT /stall/half HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in req.headers.items())
    head += f"Host: 127.0.0.1:{strict.port}\r\n\r\n" if "host" not in {k.lower() for k in req.headers} else "\r\n"
    with socket.create_connection(("127.0.0.1", strict.port)) as s:
        s.sendall(head.encode() + b"x" * 10)
        start = time.time()
        s.settimeout(8)
        try:
            reply = s.recv(4096)
        except socket.timeout:
            reply = b""
        took = time.time() - start
    assert reply.startswith(b"HTTP/1.1 400"), reply[:300]
    assert b"<Code>RequestTimeout</Code>" in reply
    assert 1.5 < took < 6, took
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket="stall", Key="half")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404, "nothing of the upload was kept"
