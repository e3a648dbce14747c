"""The S3 API as boto3 sees it, against an in-process objectstore."""

import datetime
import hashlib
import io
import os

import botocore.exceptions
import pytest

from nova.objectstore.store import INLINE_MAX
from tests.unit.objectstore.conftest import PAIRS, client_for


def _code(excinfo):
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_bucket_lifecycle(s3):
    s3.create_bucket(Bucket="photos")
    s3.head_bucket(Bucket="photos")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["photos"]
    s3.create_bucket(Bucket="photos")  # your own bucket again, in the default region: 200, as us-east-1 answers
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.create_bucket(Bucket="photos", CreateBucketConfiguration={"LocationConstraint": "nova"})
    assert _code(err) == ("BucketAlreadyOwnedByYou", 409)
    s3.put_object(Bucket="photos", Key="k", Body=b"x")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.delete_bucket(Bucket="photos")
    assert _code(err) == ("BucketNotEmpty", 409)
    s3.delete_object(Bucket="photos", Key="k")
    s3.delete_bucket(Bucket="photos")
    assert s3.list_buckets()["Buckets"] == []
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.head_bucket(Bucket="photos")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_put_get_head_with_metadata_and_etag(s3):
    s3.create_bucket(Bucket="bk1")
    body = os.urandom(300_000)
    put = s3.put_object(Bucket="bk1", Key="dir/ünï code+plus.bin", Body=body, Metadata={"Colour": "blue"},
                        ContentType="application/x-test", CacheControl="max-age=5")
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket="bk1", Key="dir/ünï code+plus.bin")
    assert got["Body"].read() == body
    assert got["Metadata"] == {"colour": "blue"}
    assert got["ContentType"] == "application/x-test" and got["CacheControl"] == "max-age=5"
    head = s3.head_object(Bucket="bk1", Key="dir/ünï code+plus.bin")
    assert head["ContentLength"] == len(body) and head["ETag"] == put["ETag"]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket="bk1", Key="missing")
    assert _code(err) == ("NoSuchKey", 404)


def test_overwrite_replaces_bytes_and_leaves_no_garbage(s3, objectstore):
    s3.create_bucket(Bucket="bk1")
    root = os.path.join(objectstore.app.store.root, "bk1")

    def data_files() -> list[str]:
        return [f for _, _, names in os.walk(root) for f in names if not f.endswith(".json")]

    # Small bodies live in the object's metadata file, larger ones in a file of their own: every way round.
    large = os.urandom(INLINE_MAX + 1)
    for body, files in ((b"first version", 0), (large, 1), (b"second", 0), (large[::-1], 1), (large, 1)):
        s3.put_object(Bucket="bk1", Key="k", Body=body)
        assert s3.get_object(Bucket="bk1", Key="k")["Body"].read() == body
        assert len(data_files()) == files  # only the current bytes remain
        assert os.listdir(os.path.join(root, "tmp")) == []
    s3.delete_object(Bucket="bk1", Key="k")
    assert data_files() == []


def test_ranged_and_conditional_get(s3):
    s3.create_bucket(Bucket="bk1")
    body = bytes(range(256)) * 40
    etag = s3.put_object(Bucket="bk1", Key="r", Body=body)["ETag"]
    part = s3.get_object(Bucket="bk1", Key="r", Range="bytes=100-199")
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert part["Body"].read() == body[100:200] and part["ContentRange"] == f"bytes 100-199/{len(body)}"
    assert s3.get_object(Bucket="bk1", Key="r", Range="bytes=-10")["Body"].read() == body[-10:]
    assert s3.get_object(Bucket="bk1", Key="r", Range="bytes=10000-")["Body"].read() == body[10000:]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket="bk1", Key="r", Range=f"bytes={len(body)}-")
    assert _code(err) == ("InvalidRange", 416)
    assert s3.get_object(Bucket="bk1", Key="r", IfMatch=etag)["Body"].read() == body
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket="bk1", Key="r", IfMatch='"0000"')
    assert _code(err) == ("PreconditionFailed", 412)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket="bk1", Key="r", IfNoneMatch=etag)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket="bk1", Key="r", IfModifiedSince=future)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    past = datetime.datetime(2001, 1, 1, tzinfo=datetime.timezone.utc)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket="bk1", Key="r", IfUnmodifiedSince=past)
    assert _code(err) == ("PreconditionFailed", 412)


