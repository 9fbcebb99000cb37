"""S3 fidelity (issue 14): where clients look, the gateway answers as AWS S3 does. Each test
names the behaviour; AWS's documentation is the reference."""

import datetime
import http.client
import time
import urllib.parse

import pytest
from botocore.exceptions import ClientError

MIB = 1 << 20


def code(e):
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


class Stalled:
    """A PUT (`op`, `put_object` or `upload_part`) by a client that sends all but the last
    KiB of its body and then stops sending: a presigned URL, so that the body can be held
    back."""

    def __init__(self, s3, bucket, key, body, headers=None, op="put_object", **params):
        params.update(Bucket=bucket, Key=key)
        url = urllib.parse.urlsplit(s3.generate_presigned_url(op, Params=params, ExpiresIn=600))
        self.body = body
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        self.conn.putrequest("PUT", f"{url.path}?{url.query}", skip_accept_encoding=True)
        self.conn.putheader("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.conn.putheader(k, v)
        self.conn.endheaders()
        self.sent = len(body) - 1024
        self.conn.send(body[: self.sent])

    def finish(self):
        """Sends the rest; the response's status and ETag."""
        self.conn.send(self.body[self.sent:])
        resp = self.conn.getresponse()
        resp.read()
        self.conn.close()
        self.etag = resp.getheader("ETag")
        return resp.status


def body_of(s3, bucket, key):
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


# -- writes --------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [2 * MIB, 9 * MIB], ids=["one-request", "in-parts"])
def test_a_stalled_writer_does_not_hold_up_another_writer_of_the_key_and_the_last_to_finish_wins(gateway, bucket, size):
    """A PUT whose client stops sending half-way holds no lock: another PUT of the key
    completes meanwhile (within the client's 10 s read timeout, not after the stalled one),
    and when the stalled one finishes, its body is the object, as on AWS."""
    s3 = gateway.client(read_timeout=10)
    first = bytes([1]) * size
    stalled = Stalled(s3, bucket, "contended", first)
    time.sleep(0.5)
    started = time.monotonic()
    s3.put_object(Bucket=bucket, Key="contended", Body=b"the second writer")
    assert time.monotonic() - started < 10
    assert body_of(s3, bucket, "contended") == b"the second writer"
    assert stalled.finish() == 200
    assert body_of(s3, bucket, "contended") == first


def test_a_create_only_put_is_checked_when_it_commits_not_when_it_starts(gateway, bucket):
    """`If-None-Match: *` on a PUT that was under way when another writer created the key:
    412, and the other writer's object stays."""
    s3 = gateway.client(read_timeout=10)
    stalled = Stalled(s3, bucket, "create-only", bytes([2]) * (2 * MIB), headers={"If-None-Match": "*"})
    time.sleep(0.5)
    s3.put_object(Bucket=bucket, Key="create-only", Body=b"there first")
    assert stalled.finish() == 412
    assert body_of(s3, bucket, "create-only") == b"there first"


def test_a_retried_complete_multipart_upload_gets_200_and_the_same_etag(gateway, bucket):
    """SDKs retry a Complete that timed out; AWS answers a Complete of an upload already
    completed with the same parts with 200 and the same ETag (and the upload is gone for
    every other request)."""
    s3 = gateway.client()
    up = s3.create_multipart_upload(Bucket=bucket, Key="retried")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="retried", UploadId=up, PartNumber=1, Body=b"one part")["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    first = s3.complete_multipart_upload(Bucket=bucket, Key="retried", UploadId=up, MultipartUpload=parts)
    again = s3.complete_multipart_upload(Bucket=bucket, Key="retried", UploadId=up, MultipartUpload=parts)
    assert again["ETag"] == first["ETag"] and again["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert body_of(s3, bucket, "retried") == b"one part"
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="retried", UploadId=up)
    assert code(e) == ("NoSuchUpload", 404)
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="retried", UploadId=up, PartNumber=2, Body=b"late")
    assert code(e) == ("NoSuchUpload", 404)


