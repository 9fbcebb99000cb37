"""S3 mounts on a native S3 client (issue 13): keys another tool wrote, however odd, mount,
list and read exactly; an S3 mount accepts on write what S3 accepts, while a local mount
keeps its rules; a conditional multipart Complete is decided by the store, so that
create-only writes over 8 MiB have one winner across gateways; checksums pass through to
the store and back. Against moto (which keeps every key exactly) and MinIO. The copy over
5 GiB is in test_s3_bigcopy.py."""

import base64
import contextlib
import hashlib
import os
import shutil
import tempfile
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from conftest import Gateway, cli, stop_server
from upstreams import MINIO_PASSWORD, MINIO_USER, s3_client, s3_opts, start_moto

MIB = 1 << 20

# Keys other tools write. boto3 sends each as it is (no dot-segment or slash clean-up), and
# moto keeps and lists every one exactly (checked by hand against moto 5.2.5).
ODD_KEYS = ["ok1", "data//part-0.parquet", "a/../b", "dir/", "/lead", "x/./y", "ok2"]
# What MinIO keeps of them. Measured on its own API: `data//part-0.parquet` is 400
# XMinioInvalidObjectName, `a/../b` and `x/./y` are 400 XMinioInvalidResourceName, and
# `/lead` is accepted but kept (and listed) as `lead`.
MINIO_KEYS = ["ok1", "dir/", "ok2"]
# Written through the gateway: accepted on an S3 mount, refused on a local one.
WRITE_KEYS = ["data//x", "x/./y", "/lead"]


class Store:
    """An S3 server, written to directly (`client`) and mounted through the gateway."""

    def __init__(self, name, endpoint, key, secret):
        self.name, self.endpoint, self.key, self.secret = name, endpoint, key, secret
        self.client = s3_client(endpoint, key, secret)

    def new_bucket(self):
        name = f"{self.name}-{uuid.uuid4().hex[:8]}"
        self.client.create_bucket(Bucket=name)
        return name

    def mount(self, gateway, bucket, *flags):
        """Mounts s3://bucket at /bucket; the CLI's result."""
        return cli(gateway, "fs", "mount", *flags, *s3_opts(self.endpoint, self.key, self.secret), f"/{bucket}",
                   f"s3://{bucket}")

    @contextlib.contextmanager
    def mounted(self, gateway):
        """A new bucket, mounted at /bucket on `gateway`: its name."""
        bucket = self.new_bucket()
        r = self.mount(gateway, bucket)
        assert r.returncode == 0, r.stderr
        try:
            yield bucket
        finally:
            cli(gateway, "fs", "unmount", f"/{bucket}")

    def body(self, bucket, key):
        return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()

    def missing(self, bucket, key):
        try:
            self.client.head_object(Bucket=bucket, Key=key)
            return False
        except ClientError as e:
            return e.response["ResponseMetadata"]["HTTPStatusCode"] == 404


@pytest.fixture(scope="module")
def moto():
    proc, url = start_moto()
    yield Store("moto", url, "testing", "testing")
    stop_server(proc)


@pytest.fixture(scope="module")
def minio_store(minio):
    return Store("minio", minio, MINIO_USER, MINIO_PASSWORD)


@pytest.fixture(scope="module", params=["moto", "minio_store"])
def store(request):
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def mounted(gateway, store):
    """(store, bucket): a new bucket of `store`, mounted at /bucket."""
    with store.mounted(gateway) as bucket:
        yield store, bucket


def code(e):
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


# -- odd keys written by other tools ------------------------------------------------------

class Odd:
    """A bucket seeded past the gateway with odd keys, each with a body of its own."""

    def __init__(self, gateway, store):
        self.store, self.bucket = store, store.new_bucket()
        self.keys = ODD_KEYS if store.name == "moto" else MINIO_KEYS
        self.bodies = {k: f"{store.name} body of {k!r}".encode() * (i + 1) for i, k in enumerate(self.keys)}
        for k, b in self.bodies.items():
            store.client.put_object(Bucket=self.bucket, Key=k, Body=b)
        self.check = store.mount(gateway, self.bucket)
        if self.check.returncode != 0:
            # A refused check fails the mount test; the listing tests then show their own failures.
            r = store.mount(gateway, self.bucket, "--no-check")
            assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def odd(gateway, store):
    o = Odd(gateway, store)
    yield o
    cli(gateway, "fs", "unmount", f"/{o.bucket}")


