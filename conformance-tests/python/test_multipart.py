"""boto3 against the gateway: multipart staging across a crash, and ListMultipartUploads paging."""

import hashlib
import os

from conftest import Gateway


def staging_dir(gw, upload_id):
    """The node-local staging dir of `upload_id` (`<node>-<id>`)."""
    return os.path.join(gw.data_dir, "multipart", upload_id.split("-", 1)[1])


def test_crash_leftovers_in_the_staging_dir_are_reclaimed_at_start():
    gw = Gateway()
    try:
        s3 = gw.client()
        s3.create_bucket(Bucket="crash")
        up = s3.create_multipart_upload(Bucket="crash", Key="k")["UploadId"]
        body = b"kept part " * 1000
        etag = s3.upload_part(Bucket="crash", Key="k", UploadId=up, PartNumber=1, Body=body)["ETag"]
        gw.kill()
        # What a crash can leave: part and upload.json temp files, a part never committed,
        # a dir whose upload.json was never written or was cut short, a stray temp file.
        staging = os.path.join(gw.data_dir, "multipart")
        live = staging_dir(gw, up)
        orphans = [os.path.join(live, n) for n in ["00002.0f0f0f.tmp", "upload.json.0f0f0f.tmp", "00003.part"]]
        no_json = os.path.join(staging, "0" * 31 + "1")
        cut_json = os.path.join(staging, "0" * 31 + "2")
        os.makedirs(no_json)
        os.makedirs(cut_json)
        orphans += [os.path.join(no_json, "00001.part"), os.path.join(cut_json, "upload.json"),
                    os.path.join(staging, "stray.tmp")]
        for path in orphans:
            with open(path, "wb") as f:
                f.write(b'{"upload_id": "cut sh')
        gw.restart()
        left = [p for p in orphans + [no_json, cut_json] if os.path.exists(p)]
        assert left == [], f"not reclaimed: {left}"
        # The upload that was committed is untouched.
        s3 = gw.client()
        assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="crash")["Uploads"]] == [up]
        parts = s3.list_parts(Bucket="crash", Key="k", UploadId=up)["Parts"]
        assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts] == [(1, etag, len(body))]
        s3.complete_multipart_upload(Bucket="crash", Key="k", UploadId=up,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
        assert s3.get_object(Bucket="crash", Key="k")["Body"].read() == body
        # Its parts are gone; only the record a retried Complete is answered from stays.
        assert os.listdir(staging) == [os.path.basename(live)]
        assert os.listdir(live) == ["completed.json"]
    finally:
        gw.stop()


def list_all_uploads(s3, bucket, **kw):
    """Every page of ListMultipartUploads, following NextKeyMarker and NextUploadIdMarker."""
    seen, markers, pages = [], {}, 0
    while True:
        page = s3.list_multipart_uploads(Bucket=bucket, **markers, **kw)
        pages += 1
        assert pages < 50, "the listing does not end"
        seen += [(u["Key"], u["UploadId"]) for u in page.get("Uploads", [])]
        if not page["IsTruncated"]:
            return seen, pages
        markers = {"KeyMarker": page["NextKeyMarker"], "UploadIdMarker": page["NextUploadIdMarker"]}


def test_list_uploads_pages_through_many_uploads_of_one_key(s3, bucket):
    created = []
    for key in ["same"] * 5 + ["a", "a", "z", "z/deeper"]:
        created.append((key, s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]))
    seen, pages = list_all_uploads(s3, bucket, MaxUploads=2)
    assert sorted(seen) == sorted(created), "every upload exactly once"
    assert len(seen) == len(set(seen))
    assert pages == 5
    # Keys in order, and within a key the order of one listing.
    whole = s3.list_multipart_uploads(Bucket=bucket)
    assert not whole["IsTruncated"]
    assert seen == [(u["Key"], u["UploadId"]) for u in whole["Uploads"]]
    assert [k for k, _ in seen] == sorted(k for k, _ in seen)
    # A key marker alone starts after every upload of that key.
    after = s3.list_multipart_uploads(Bucket=bucket, KeyMarker="same")["Uploads"]
    assert [u["Key"] for u in after] == ["z", "z/deeper"]
    # With an upload id marker, the rest of that key's uploads come first.
    same = [u for k, u in seen if k == "same"]
    rest = s3.list_multipart_uploads(Bucket=bucket, KeyMarker="same", UploadIdMarker=same[1])
    assert [u["UploadId"] for u in rest["Uploads"]] == same[2:] + [u for k, u in seen if k.startswith("z")]
    assert rest["KeyMarker"] == "same" and rest["UploadIdMarker"] == same[1]
    for key, up in created:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=up)


def test_concurrent_uploads_of_one_part_keep_bytes_and_etag_together(s3, bucket):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        for round in range(15):
            up = s3.create_multipart_upload(Bucket=bucket, Key="race")["UploadId"]
            bodies = [bytes([c]) * (64 * 1024 + round) for c in b"xy"]
            list(pool.map(lambda b: s3.upload_part(Bucket=bucket, Key="race", UploadId=up, PartNumber=1, Body=b),
                          bodies))
            (part,) = s3.list_parts(Bucket=bucket, Key="race", UploadId=up)["Parts"]
            s3.complete_multipart_upload(Bucket=bucket, Key="race", UploadId=up,
                                         MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
            got = s3.get_object(Bucket=bucket, Key="race")["Body"].read()
            assert got in bodies
            assert part["ETag"] == '"%s"' % hashlib.md5(got).hexdigest(), f"round {round}"