def test_a_part_sent_again_while_its_first_send_is_in_flight_is_the_one_that_finishes_last(gateway, bucket):
    """Part 1 is sent (A, which stalls), sent again (B, which finishes first), then A
    finishes: A is the part, in ListParts, in a Complete that lists both sends (as a
    client that collected both ETags does) and in the object."""
    s3 = gateway.client(read_timeout=10)
    up = s3.create_multipart_upload(Bucket=bucket, Key="resent")["UploadId"]
    a, b = bytes([0xA]) * MIB, bytes([0xB]) * MIB
    stalled = Stalled(s3, bucket, "resent", a, op="upload_part", UploadId=up, PartNumber=1)
    b_etag = s3.upload_part(Bucket=bucket, Key="resent", UploadId=up, PartNumber=1, Body=b)["ETag"]
    assert stalled.finish() == 200
    listed = s3.list_parts(Bucket=bucket, Key="resent", UploadId=up)["Parts"]
    assert [(p["PartNumber"], p["ETag"]) for p in listed] == [(1, stalled.etag)]
    parts = {"Parts": [{"PartNumber": 1, "ETag": b_etag}, {"PartNumber": 1, "ETag": stalled.etag}]}
    s3.complete_multipart_upload(Bucket=bucket, Key="resent", UploadId=up, MultipartUpload=parts)
    assert body_of(s3, bucket, "resent") == a


def test_a_put_with_if_none_match_naming_an_etag_is_501_as_on_aws(gateway, bucket):
    """AWS takes only `*` in If-None-Match on a write and answers an ETag there with 501
    NotImplemented (seen on AWS: aws/aws-sdk-ruby#3144, versity/versitygw#1708), so the
    gateway does the same rather than guess a meaning."""
    s3 = gateway.client()
    etag = s3.put_object(Bucket=bucket, Key="inm", Body=b"v1")["ETag"]
    for value in (etag, '"0123456789abcdef0123456789abcdef"'):
        with pytest.raises(ClientError) as e:
            s3.put_object(Bucket=bucket, Key="inm", Body=b"v2", IfNoneMatch=value)
        assert code(e) == ("NotImplemented", 501)
    assert body_of(s3, bucket, "inm") == b"v1"


def test_if_match_on_complete_multipart_upload_is_412_when_stale_and_replaces_when_current(gateway, bucket):
    s3 = gateway.client()
    stale = s3.put_object(Bucket=bucket, Key="cmu-if-match", Body=b"v1")["ETag"]
    current = s3.put_object(Bucket=bucket, Key="cmu-if-match", Body=b"v2")["ETag"]

    def complete(if_match):
        up = s3.create_multipart_upload(Bucket=bucket, Key="cmu-if-match")["UploadId"]
        etag = s3.upload_part(Bucket=bucket, Key="cmu-if-match", UploadId=up, PartNumber=1, Body=b"v3")["ETag"]
        return s3.complete_multipart_upload(Bucket=bucket, Key="cmu-if-match", UploadId=up, IfMatch=if_match,
                                            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})

    with pytest.raises(ClientError) as e:
        complete(stale)
    assert code(e) == ("PreconditionFailed", 412)
    assert body_of(s3, bucket, "cmu-if-match") == b"v2"
    complete(current)
    assert body_of(s3, bucket, "cmu-if-match") == b"v3"


def test_expires_sent_with_a_put_comes_back_on_get_and_head(gateway, bucket):
    s3 = gateway.client()
    when = datetime.datetime(2031, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
    s3.put_object(Bucket=bucket, Key="expiring", Body=b"x", Expires=when)
    for out in (s3.head_object(Bucket=bucket, Key="expiring"), s3.get_object(Bucket=bucket, Key="expiring")):
        assert out["ResponseMetadata"]["HTTPHeaders"].get("expires") == "Tue, 06 May 2031 07:08:09 GMT"


def test_an_empty_content_md5_is_invalid_digest_and_stores_nothing(gateway, bucket):
    s3 = gateway.client()

    def empty_md5(request, **_):
        request.headers["Content-MD5"] = ""

    s3.meta.events.register("before-sign.s3.PutObject", empty_md5)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="empty-md5", Body=b"x")
    assert code(e) == ("InvalidDigest", 400)
    with pytest.raises(ClientError) as e:
        gateway.client().head_object(Bucket=bucket, Key="empty-md5")
    assert code(e)[1] == 404


def b64_digest(alg, data):
    import base64
    import hashlib

    if alg == "SHA256":
        return base64.b64encode(hashlib.sha256(data).digest()).decode()
    from awscrt import checksums

    return base64.b64encode(checksums.crc64nvme(data).to_bytes(8, "big")).decode()