def s3_listing(keys, prefix="", delimiter=None):
    """What S3 answers for `keys`: (Contents, CommonPrefixes), in byte order; a common prefix
    is a key up to and including the first delimiter after the prefix."""
    contents, prefixes = [], []
    for k in sorted(keys, key=str.encode):
        if not k.startswith(prefix):
            continue
        at = k.find(delimiter, len(prefix)) if delimiter else -1
        if at < 0:
            contents.append(k)
        elif k[:at + len(delimiter)] not in prefixes:
            prefixes.append(k[:at + len(delimiter)])
    return contents, prefixes


def listed(page):
    return [o["Key"] for o in page.get("Contents", [])], [p["Prefix"] for p in page.get("CommonPrefixes", [])]


def test_a_bucket_with_odd_keys_mounts_and_lists_them_exactly(gateway, odd):
    assert odd.check.returncode == 0, odd.check.stderr
    page = gateway.client().list_objects_v2(Bucket=odd.bucket)
    assert listed(page) == s3_listing(odd.keys)
    assert {o["Key"]: o["Size"] for o in page["Contents"]} == {k: len(b) for k, b in odd.bodies.items()}


@pytest.mark.parametrize("prefix", ["", "data/", "a/", "x/", "/", "dir/", "ok"])
def test_a_listing_of_odd_keys_by_delimiter_gives_the_common_prefixes_s3_gives(gateway, odd, prefix):
    want = s3_listing(odd.keys, prefix, "/")
    assert listed(odd.store.client.list_objects_v2(Bucket=odd.bucket, Prefix=prefix, Delimiter="/")) == want
    assert listed(gateway.client().list_objects_v2(Bucket=odd.bucket, Prefix=prefix, Delimiter="/")) == want


def pages(call, follow):
    """Calls `call(**args)` until the listing ends, `follow(page)` giving the next args;
    every page's entries (keys, then common prefixes)."""
    out, args = [], {}
    for _ in range(50):
        page = call(**args)
        keys, prefixes = listed(page)
        assert len(keys) + len(prefixes) <= 2, page
        out.append(sorted(keys + prefixes, key=str.encode))
        if not page["IsTruncated"]:
            return out
        args = follow(page)
    raise AssertionError("the listing did not end")


@pytest.mark.parametrize("delimiter", [None, "/"])
def test_odd_keys_list_in_pages_of_two_each_once_in_order(gateway, odd, delimiter):
    s3 = gateway.client()
    extra = {"Delimiter": delimiter} if delimiter else {}
    keys, prefixes = s3_listing(odd.keys, "", delimiter)
    want = sorted(keys + prefixes, key=str.encode)
    v2 = pages(lambda **a: s3.list_objects_v2(Bucket=odd.bucket, MaxKeys=2, **extra, **a),
               lambda p: {"ContinuationToken": p["NextContinuationToken"]})
    assert sum(v2, []) == want
    # v1 gives NextMarker only with a delimiter; without one the next marker is the last key.
    v1 = pages(lambda **a: s3.list_objects(Bucket=odd.bucket, MaxKeys=2, **extra, **a),
               lambda p: {"Marker": p.get("NextMarker") or p["Contents"][-1]["Key"]})
    assert sum(v1, []) == want


def test_each_odd_key_reads_back_its_exact_body(gateway, odd):
    s3 = gateway.client()
    for k, body in odd.bodies.items():
        assert s3.get_object(Bucket=odd.bucket, Key=k)["Body"].read() == body, k
        assert s3.head_object(Bucket=odd.bucket, Key=k)["ContentLength"] == len(body), k
        assert s3.get_object(Bucket=odd.bucket, Key=k, Range="bytes=1-3")["Body"].read() == body[1:4], k


# -- writing odd keys through the gateway -------------------------------------------------

@pytest.mark.parametrize("key", WRITE_KEYS)
def test_an_s3_mount_stores_keys_s3_accepts_byte_for_byte(gateway, moto, key):
    with moto.mounted(gateway) as bucket:
        s3 = gateway.client()
        body = f"written through the gateway as {key!r}".encode()
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        assert [o["Key"] for o in moto.client.list_objects_v2(Bucket=bucket)["Contents"]] == [key]
        assert moto.body(bucket, key) == body
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body


@pytest.fixture(scope="module")
def local_mount(gateway):
    """(bucket, directory): a local mount of an empty directory."""
    root = tempfile.mkdtemp(prefix="arustio-native-local-")
    bucket = "local-" + uuid.uuid4().hex[:8]
    r = cli(gateway, "fs", "mount", f"/{bucket}", f"local://{root}")
    assert r.returncode == 0, r.stderr
    yield bucket, root
    cli(gateway, "fs", "unmount", f"/{bucket}")
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("key", WRITE_KEYS)
def test_a_local_mount_still_refuses_those_keys_with_400(gateway, local_mount, key):
    bucket, root = local_mount
    with pytest.raises(ClientError) as e:
        gateway.client().put_object(Bucket=bucket, Key=key, Body=b"refused")
    assert code(e) == ("InvalidArgument", 400), e.value.response["Error"]
    assert [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs] == []