def _fill(s3, bucket, keys):
    s3.create_bucket(Bucket=bucket)
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())


KEYS = ["a.txt", "dir/1", "dir/2", "dir/sub/3", "e+f g", "zeta/x", "zeta/y"]


def test_list_objects_v2_prefix_delimiter_and_pages(s3):
    _fill(s3, "lst", KEYS)
    page = s3.list_objects_v2(Bucket="lst", Delimiter="/")
    assert [c["Key"] for c in page["Contents"]] == ["a.txt", "e+f g"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["dir/", "zeta/"]
    page = s3.list_objects_v2(Bucket="lst", Prefix="dir/", Delimiter="/")
    assert [c["Key"] for c in page["Contents"]] == ["dir/1", "dir/2"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["dir/sub/"]
    seen, token = [], None
    while True:
        kwargs = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket="lst", MaxKeys=3, **kwargs)
        seen += [c["Key"] for c in page.get("Contents", [])]
        assert page["KeyCount"] <= 3
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == KEYS
    assert [c["Key"] for c in s3.list_objects_v2(Bucket="lst", StartAfter="dir/2")["Contents"]] == KEYS[3:]
    paginator = s3.get_paginator("list_objects_v2")
    prefixes = [p["Prefix"] for page in paginator.paginate(Bucket="lst", Delimiter="/", PaginationConfig={"PageSize": 1})
                for p in page.get("CommonPrefixes", [])]
    assert prefixes == ["dir/", "zeta/"]


def test_list_objects_v1_markers(s3):
    _fill(s3, "lst", KEYS)
    page = s3.list_objects(Bucket="lst", MaxKeys=2, Delimiter="/")
    assert page["IsTruncated"] and [c["Key"] for c in page["Contents"]] == ["a.txt"]
    assert page["NextMarker"] == "dir/"
    page = s3.list_objects(Bucket="lst", Marker=page["NextMarker"], Delimiter="/")
    assert [c["Key"] for c in page["Contents"]] == ["e+f g"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["zeta/"]
    keys = [c["Key"] for page in s3.get_paginator("list_objects").paginate(Bucket="lst", PaginationConfig={"PageSize": 2})
            for c in page["Contents"]]
    assert keys == KEYS


def test_delete_objects(s3):
    _fill(s3, "del", ["a", "b", "c"])
    result = s3.delete_objects(Bucket="del", Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "nope"},
                                                                   {"Key": "../x"}]})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["a", "b", "nope"]
    assert result["Errors"][0]["Key"] == "../x" and result["Errors"][0]["Code"] == "InvalidArgument"
    assert [c["Key"] for c in s3.list_objects_v2(Bucket="del")["Contents"]] == ["c"]


def test_copy_object_keeps_or_replaces_metadata(s3):
    s3.create_bucket(Bucket="src")
    s3.create_bucket(Bucket="dst")
    s3.put_object(Bucket="src", Key="o", Body=b"payload", Metadata={"a": "1"}, ContentType="text/plain")
    copied = s3.copy_object(Bucket="dst", Key="copy", CopySource={"Bucket": "src", "Key": "o"})
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"payload").hexdigest()}"'
    got = s3.get_object(Bucket="dst", Key="copy")
    assert got["Body"].read() == b"payload" and got["Metadata"] == {"a": "1"} and got["ContentType"] == "text/plain"
    s3.copy_object(Bucket="src", Key="o", CopySource="src/o", Metadata={"b": "2"}, MetadataDirective="REPLACE")
    assert s3.head_object(Bucket="src", Key="o")["Metadata"] == {"b": "2"}
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.copy_object(Bucket="src", Key="o", CopySource="src/o")
    assert _code(err) == ("InvalidRequest", 400)


