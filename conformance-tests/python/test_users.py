"""Users and grants through real clients: `arustio user ...` makes users, boto3 and the
aws CLI sign as them, and every S3 request is held to the user's grants (reads, writes,
listings of a prefix, copies, bulk deletes, presigned URLs); the admin API takes the root
pair only; a rotated or removed secret stops working; secrets never show in the clear."""

import json
import os
import subprocess

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Gateway, cli, start_cluster


def user_client(gw, creds, **cfg):
    return boto3.client("s3", endpoint_url=gw.endpoint, aws_access_key_id=creds["access_key"],
                        aws_secret_access_key=creds["secret_key"], region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **cfg))


def add_user(gw, name):
    r = cli(gw, "user", "add", name, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def grant(gw, name, target, access):
    r = cli(gw, "user", "grant", name, target, access)
    assert r.returncode == 0, r.stderr


def code(e):
    return e.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def gw():
    g = Gateway()
    root = g.client()
    for b in ["shared", "private", "team"]:
        root.create_bucket(Bucket=b)
    root.put_object(Bucket="shared", Key="x", Body=b"shared bytes")
    root.put_object(Bucket="private", Key="p", Body=b"private bytes")
    root.put_object(Bucket="team", Key="bob/b", Body=b"bob's")
    root.put_object(Bucket="team", Key="alice/a", Body=b"alice's")
    yield g
    g.stop()


@pytest.fixture(scope="module")
def alice(gw):
    creds = add_user(gw, "alice")
    return creds


def test_a_user_without_grants_sees_and_reads_nothing(gw, alice):
    s3 = user_client(gw, alice)
    assert s3.list_buckets()["Buckets"] == []
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="shared", Key="x")
    assert code(e) == "AccessDenied"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_grants_hold_each_request(gw, alice):
    grant(gw, "alice", "shared", "read")
    grant(gw, "alice", "team/alice/", "write")
    s3 = user_client(gw, alice)
    assert sorted(b["Name"] for b in s3.list_buckets()["Buckets"]) == ["shared", "team"]
    assert s3.get_object(Bucket="shared", Key="x")["Body"].read() == b"shared bytes"
    s3.head_bucket(Bucket="shared")
    for bucket, key in [("shared", "y"), ("team", "bob/z"), ("team", "z"), ("private", "q")]:
        with pytest.raises(ClientError) as e:
            s3.put_object(Bucket=bucket, Key=key, Body=b"no")
        assert code(e) == "AccessDenied", (bucket, key)
    s3.put_object(Bucket="team", Key="alice/z", Body=b"mine")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="team", Key="bob/b")
    assert code(e) == "AccessDenied"
    for call in [lambda: s3.list_objects_v2(Bucket="private"), lambda: s3.head_bucket(Bucket="private"),
                 lambda: s3.delete_bucket(Bucket="shared"), lambda: s3.create_bucket(Bucket="newbucket"),
                 lambda: s3.delete_object(Bucket="shared", Key="x")]:
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) in ("AccessDenied", "403"), e.value.response
    assert gw.client().get_object(Bucket="shared", Key="x")["Body"].read() == b"shared bytes", "nothing deleted"


def test_a_listing_of_a_prefix_grant_shows_that_prefix_only(gw, alice):
    s3 = user_client(gw, alice)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="team").get("Contents", [])]
    assert keys == ["alice/a", "alice/z"]
    top = s3.list_objects_v2(Bucket="team", Delimiter="/")
    assert [p["Prefix"] for p in top.get("CommonPrefixes", [])] == ["alice/"]
    assert "Contents" not in top
    v1 = [o["Key"] for o in s3.list_objects(Bucket="team").get("Contents", [])]
    assert v1 == ["alice/a", "alice/z"]
    # Pages of 1 still reach every key of the prefix, and nothing else.
    seen, token = [], None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket="team", MaxKeys=1, **kw)
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == ["alice/a", "alice/z"]


def test_a_copy_needs_read_on_the_source_and_write_on_the_target(gw, alice):
    s3 = user_client(gw, alice)
    s3.copy_object(Bucket="team", Key="alice/copied", CopySource={"Bucket": "shared", "Key": "x"})
    assert gw.client().get_object(Bucket="team", Key="alice/copied")["Body"].read() == b"shared bytes"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket="team", Key="alice/stolen", CopySource={"Bucket": "private", "Key": "p"})
    assert code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket="shared", Key="planted", CopySource={"Bucket": "team", "Key": "alice/a"})
    assert code(e) == "AccessDenied"


def test_a_bulk_delete_is_held_to_the_grants_key_by_key(gw, alice):
    s3 = user_client(gw, alice)
    s3.put_object(Bucket="team", Key="alice/gone", Body=b"x")
    r = s3.delete_objects(Bucket="team", Delete={"Objects": [{"Key": "alice/gone"}, {"Key": "bob/b"}]})
    assert [d["Key"] for d in r.get("Deleted", [])] == ["alice/gone"]
    assert [(x["Key"], x["Code"]) for x in r.get("Errors", [])] == [("bob/b", "AccessDenied")]
    assert gw.client().get_object(Bucket="team", Key="bob/b")["Body"].read() == b"bob's"