# -- conditional writes over 8 MiB, decided by the store (MinIO) --------------------------

@pytest.fixture(scope="module")
def parts():
    """Two 5 MiB parts: a 10 MiB multipart body, over the 8 MiB a node alone decides."""
    return [os.urandom(5 * MIB), os.urandom(5 * MIB)]


def complete_multipart(s3, bucket, key, parts, before=None, **cond):
    """Uploads `parts` through `s3`, calls `before()`, and completes with `cond`; an upload
    refused is aborted."""
    up = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = [{"PartNumber": n, "ETag": s3.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=n, Body=p)["ETag"]}
            for n, p in enumerate(parts, 1)]
    if before:
        before()
    try:
        return s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": done}, **cond)
    except ClientError:
        with contextlib.suppress(ClientError):
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=up)
        raise


@pytest.fixture(scope="module")
def minio_mount(gateway, minio_store):
    with minio_store.mounted(gateway) as bucket:
        yield minio_store, bucket


def test_a_multipart_complete_with_if_none_match_over_an_existing_object_is_412(gateway, minio_mount, parts):
    """The object appears in the store (another tool) after the parts went up: only the
    store can know at Complete."""
    store, bucket = minio_mount
    s3 = gateway.client()
    with pytest.raises(ClientError) as e:
        complete_multipart(s3, bucket, "exists", parts, IfNoneMatch="*", before=lambda: store.client.put_object(
            Bucket=bucket, Key="exists", Body=b"written by another tool"))
    assert code(e) == ("PreconditionFailed", 412)
    assert store.body(bucket, "exists") == b"written by another tool"


def test_a_multipart_complete_with_a_stale_if_match_is_412_and_with_the_current_etag_replaces(gateway, minio_mount, parts):
    store, bucket = minio_mount
    s3 = gateway.client()
    s3.put_object(Bucket=bucket, Key="swap", Body=b"version 1")
    stale = s3.head_object(Bucket=bucket, Key="swap")["ETag"]
    store.client.put_object(Bucket=bucket, Key="swap", Body=b"version 2, by another tool")
    with pytest.raises(ClientError) as e:
        complete_multipart(s3, bucket, "swap", parts, IfMatch=stale)
    assert code(e) == ("PreconditionFailed", 412)
    assert store.body(bucket, "swap") == b"version 2, by another tool"
    current = s3.head_object(Bucket=bucket, Key="swap")["ETag"]
    assert current != stale
    out = complete_multipart(s3, bucket, "swap", parts, IfMatch=current)
    assert hashlib.md5(store.body(bucket, "swap")).digest() == hashlib.md5(b"".join(parts)).digest()
    assert s3.head_object(Bucket=bucket, Key="swap")["ETag"] == out["ETag"]


def test_a_multipart_complete_with_if_none_match_on_a_new_key_succeeds(gateway, minio_mount, parts):
    store, bucket = minio_mount
    s3 = gateway.client()
    out = complete_multipart(s3, bucket, "new-mp", parts, IfNoneMatch="*")
    assert hashlib.md5(store.body(bucket, "new-mp")).digest() == hashlib.md5(b"".join(parts)).digest()
    assert s3.head_object(Bucket=bucket, Key="new-mp")["ETag"] == out["ETag"]


def test_a_create_only_put_of_9_mib_over_an_existing_object_is_412(gateway, minio_mount):
    store, bucket = minio_mount
    store.client.put_object(Bucket=bucket, Key="taken", Body=b"there first")
    with pytest.raises(ClientError) as e:
        gateway.client().put_object(Bucket=bucket, Key="taken", Body=os.urandom(9 * MIB), IfNoneMatch="*")
    assert code(e) == ("PreconditionFailed", 412)
    assert store.body(bucket, "taken") == b"there first"