def test_a_multipart_upload_with_a_checksum_gives_it_for_parts_and_the_composite_for_the_object(gateway, bucket):
    """SHA256 (COMPOSITE): CreateMultipartUpload and ListParts name the algorithm, parts
    carry theirs, Complete returns the checksum of the parts' checksums with `-N`, and so do
    HEAD and GET with checksum mode."""
    import base64
    import hashlib

    s3 = gateway.client()
    up = s3.create_multipart_upload(Bucket=bucket, Key="composite", ChecksumAlgorithm="SHA256")
    assert up["ChecksumAlgorithm"] == "SHA256"
    bodies = [bytes([1]) * (5 * MIB), b"the last part"]
    parts = []
    for n, body in enumerate(bodies, 1):
        out = s3.upload_part(Bucket=bucket, Key="composite", UploadId=up["UploadId"], PartNumber=n, Body=body,
                             ChecksumAlgorithm="SHA256")
        assert out["ChecksumSHA256"] == b64_digest("SHA256", body)
        parts.append({"PartNumber": n, "ETag": out["ETag"], "ChecksumSHA256": out["ChecksumSHA256"]})
    listed = s3.list_parts(Bucket=bucket, Key="composite", UploadId=up["UploadId"])
    assert listed["ChecksumAlgorithm"] == "SHA256"
    assert [p["ChecksumSHA256"] for p in listed["Parts"]] == [p["ChecksumSHA256"] for p in parts]
    done = s3.complete_multipart_upload(Bucket=bucket, Key="composite", UploadId=up["UploadId"],
                                        MultipartUpload={"Parts": parts})
    raw = b"".join(base64.b64decode(p["ChecksumSHA256"]) for p in parts)
    want = base64.b64encode(hashlib.sha256(raw).digest()).decode() + "-2"
    assert done["ChecksumSHA256"] == want and done.get("ChecksumType") == "COMPOSITE"
    head = s3.head_object(Bucket=bucket, Key="composite", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == want and head["ChecksumType"] == "COMPOSITE"
    got = s3.get_object(Bucket=bucket, Key="composite", ChecksumMode="ENABLED")
    assert got["ChecksumSHA256"] == want
    assert got["Body"].read() == b"".join(bodies)


def test_a_multipart_upload_with_crc64nvme_gets_the_full_object_checksum(gateway, bucket):
    """CRC64NVME is FULL_OBJECT only: the checksum of the whole body."""
    s3 = gateway.client()
    up = s3.create_multipart_upload(Bucket=bucket, Key="full", ChecksumAlgorithm="CRC64NVME")
    assert up["ChecksumAlgorithm"] == "CRC64NVME" and up.get("ChecksumType") == "FULL_OBJECT"
    bodies = [bytes([3]) * (5 * MIB), b"tail"]
    parts = []
    for n, body in enumerate(bodies, 1):
        out = s3.upload_part(Bucket=bucket, Key="full", UploadId=up["UploadId"], PartNumber=n, Body=body,
                             ChecksumAlgorithm="CRC64NVME")
        parts.append({"PartNumber": n, "ETag": out["ETag"], "ChecksumCRC64NVME": out["ChecksumCRC64NVME"]})
    done = s3.complete_multipart_upload(Bucket=bucket, Key="full", UploadId=up["UploadId"],
                                        MultipartUpload={"Parts": parts})
    want = b64_digest("CRC64NVME", b"".join(bodies))
    assert done["ChecksumCRC64NVME"] == want and done.get("ChecksumType") == "FULL_OBJECT"
    head = s3.head_object(Bucket=bucket, Key="full", ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == want and head["ChecksumType"] == "FULL_OBJECT"


# -- reads ---------------------------------------------------------------------------------

def test_a_304_carries_the_etag_and_last_modified(gateway, bucket):
    """RFC 9110 15.4.5: a 304 has the headers a 200 would have had; a revalidating cache
    keeps the ETag from it."""
    s3 = gateway.client()
    etag = s3.put_object(Bucket=bucket, Key="revalidated", Body=b"x")["ETag"]
    modified = s3.head_object(Bucket=bucket, Key="revalidated")["ResponseMetadata"]["HTTPHeaders"]["last-modified"]
    for call in (s3.get_object, s3.head_object):
        with pytest.raises(ClientError) as e:
            call(Bucket=bucket, Key="revalidated", IfNoneMatch=etag)
        headers = e.value.response["ResponseMetadata"]["HTTPHeaders"]
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
        assert headers.get("etag") == etag and headers.get("last-modified") == modified


@pytest.mark.parametrize("encoding", ["deflate, gzip", "gzip,deflate", "identity"])
def test_content_encoding_comes_back_byte_for_byte(gateway, bucket, encoding):
    s3 = gateway.client()
    s3.put_object(Bucket=bucket, Key="encoded", Body=b"x", ContentEncoding=encoding)
    assert s3.head_object(Bucket=bucket, Key="encoded")["ContentEncoding"] == encoding
    assert s3.get_object(Bucket=bucket, Key="encoded")["ContentEncoding"] == encoding


def test_get_and_head_of_a_part_number_give_that_parts_bytes_and_the_part_count(gateway, bucket):
    s3 = gateway.client()
    one, two = bytes([1]) * (5 * MIB), bytes([2]) * 1024
    up = s3.create_multipart_upload(Bucket=bucket, Key="parted")["UploadId"]
    parts = [{"PartNumber": n, "ETag": s3.upload_part(Bucket=bucket, Key="parted", UploadId=up, PartNumber=n,
                                                      Body=body)["ETag"]} for n, body in ((1, one), (2, two))]
    s3.complete_multipart_upload(Bucket=bucket, Key="parted", UploadId=up, MultipartUpload={"Parts": parts})
    total = len(one) + len(two)
    got = s3.get_object(Bucket=bucket, Key="parted", PartNumber=2)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == f"bytes {len(one)}-{total - 1}/{total}" and got["PartsCount"] == 2
    assert got["Body"].read() == two
    got = s3.get_object(Bucket=bucket, Key="parted", PartNumber=1)
    assert got["Body"].read() == one and got["PartsCount"] == 2
    head = s3.head_object(Bucket=bucket, Key="parted", PartNumber=2)
    assert head["ContentLength"] == len(two) and head["PartsCount"] == 2
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="parted", PartNumber=3)
    assert code(e) == ("InvalidPartNumber", 416)


def test_part_number_1_of_a_single_part_object_is_the_whole_object_and_2_is_416(gateway, bucket):
    s3 = gateway.client()
    s3.put_object(Bucket=bucket, Key="single", Body=b"one piece")
    got = s3.get_object(Bucket=bucket, Key="single", PartNumber=1)
    assert got["Body"].read() == b"one piece" and "PartsCount" not in got
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="single", PartNumber=2)
    assert code(e) == ("InvalidPartNumber", 416)
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="single", PartNumber=2)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416