def test_presigned_urls_carry_the_signers_rights(gw, alice):
    s3 = user_client(gw, alice)
    ok = s3.generate_presigned_url("get_object", Params={"Bucket": "shared", "Key": "x"}, ExpiresIn=60)
    assert requests.get(ok, timeout=10).content == b"shared bytes"
    no = s3.generate_presigned_url("get_object", Params={"Bucket": "private", "Key": "p"}, ExpiresIn=60)
    r = requests.get(no, timeout=10)
    assert r.status_code == 403 and b"AccessDenied" in r.content
    put = s3.generate_presigned_url("put_object", Params={"Bucket": "shared", "Key": "via-url"}, ExpiresIn=60)
    assert requests.put(put, data=b"x", timeout=10).status_code == 403
    # The aws CLI presigns with SigV2.
    env = dict(os.environ, AWS_ACCESS_KEY_ID=alice["access_key"], AWS_SECRET_ACCESS_KEY=alice["secret_key"],
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    for key, status in [("shared/x", 200), ("private/p", 403)]:
        url = subprocess.run(["aws", "--endpoint-url", gw.endpoint, "s3", "presign", f"s3://{key}"], env=env,
                             capture_output=True, text=True, timeout=60, check=True).stdout.strip()
        assert "Signature=" in url and "X-Amz-" not in url, url
        assert requests.get(url, timeout=10).status_code == status, key


def test_a_users_key_cannot_call_the_admin_api(gw, alice):
    r = cli(gw, "fs", "mount", "/stolen", "local:///etc", env={"ARUSTIO_ACCESS_KEY": alice["access_key"],
                                                            "ARUSTIO_SECRET_KEY": alice["secret_key"]})
    assert r.returncode != 0
    assert "admin call refused: unknown access key" in r.stderr, r.stderr
    assert "/stolen" not in cli(gw, "fs", "list").stdout
    r = cli(gw, "user", "list", env={"ARUSTIO_ACCESS_KEY": alice["access_key"], "ARUSTIO_SECRET_KEY": alice["secret_key"]})
    assert r.returncode != 0


def test_list_shows_no_secret_and_the_store_holds_none_in_the_clear(gw, alice):
    r = cli(gw, "user", "list", "--json")
    assert r.returncode == 0, r.stderr
    users = json.loads(r.stdout)
    assert [u["name"] for u in users] == ["alice"]
    assert users[0]["access_key"] == alice["access_key"]
    assert {"bucket": "team", "prefix": "alice/", "access": "write"} in users[0]["grants"]
    assert alice["secret_key"] not in r.stdout
    table = cli(gw, "user", "list")
    assert "alice" in table.stdout and alice["secret_key"] not in table.stdout
    secret = alice["secret_key"].encode()
    for root, _, files in os.walk(gw.data_dir):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                assert secret not in fh.read(), f"{f} holds the secret in the clear"
    assert secret not in open(os.path.join(gw.data_dir, "server.log"), "rb").read()


def test_rotate_and_remove(gw):
    bob = add_user(gw, "bob")
    grant(gw, "bob", "shared", "read")
    assert user_client(gw, bob).get_object(Bucket="shared", Key="x")["Body"].read() == b"shared bytes"
    r = cli(gw, "user", "rotate", "bob", "--json")
    assert r.returncode == 0, r.stderr
    new = json.loads(r.stdout)
    assert new["access_key"] == bob["access_key"] and new["secret_key"] != bob["secret_key"]
    with pytest.raises(ClientError) as e:
        user_client(gw, bob).get_object(Bucket="shared", Key="x")
    assert code(e) == "SignatureDoesNotMatch"
    assert user_client(gw, new).get_object(Bucket="shared", Key="x")["Body"].read() == b"shared bytes"
    assert cli(gw, "user", "revoke", "bob", "shared").returncode == 0
    with pytest.raises(ClientError) as e:
        user_client(gw, new).get_object(Bucket="shared", Key="x")
    assert code(e) == "AccessDenied"
    assert cli(gw, "user", "remove", "bob").returncode == 0
    with pytest.raises(ClientError) as e:
        user_client(gw, new).list_buckets()
    assert code(e) == "InvalidAccessKeyId"


def test_bad_commands_get_one_line():
    gw = Gateway()
    try:
        for args, words in [(["user", "grant", "nobody", "shared", "read"], "no user nobody"),
                            (["user", "add", "bad name"], "user name"),
                            (["user", "add", "carol"], None),
                            (["user", "add", "carol"], "exists"),
                            (["user", "grant", "carol", "shared", "owner"], "access level"),
                            (["user", "revoke", "carol", "shared"], "no grant"),
                            (["user", "remove", "nobody"], "no user nobody")]:
            r = cli(gw, *args)
            if words is None:
                assert r.returncode == 0, r.stderr
                continue
            assert r.returncode != 0, args
            assert words in r.stderr and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)
    finally:
        gw.stop()


def test_a_user_works_on_every_node_of_a_cluster():
    nodes = start_cluster("users")
    try:
        assert cli(nodes[0], "fs", "mount", "/shared", "mem://shared-store").returncode == 0
        dave = add_user(nodes[1], "dave")
        grant(nodes[2], "dave", "shared", "write")
        for i, n in enumerate(nodes):
            user_client(n, dave).put_object(Bucket="shared", Key=f"from-{i}", Body=b"x")
            with pytest.raises(ClientError) as e:
                user_client(n, dave).create_bucket(Bucket=f"made-{i}")
            assert code(e) == "AccessDenied"
    finally:
        for n in nodes:
            n.stop()