def test_create_only_puts_over_8_mib_have_one_winner_across_two_gateways(gateway, minio_store):
    """Two gateway processes over one MinIO bucket: 6 writers of 9 MiB bodies race for each
    of 3 new keys; the store, not a node's lock, picks one winner, whose bytes it holds."""
    bucket = minio_store.new_bucket()
    other = Gateway()
    try:
        for gw in (gateway, other):
            r = minio_store.mount(gw, bucket)
            assert r.returncode == 0, r.stderr
        clients = [gateway.client(), other.client()]
        bodies = [os.urandom(9 * MIB) for _ in range(6)]

        def attempt(key, i):
            try:
                clients[i % 2].put_object(Bucket=bucket, Key=key, Body=bodies[i], IfNoneMatch="*")
                return i
            except ClientError as e:
                assert e.response["Error"]["Code"] == "PreconditionFailed", e.response["Error"]
                return None

        for n in range(3):
            key = f"_delta_log/{n:05d}.json"
            with ThreadPoolExecutor(max_workers=6) as pool:
                winners = [i for i in pool.map(lambda i: attempt(key, i), range(6)) if i is not None]
            assert len(winners) == 1, f"round {n}: writers {winners} all won"
            assert hashlib.md5(minio_store.body(bucket, key)).digest() == hashlib.md5(bodies[winners[0]]).digest()
    finally:
        cli(gateway, "fs", "unmount", f"/{bucket}")
        other.stop()


# -- checksums pass through to the store and back (moto and MinIO) ------------------------

def checksum(alg, data):
    """The base64 value S3 gives for `data` under `alg`."""
    if alg in ("SHA256", "SHA1"):
        raw = hashlib.new(alg.lower(), data).digest()
    elif alg == "CRC32":
        raw = zlib.crc32(data).to_bytes(4, "big")
    else:
        from awscrt import checksums

        raw = checksums.crc32c(data).to_bytes(4, "big")
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize("alg", ["SHA256", "CRC32C", "CRC32", "SHA1"])
def test_a_checksum_sent_with_a_put_is_kept_by_the_store_and_returned(gateway, mounted, alg):
    """moto keeps a checksum only when `x-amz-sdk-checksum-algorithm` names it beside the
    `x-amz-checksum-*` value (as every AWS SDK sends them; AWS itself needs only the value),
    so the gateway passes both on."""
    store, bucket = mounted
    s3 = gateway.client()
    body, key = f"checksummed with {alg}".encode(), f"ck-{alg}"
    want = checksum(alg, body)
    out = s3.put_object(Bucket=bucket, Key=key, Body=body, ChecksumAlgorithm=alg)
    assert out.get(f"Checksum{alg}") == want
    direct = store.client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert direct.get(f"Checksum{alg}") == want, "the store keeps the checksum the client sent"
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head.get(f"Checksum{alg}") == want
    got = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert got["Body"].read() == body and got.get(f"Checksum{alg}") == want


def test_a_put_with_a_wrong_checksum_is_bad_digest_and_stores_nothing(gateway, mounted):
    """400 BadDigest, as AWS answers. moto keeps a wrong value without a check, so the
    gateway checks before it commits; MinIO's own refusal (400 XAmzContentChecksumMismatch)
    reaches the client as BadDigest too."""
    store, bucket = mounted
    s3 = gateway.client()
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="bad-digest", Body=b"the body", ChecksumSHA256=checksum("SHA256", b"another body"))
    assert code(e) == ("BadDigest", 400), e.value.response["Error"]
    assert store.missing(bucket, "bad-digest")
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="bad-digest")
    assert code(e)[1] == 404


@pytest.mark.parametrize("alg", ["CRC32", "CRC32C"])
def test_a_crc_sent_with_a_put_over_8_mib_is_kept_by_the_store_for_the_whole_object(gateway, mounted, alg):
    """A body over 8 MiB goes to the store in parts; the CRC the client sent for the whole
    body is kept by the store as a FULL_OBJECT checksum, checked by the store itself."""
    store, bucket = mounted
    s3 = gateway.client()
    body, key = os.urandom(9 * MIB + 17), f"big-ck-{alg}"
    want = checksum(alg, body)
    s3.put_object(Bucket=bucket, Key=key, Body=body, ChecksumAlgorithm=alg)
    if store.name == "moto" and alg == "CRC32C":
        # Measured: moto 5.2.5 keeps, for a CRC32C FULL_OBJECT upload (the gateway's or
        # boto3's own), the CRC32 of the body, whatever value Complete carried.
        assert gateway.client().head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")[f"Checksum{alg}"] == want
        pytest.skip("moto 5.2.5 keeps the CRC32 of the body as a CRC32C FULL_OBJECT checksum")
    direct = store.client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert direct.get(f"Checksum{alg}") == want, direct
    assert direct.get("ChecksumType") == "FULL_OBJECT", direct
    assert hashlib.md5(store.body(bucket, key)).digest() == hashlib.md5(body).digest()
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head.get(f"Checksum{alg}") == want