# -- signatures ----------------------------------------------------------------------------

def presigned_with_expires(s3, bucket, key, expires):
    """A SigV4 presigned GET whose `X-Amz-Expires` is replaced by `expires`."""
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=60)
    return url.replace("X-Amz-Expires=60", f"X-Amz-Expires={expires}")


def fetch(url):
    """Status, error code and message of a GET of `url`."""
    import xml.etree.ElementTree as ET

    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request("GET", f"{parts.path}?{parts.query}")
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    if resp.status == 200:
        return 200, None, None
    root = ET.fromstring(body)
    return resp.status, root.findtext("Code"), root.findtext("Message")


@pytest.mark.parametrize("expires, message", [
    ("604801", "X-Amz-Expires must be less than a week (in seconds) that is 604800"),
    ("-1", "X-Amz-Expires must be non-negative"),
])
def test_a_presigned_url_with_an_expiry_aws_refuses_is_400(gateway, bucket, expires, message):
    s3 = gateway.client(signature_version="s3v4")
    s3.put_object(Bucket=bucket, Key="presigned", Body=b"x")
    assert fetch(presigned_with_expires(s3, bucket, "presigned", expires)) == (
        400, "AuthorizationQueryParametersError", message)


def test_a_presigned_url_of_a_week_works_and_an_expired_one_is_403(gateway, bucket):
    s3 = gateway.client(signature_version="s3v4")
    s3.put_object(Bucket=bucket, Key="presigned", Body=b"x")
    week = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "presigned"}, ExpiresIn=604800)
    assert "X-Amz-Expires=604800" in week and fetch(week)[0] == 200
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "presigned"}, ExpiresIn=1)
    time.sleep(2.5)
    assert fetch(url) == (403, "AccessDenied", "Request has expired")


