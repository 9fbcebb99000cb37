"""SigV2 (HmacV1): boto3's signature_version "s3" works for the usual calls, and the gateway
checks what s3s 0.14.1 does not: the request's date is within 15 minutes of the server's
clock (RequestTimeTooSkewed otherwise, as AWS answers) and is there at all (AccessDenied)."""

import base64
import hashlib
import hmac
import time
from email.utils import formatdate

import boto3
import pytest
import requests
from botocore.auth import HmacV1Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import virtual_host_bucket


def v2_client(gw, style="path"):
    return boto3.client("s3", endpoint_url=gw.endpoint, aws_access_key_id=gw.access_key,
                        aws_secret_access_key=gw.secret_key, region_name="us-east-1",
                        config=Config(signature_version="s3", s3={"addressing_style": style},
                                      retries={"max_attempts": 1}))


class DatedAuth(HmacV1Auth):
    """botocore's SigV2 signer with a Date `offset` seconds away from now."""

    def __init__(self, credentials, offset):
        super().__init__(credentials)
        self.offset = offset

    def _get_date(self):
        return formatdate(time.time() + self.offset, usegmt=True)


def send_v2(gw, method, path, offset=0, headers=None, auth_path=None, host=None, data=None):
    """A request signed by botocore's HmacV1Auth, dated `offset` seconds from now."""
    req = AWSRequest(method, f"{gw.endpoint}{path}", headers=dict(headers or {}), data=data)
    if auth_path:
        req.auth_path = auth_path
    DatedAuth(Credentials(gw.access_key, gw.secret_key), offset).add_auth(req)
    hs = dict(req.headers.items())
    if host:
        hs["Host"] = host
    return requests.request(method, f"{gw.endpoint}{path}", headers=hs, data=data, timeout=10)


def hand_signed(gw, method, path, headers, date_line, secret=None):
    """Signs by hand: the string to sign's date line is `date_line` (empty with x-amz-date),
    x-amz-* headers canonicalized; returns the headers with Authorization."""
    amz = "".join(f"{k.lower()}:{v.strip()}\n" for k, v in sorted(headers.items(), key=lambda kv: kv[0].lower())
                  if k.lower().startswith("x-amz-"))
    sts = f"{method}\n\n\n{date_line}\n{amz}{path}"
    key = (secret or gw.secret_key).encode()
    sig = base64.b64encode(hmac.new(key, sts.encode(), hashlib.sha1).digest()).decode()
    return dict(headers, Authorization=f"AWS {gw.access_key}:{sig}")


def code_of(r):
    return r.text.split("<Code>")[1].split("</Code>")[0] if "<Code>" in r.text else None


def test_boto3_sigv2_calls_with_subresources(gateway, bucket):
    v2 = v2_client(gateway)
    key = "a key with spaces & more.txt"
    v2.put_object(Bucket=bucket, Key=key, Body=b"sigv2 body")
    assert v2.get_object(Bucket=bucket, Key=key)["Body"].read() == b"sigv2 body"
    assert v2.head_object(Bucket=bucket, Key=key)["ContentLength"] == 10
    assert [o["Key"] for o in v2.list_objects(Bucket=bucket)["Contents"]] == [key]
    assert [o["Key"] for o in v2.list_objects_v2(Bucket=bucket, Prefix="a key")["Contents"]] == [key]
    assert v2.get_object_acl(Bucket=bucket, Key=key)["Owner"]["ID"] == "root"  # ?acl
    assert v2.get_object_tagging(Bucket=bucket, Key=key)["TagSet"] == []  # ?tagging
    up = v2.create_multipart_upload(Bucket=bucket, Key="mp")  # ?uploads
    part = v2.upload_part(Bucket=bucket, Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"part")
    assert [p["PartNumber"] for p in v2.list_parts(Bucket=bucket, Key="mp", UploadId=up["UploadId"])["Parts"]] == [1]
    v2.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert v2.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"part"
    out = v2.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key}, {"Key": "mp"}]})  # ?delete
    assert sorted(d["Key"] for d in out["Deleted"]) == sorted([key, "mp"])
    v2.put_object(Bucket=bucket, Key=key, Body=b"again")
    v2.delete_object(Bucket=bucket, Key=key)
    assert "Contents" not in v2.list_objects(Bucket=bucket)


@pytest.mark.parametrize("minutes", [-16, 16])
def test_a_date_more_than_15_minutes_away_is_too_skewed(gateway, bucket, minutes):
    r = send_v2(gateway, "GET", f"/{bucket}", offset=minutes * 60)
    assert (r.status_code, code_of(r)) == (403, "RequestTimeTooSkewed"), r.text
    assert "The difference between the request time and the current time is too large." in r.text
    assert r.headers.get("x-amz-request-id")


@pytest.mark.parametrize("minutes", [-14, 14])
def test_a_date_14_minutes_away_is_accepted(gateway, bucket, minutes):
    r = send_v2(gateway, "GET", f"/{bucket}", offset=minutes * 60)
    assert r.status_code == 200, r.text