def test_multipart_upload(s3, objectstore):
    s3.create_bucket(Bucket="mpu")
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(5 * 1024 * 1024), b"tail"]
    upload = s3.create_multipart_upload(Bucket="mpu", Key="big", Metadata={"m": "v"})["UploadId"]
    etags = [s3.upload_part(Bucket="mpu", Key="big", UploadId=upload, PartNumber=i + 1, Body=p)["ETag"]
             for i, p in enumerate(parts)]
    listed = s3.list_parts(Bucket="mpu", Key="big", UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed] == [(i + 1, e, len(p)) for i, (e, p) in
                                                                         enumerate(zip(etags, parts))]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="mpu")["Uploads"]] == [upload]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.complete_multipart_upload(Bucket="mpu", Key="big", UploadId=upload, MultipartUpload={"Parts": [
            {"PartNumber": 2, "ETag": etags[1]}, {"PartNumber": 1, "ETag": etags[0]}]})
    assert _code(err) == ("InvalidPartOrder", 400)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.complete_multipart_upload(Bucket="mpu", Key="big", UploadId=upload, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}]})
    assert _code(err) == ("InvalidPart", 400)
    done = s3.complete_multipart_upload(Bucket="mpu", Key="big", UploadId=upload, MultipartUpload={"Parts": [
        {"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
    expected = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-3"
    assert done["ETag"] == f'"{expected}"'
    got = s3.get_object(Bucket="mpu", Key="big")
    assert hashlib.sha256(got["Body"].read()).digest() == hashlib.sha256(b"".join(parts)).digest()
    assert got["Metadata"] == {"m": "v"}
    assert "Uploads" not in s3.list_multipart_uploads(Bucket="mpu")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.upload_part(Bucket="mpu", Key="big", UploadId=upload, PartNumber=1, Body=b"late")
    assert _code(err) == ("NoSuchUpload", 404)


def test_multipart_small_part_and_abort(s3, objectstore):
    s3.create_bucket(Bucket="mpu")
    upload = s3.create_multipart_upload(Bucket="mpu", Key="k")["UploadId"]
    etags = [s3.upload_part(Bucket="mpu", Key="k", UploadId=upload, PartNumber=n, Body=b"tiny")["ETag"] for n in (1, 2)]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.complete_multipart_upload(Bucket="mpu", Key="k", UploadId=upload, MultipartUpload={"Parts": [
            {"PartNumber": n, "ETag": e} for n, e in zip((1, 2), etags)]})
    assert _code(err) == ("EntityTooSmall", 400)
    s3.abort_multipart_upload(Bucket="mpu", Key="k", UploadId=upload)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.list_parts(Bucket="mpu", Key="k", UploadId=upload)
    assert _code(err) == ("NoSuchUpload", 404)
    assert os.listdir(os.path.join(objectstore.app.store.root, "mpu", "uploads")) == []
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket="mpu", Key="k")


def test_upload_fileobj_and_download_with_transfer_manager(s3, tmp_path):
    s3.create_bucket(Bucket="tmx")
    data = os.urandom(12 * 1024 * 1024)
    s3.upload_fileobj(io.BytesIO(data), "tmx", "blob")  # multipart above 8 MiB
    assert s3.head_object(Bucket="tmx", Key="blob")["ETag"].endswith('-2"')
    target = tmp_path / "blob"
    s3.download_file("tmx", "blob", str(target))  # ranged GETs in parallel
    assert hashlib.md5(target.read_bytes()).digest() == hashlib.md5(data).digest()


@pytest.mark.parametrize("signature_version", ["s3", "s3v4"])
def test_signature_versions_and_presigned_urls(objectstore, signature_version):
    import urllib.request

    client = client_for(objectstore, signature_version=signature_version)
    client.create_bucket(Bucket="sig")
    client.put_object(Bucket="sig", Key="k k", Body=b"signed")
    assert client.get_object(Bucket="sig", Key="k k")["Body"].read() == b"signed"
    url = client.generate_presigned_url("get_object", Params={"Bucket": "sig", "Key": "k k"}, ExpiresIn=60)
    assert urllib.request.urlopen(url, timeout=10).read() == b"signed"
    put_url = client.generate_presigned_url("put_object", Params={"Bucket": "sig", "Key": "up"}, ExpiresIn=60)
    # urllib would add a form Content-Type the URL was not signed for (S3 would refuse it too).
    request = urllib.request.Request(put_url, data=b"via presigned put", method="PUT", headers={"Content-Type": ""})
    assert urllib.request.urlopen(request, timeout=10).status == 200
    assert client.get_object(Bucket="sig", Key="up")["Body"].read() == b"via presigned put"


def test_bare_access_key_uses_first_project(objectstore):
    bare = client_for(objectstore, project=False)
    bare.create_bucket(Bucket="bare")
    with_project = client_for(objectstore)
    assert [b["Name"] for b in with_project.list_buckets()["Buckets"]] == ["bare"]


def test_tenants_are_isolated(objectstore, s3):
    s3.create_bucket(Bucket="alices")
    s3.put_object(Bucket="alices", Key="secret", Body=b"mine")
    bob = client_for(objectstore, "bob")
    assert bob.list_buckets()["Buckets"] == []
    for call in (lambda: bob.get_object(Bucket="alices", Key="secret"),
                 lambda: bob.put_object(Bucket="alices", Key="x", Body=b"y"),
                 lambda: bob.list_objects_v2(Bucket="alices"),
                 lambda: bob.delete_object(Bucket="alices", Key="secret"),
                 lambda: bob.delete_bucket(Bucket="alices"),
                 lambda: bob.delete_objects(Bucket="alices", Delete={"Objects": [{"Key": "secret"}]})):
        with pytest.raises(botocore.exceptions.ClientError) as err:
            call()
        assert _code(err) == ("AccessDenied", 403)
    bob.create_bucket(Bucket="bobs")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        bob.copy_object(Bucket="bobs", Key="stolen", CopySource="alices/secret")
    assert _code(err) == ("AccessDenied", 403)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        bob.create_bucket(Bucket="alices")
    assert _code(err) == ("BucketAlreadyExists", 409)
    assert s3.get_object(Bucket="alices", Key="secret")["Body"].read() == b"mine"


def test_wrong_secret_and_unknown_key(objectstore):
    import boto3

    for access, secret, code in (("alice-access:proj-a", "wrong", "SignatureDoesNotMatch"),
                                 (PAIRS["alice"][0], "wrong", "SignatureDoesNotMatch"),
                                 ("nobody:proj-a", "x", "InvalidAccessKeyId"),
                                 ("alice-access:proj-b", "alice-secret", "AccessDenied"),
                                 ("alice-access:proj-a", "alice-secret", "AccessDenied")):  # use the pair
        client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{objectstore.port}", region_name="nova",
                              aws_access_key_id=access, aws_secret_access_key=secret)
        with pytest.raises(botocore.exceptions.ClientError) as err:
            client.list_buckets()
        assert _code(err) == (code, 403)


def test_managed_copy_uses_upload_part_copy(s3):
    s3.create_bucket(Bucket="cpy")
    data = os.urandom(12 * 1024 * 1024)
    s3.put_object(Bucket="cpy", Key="src", Body=data)
    s3.copy({"Bucket": "cpy", "Key": "src"}, "cpy", "dst")  # multipart copy above 8 MiB
    assert s3.head_object(Bucket="cpy", Key="dst")["ETag"].endswith('-2"')
    assert hashlib.md5(s3.get_object(Bucket="cpy", Key="dst")["Body"].read()).digest() == hashlib.md5(data).digest()
    upload = s3.create_multipart_upload(Bucket="cpy", Key="ranged")["UploadId"]
    part = s3.upload_part_copy(Bucket="cpy", Key="ranged", UploadId=upload, PartNumber=1,
                               CopySource={"Bucket": "cpy", "Key": "src"}, CopySourceRange="bytes=10-19")
    s3.complete_multipart_upload(Bucket="cpy", Key="ranged", UploadId=upload, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket="cpy", Key="ranged")["Body"].read() == data[10:20]