def signed_with_date(gateway, path, when, extra=None):
    """A GET of `path` signed by SigV4 by hand with the time in `Date` (no `x-amz-date`),
    as AWS allows; `extra` headers are sent and signed too."""
    import hashlib
    import hmac

    host = f"127.0.0.1:{gateway.port}"
    payload = hashlib.sha256(b"").hexdigest()
    headers = {"date": when.strftime("%a, %d %b %Y %H:%M:%S GMT"), "host": host, "x-amz-content-sha256": payload}
    headers.update(extra or {})
    names = sorted(headers)
    canonical = "\n".join(["GET", path, "", *[f"{n}:{headers[n]}" for n in names], "", ";".join(names), payload])
    stamp, day = when.strftime("%Y%m%dT%H%M%SZ"), when.strftime("%Y%m%d")
    scope = f"{day}/us-east-1/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + gateway.secret_key).encode()
    for part in (day, "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={gateway.access_key}/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={signature}")
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=30)
    conn.request("GET", path, headers={k: v for k, v in headers.items() if k != "host"})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, body


def test_a_sigv4_request_dated_by_date_alone_is_verified_with_date(gateway, bucket):
    s3 = gateway.client()
    s3.put_object(Bucket=bucket, Key="dated", Body=b"dated by Date")
    now = datetime.datetime.now(datetime.timezone.utc)
    assert signed_with_date(gateway, f"/{bucket}/dated", now) == (200, b"dated by Date")
    status, body = signed_with_date(gateway, f"/{bucket}/dated", now - datetime.timedelta(hours=1))
    assert status == 403 and b"RequestTimeTooSkewed" in body


def test_when_both_are_sent_x_amz_date_is_the_request_time(gateway, bucket):
    """`x-amz-date` an hour old beside a current `Date`: the request is an hour old."""
    s3 = gateway.client()
    s3.put_object(Bucket=bucket, Key="dated", Body=b"x")
    now = datetime.datetime.now(datetime.timezone.utc)
    old = (now - datetime.timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
    status, body = signed_with_date(gateway, f"/{bucket}/dated", now, extra={"x-amz-date": old})
    assert status == 403 and (b"RequestTimeTooSkewed" in body or b"SignatureDoesNotMatch" in body)


# -- listings ------------------------------------------------------------------------------

def test_an_empty_continuation_token_is_no_token(gateway, bucket):
    s3 = gateway.client()
    for k in ("a", "b"):
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    out = s3.list_objects_v2(Bucket=bucket, ContinuationToken="")
    assert [o["Key"] for o in out["Contents"]] == ["a", "b"]


def raw_listing(s3, **params):
    """A ListObjectsV2 without botocore's own `encoding-type=url` (which it adds and undoes
    unasked): the fields as the gateway sent them."""
    from botocore.handlers import set_list_objects_encoding_type_url

    s3.meta.events.unregister("before-parameter-build.s3.ListObjectsV2", set_list_objects_encoding_type_url)
    return s3.list_objects_v2(**params)


def test_a_listing_without_encoding_gives_a_prefix_with_a_newline_as_sent(gateway, bucket):
    """(Keys with control characters are refused on write, so only a prefix can hold one.)"""
    s3 = gateway.client()
    s3.put_object(Bucket=bucket, Key="line", Body=b"x")
    out = raw_listing(gateway.client(), Bucket=bucket, Prefix="line\n", Delimiter="/")
    assert out["Prefix"] == "line\n" and "EncodingType" not in out and "Contents" not in out
    encoded = raw_listing(gateway.client(), Bucket=bucket, Prefix="line\n", EncodingType="url")
    assert encoded["Prefix"] == "line%0A"


def test_a_url_encoded_listing_encodes_the_fields_aws_encodes(gateway, bucket):
    """ListObjectsV2 with `encoding-type=url`: Delimiter, Prefix, Key, StartAfter and the
    common prefixes encoded (AWS's list), the continuation tokens not."""
    s3 = gateway.client()
    for k in ("sp ace/a+b", "sp ace/c d", "sp ace/z"):
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    out = raw_listing(gateway.client(), Bucket=bucket, Prefix="sp ace/", StartAfter="sp ace/a", EncodingType="url",
                      MaxKeys=2)
    assert out["EncodingType"] == "url"
    assert out["Prefix"] == "sp%20ace/" and out["StartAfter"] == "sp%20ace/a"
    assert [o["Key"] for o in out["Contents"]] == ["sp%20ace/a%2Bb", "sp%20ace/c%20d"]
    token = out["NextContinuationToken"]
    nxt = raw_listing(gateway.client(), Bucket=bucket, Prefix="sp ace/", ContinuationToken=token, EncodingType="url",
                      Delimiter=" ")
    assert nxt["ContinuationToken"] == token and nxt["Delimiter"] == "%20"
