"""`kill -9` of a gateway in the middle of a write: a large PUT, a multipart part, a
CompleteMultipartUpload. After a restart on the same data dir no partial object is
visible (an object is whole or absent), and what the write staged is reclaimed."""

import hashlib
import os
import socket
import time

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import Gateway

MIB = 1024 * 1024


def raw(gw, method, path, body_len, sent, query=""):
    """A signed request (UNSIGNED-PAYLOAD) whose head and `sent` body bytes go out; the
    socket is returned open, the rest of the body never sent."""
    url = f"{gw.endpoint}{path}{'?' + query if query else ''}"
    req = AWSRequest(method, url, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD",
                                           "Content-Length": str(body_len)})
    S3SigV4Auth(Credentials(gw.access_key, gw.secret_key), "s3", "us-east-1").add_auth(req)
    target = path + ("?" + query if query else "")
    head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{gw.port}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in req.headers.items() if k.lower() != "host") + "\r\n"
    s = socket.create_connection(("127.0.0.1", gw.port))
    s.sendall(head.encode())
    if isinstance(sent, bytes):
        s.sendall(sent)
    else:
        chunk = b"x" * MIB
        for _ in range(sent // MIB):
            s.sendall(chunk)
    return s


def files_under(*parts):
    root = os.path.join(*parts)
    found = []
    for d, _, files in os.walk(root):
        found += [os.path.relpath(os.path.join(d, f), root) for f in files]
    return sorted(found)


def test_a_put_killed_midway_leaves_no_object_and_no_temp_file():
    gw = Gateway()
    try:
        s3 = gw.client()
        s3.create_bucket(Bucket="c")
        s3.put_object(Bucket="c", Key="before", Body=b"whole")
        s = raw(gw, "PUT", "/c/big", 64 * MIB, 20 * MIB)
        time.sleep(0.5)
        gw.restart()
        s.close()
        with pytest.raises(ClientError) as e:
            s3.head_object(Bucket="c", Key="big")
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="c")["Contents"]] == ["before"]
        assert files_under(gw.data_dir, "root", "c") == ["before"], "no temp file of the killed PUT"
        assert files_under(gw.data_dir, "multipart") == []
    finally:
        gw.stop()


def test_a_part_killed_midway_is_not_listed_and_abort_reclaims_the_staging():
    gw = Gateway()
    try:
        s3 = gw.client()
        s3.create_bucket(Bucket="c")
        up = s3.create_multipart_upload(Bucket="c", Key="mp")["UploadId"]
        one = os.urandom(5 * MIB)
        s3.upload_part(Bucket="c", Key="mp", UploadId=up, PartNumber=1, Body=one)
        s = raw(gw, "PUT", "/c/mp", 5 * MIB, 2 * MIB, query=f"partNumber=2&uploadId={up}")
        time.sleep(0.5)
        gw.restart()
        s.close()
        parts = s3.list_parts(Bucket="c", Key="mp", UploadId=up).get("Parts", [])
        assert [p["PartNumber"] for p in parts] == [1], "the killed part is not there, the whole one is"
        assert parts[0]["ETag"].strip('"') == hashlib.md5(one).hexdigest()
        s3.abort_multipart_upload(Bucket="c", Key="mp", UploadId=up)
        assert files_under(gw.data_dir, "multipart") == []
    finally:
        gw.stop()


@pytest.mark.parametrize("after_ms", [0, 30, 120])
def test_a_complete_killed_midway_leaves_the_object_whole_or_absent(after_ms):
    gw = Gateway()
    try:
        s3 = gw.client()
        s3.create_bucket(Bucket="c")
        up = s3.create_multipart_upload(Bucket="c", Key="mp")["UploadId"]
        parts, whole = [], b""
        for n in (1, 2, 3):
            body = os.urandom(5 * MIB)
            etag = s3.upload_part(Bucket="c", Key="mp", UploadId=up, PartNumber=n, Body=body)["ETag"]
            parts.append((n, etag))
            whole += body
        xml = ("<CompleteMultipartUpload>" + "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in parts)
            + "</CompleteMultipartUpload>").encode()
        s = raw(gw, "POST", "/c/mp", len(xml), xml, query=f"uploadId={up}")
        time.sleep(after_ms / 1000)
        gw.restart()
        s.close()
        try:
            got = s3.get_object(Bucket="c", Key="mp")["Body"].read()
        except ClientError as e:
            assert e.response["Error"]["Code"] == "NoSuchKey"
            got = None
        if got is None:
            # Not committed: the upload is still there, whole, and completes now.
            s3.complete_multipart_upload(Bucket="c", Key="mp", UploadId=up, MultipartUpload={
                "Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]})
            got = s3.get_object(Bucket="c", Key="mp")["Body"].read()
        assert hashlib.sha256(got).digest() == hashlib.sha256(whole).digest(), "whole, never a part of it"
        # What is left in staging is at most the completed upload's record.
        assert all(f.endswith("completed.json") for f in files_under(gw.data_dir, "multipart"))
    finally:
        gw.stop()