def test_a_skewed_put_is_refused_before_its_body(gateway, bucket):
    r = send_v2(gateway, "PUT", f"/{bucket}/skewed", offset=-3600, data=b"x" * 1000)
    assert (r.status_code, code_of(r)) == (403, "RequestTimeTooSkewed"), r.text
    with pytest.raises(ClientError):
        v2_client(gateway).head_object(Bucket=bucket, Key="skewed")


def test_x_amz_date_is_the_request_time_and_may_be_iso8601(gateway, bucket):
    now = time.gmtime()
    basic = time.strftime("%Y%m%dT%H%M%SZ", now)
    hs = hand_signed(gateway, "GET", f"/{bucket}", {"x-amz-date": basic}, "")
    r = requests.get(f"{gateway.endpoint}/{bucket}", headers=hs, timeout=10)
    assert r.status_code == 200, r.text
    # x-amz-date wins over Date: a current Date does not save a skewed x-amz-date.
    old = formatdate(time.time() - 20 * 60, usegmt=True)
    hs = hand_signed(gateway, "GET", f"/{bucket}", {"x-amz-date": old, "Date": formatdate(usegmt=True)}, "")
    r = requests.get(f"{gateway.endpoint}/{bucket}", headers=hs, timeout=10)
    assert (r.status_code, code_of(r)) == (403, "RequestTimeTooSkewed"), r.text


@pytest.mark.parametrize("date", [None, "not a date"])
def test_a_missing_or_unreadable_date_is_access_denied(gateway, bucket, date):
    headers = {} if date is None else {"Date": date}
    hs = hand_signed(gateway, "GET", f"/{bucket}", headers, date or "")
    r = requests.get(f"{gateway.endpoint}/{bucket}", headers=hs, timeout=10)
    assert (r.status_code, code_of(r)) == (403, "AccessDenied"), r.text
    assert "AWS authentication requires a valid Date or x-amz-date header" in r.text


def test_a_wrong_signature_does_not_match(gateway, bucket):
    date = formatdate(usegmt=True)
    hs = hand_signed(gateway, "GET", f"/{bucket}", {"Date": date}, date, secret="not-the-secret")
    r = requests.get(f"{gateway.endpoint}/{bucket}", headers=hs, timeout=10)
    assert (r.status_code, code_of(r)) == (403, "SignatureDoesNotMatch"), r.text
    # A signature for another resource (a subresource left out) does not match either.
    hs = hand_signed(gateway, "GET", f"/{bucket}", {"Date": date}, date)
    r = requests.get(f"{gateway.endpoint}/{bucket}?acl", headers=hs, timeout=10)
    assert (r.status_code, code_of(r)) == (403, "SignatureDoesNotMatch"), r.text


def test_an_unknown_access_key_is_left_to_s3s(gateway, bucket):
    date = formatdate(usegmt=True)
    hs = hand_signed(gateway, "GET", f"/{bucket}", {"Date": date}, date)
    hs["Authorization"] = hs["Authorization"].replace(gateway.access_key, "AKNOTTHEROOTKEY")
    r = requests.get(f"{gateway.endpoint}/{bucket}", headers=hs, timeout=10)
    assert (r.status_code, code_of(r)) == (403, "InvalidAccessKeyId"), r.text


def test_presigned_v2_urls(gateway, bucket):
    v2 = v2_client(gateway)
    v2.put_object(Bucket=bucket, Key="pre signed", Body=b"presigned v2")
    url = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "pre signed"}, ExpiresIn=60)
    assert "Signature=" in url and "Expires=" in url
    r = requests.get(url, timeout=10)
    assert (r.status_code, r.content) == (200, b"presigned v2")
    tampered = url.replace("Signature=", "Signature=AA")
    r = requests.get(tampered, timeout=10)
    assert (r.status_code, code_of(r)) == (403, "SignatureDoesNotMatch"), r.text
    expired = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "pre signed"}, ExpiresIn=-5)
    r = requests.get(expired, timeout=10)
    assert (r.status_code, code_of(r)) == (403, "AccessDenied"), r.text
    assert "Request has expired" in r.text


def test_virtual_host_style_sigv2():
    with virtual_host_bucket() as (gw, name, host):
        host = f"{host}:{gw.port}"
        # The canonical resource names the bucket even though the path does not.
        r = send_v2(gw, "PUT", "/vh%20key.txt", host=host, auth_path=f"/{name}/vh%20key.txt", data=b"virtual v2")
        assert r.status_code == 200, r.text
        r = send_v2(gw, "GET", "/vh%20key.txt", host=host, auth_path=f"/{name}/vh%20key.txt")
        assert (r.status_code, r.content) == (200, b"virtual v2")
        r = send_v2(gw, "GET", "/vh%20key.txt", host=host, offset=-16 * 60, auth_path=f"/{name}/vh%20key.txt")
        assert (r.status_code, code_of(r)) == (403, "RequestTimeTooSkewed"), r.text
        # Signed without the bucket: not what the server computes.
        r = send_v2(gw, "GET", "/vh%20key.txt", host=host)
        assert (r.status_code, code_of(r)) == (403, "SignatureDoesNotMatch"), r.text
        assert v2_client(gw).get_object(Bucket=name, Key="vh key.txt")["Body"].read() == b"virtual v2"
