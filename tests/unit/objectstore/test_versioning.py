"""Bucket versioning and ListObjectVersions, as boto3 drives them."""

import botocore.exceptions
import pytest



def _code(excinfo):
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_never_versioned_bucket_lists_null_versions_and_empties_by_version(s3):
    s3.create_bucket(Bucket="plain")
    assert "Status" not in s3.get_bucket_versioning(Bucket="plain")
    s3.put_object(Bucket="plain", Key="a", Body=b"1")
    s3.put_object(Bucket="plain", Key="a", Body=b"2")
    listed = s3.list_object_versions(Bucket="plain")
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in listed["Versions"]] == [("a", "null", True)]
    assert "x-amz-version-id" not in s3.put_object(Bucket="plain", Key="b", Body=b"")["ResponseMetadata"][
        "HTTPHeaders"]
    s3.delete_objects(Bucket="plain", Delete={"Objects": [{"Key": "a", "VersionId": "null"},
                                                          {"Key": "b", "VersionId": "null"}]})
    assert "Versions" not in s3.list_object_versions(Bucket="plain")
    s3.delete_bucket(Bucket="plain")


def test_enabled_versioning_keeps_versions_and_delete_markers(s3):
    s3.create_bucket(Bucket="ver")
    s3.put_object(Bucket="ver", Key="k", Body=b"before")  # written before versioning: the null version
    s3.put_bucket_versioning(Bucket="ver", VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket="ver")["Status"] == "Enabled"
    v1 = s3.put_object(Bucket="ver", Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket="ver", Key="k", Body=b"two")["VersionId"]
    assert v1 != v2 and len(v1) == 32
    assert s3.get_object(Bucket="ver", Key="k")["Body"].read() == b"two"
    assert s3.get_object(Bucket="ver", Key="k", VersionId=v1)["Body"].read() == b"one"
    assert s3.get_object(Bucket="ver", Key="k", VersionId="null")["Body"].read() == b"before"
    head = s3.head_object(Bucket="ver", Key="k", VersionId=v1)
    assert head["VersionId"] == v1 and head["ContentLength"] == 3
    ranged = s3.get_object(Bucket="ver", Key="k", VersionId=v1, Range="bytes=1-")
    assert ranged["Body"].read() == b"ne" and ranged["ResponseMetadata"]["HTTPStatusCode"] == 206
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket="ver", Key="k", VersionId=v1, IfNoneMatch=head["ETag"])
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304

    deleted = s3.delete_object(Bucket="ver", Key="k")
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket="ver", Key="k")
    assert _code(err) == ("NoSuchKey", 404)
    assert err.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket="ver", Key="k", VersionId=marker)
    assert _code(err) == ("MethodNotAllowed", 405)
    assert "Contents" not in s3.list_objects_v2(Bucket="ver")

    listed = s3.list_object_versions(Bucket="ver")
    assert [(v["VersionId"], v["IsLatest"]) for v in listed["Versions"]] == [(v2, False), (v1, False),
                                                                           ("null", False)]
    assert [(m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]] == [(marker, True)]
    s3.put_object(Bucket="ver", Key="dir/a", Body=b"a")
    s3.put_object(Bucket="ver", Key="dir/a", Body=b"a2")
    grouped = s3.list_object_versions(Bucket="ver", Delimiter="/")
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["dir/"]
    assert {v["Key"] for v in grouped["Versions"]} == {"k"}
    assert [v["IsLatest"] for v in s3.list_object_versions(Bucket="ver", Prefix="dir/")["Versions"]] == [True, False]
    for version in s3.list_object_versions(Bucket="ver", Prefix="dir/")["Versions"]:
        s3.delete_object(Bucket="ver", Key="dir/a", VersionId=version["VersionId"])
    page = s3.list_object_versions(Bucket="ver", MaxKeys=2)
    assert page["IsTruncated"] is True
    rest = s3.list_object_versions(Bucket="ver", KeyMarker=page["NextKeyMarker"],
                                   VersionIdMarker=page["NextVersionIdMarker"])
    assert len(rest.get("Versions", [])) + len(rest.get("DeleteMarkers", [])) == 2

    # Removing the delete marker brings the newest version back.
    s3.delete_object(Bucket="ver", Key="k", VersionId=marker)
    assert s3.get_object(Bucket="ver", Key="k")["Body"].read() == b"two"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket="ver", Key="k", VersionId="0" * 32)
    assert _code(err) == ("NoSuchVersion", 404)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_object(Bucket="ver", Key="k", VersionId="not-a-version")
    assert _code(err) == ("InvalidArgument", 400)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.delete_bucket(Bucket="ver")
    assert _code(err) == ("BucketNotEmpty", 409)

    # Emptying by versions, as clients do, leaves a bucket that can go.
    listed = s3.list_object_versions(Bucket="ver")
    objects = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in listed.get("Versions", []) +
               listed.get("DeleteMarkers", [])]
    s3.delete_objects(Bucket="ver", Delete={"Objects": objects})
    assert "Versions" not in s3.list_object_versions(Bucket="ver")
    s3.delete_bucket(Bucket="ver")


def test_suspended_versioning_overwrites_the_null_version(s3):
    s3.create_bucket(Bucket="sus")
    s3.put_bucket_versioning(Bucket="sus", VersioningConfiguration={"Status": "Enabled"})
    kept = s3.put_object(Bucket="sus", Key="k", Body=b"kept")["VersionId"]
    s3.put_bucket_versioning(Bucket="sus", VersioningConfiguration={"Status": "Suspended"})
    assert s3.put_object(Bucket="sus", Key="k", Body=b"n1")["VersionId"] == "null"
    s3.put_object(Bucket="sus", Key="k", Body=b"n2")
    versions = s3.list_object_versions(Bucket="sus")["Versions"]
    assert [v["VersionId"] for v in versions] == ["null", kept]
    assert s3.get_object(Bucket="sus", Key="k")["Body"].read() == b"n2"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_bucket_versioning(Bucket="sus", VersioningConfiguration={"Status": "Off"})
    assert _code(err) == ("MalformedXML", 400)


def test_multipart_upload_and_copy_make_new_versions(s3):
    s3.create_bucket(Bucket="mpv")
    s3.put_bucket_versioning(Bucket="mpv", VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket="mpv", Key="k", Body=b"small")["VersionId"]
    upload = s3.create_multipart_upload(Bucket="mpv", Key="k", Tagging="via=multipart")["UploadId"]
    etag = s3.upload_part(Bucket="mpv", Key="k", PartNumber=1, UploadId=upload, Body=b"part")["ETag"]
    done = s3.complete_multipart_upload(Bucket="mpv", Key="k", UploadId=upload,
                                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert done["VersionId"] not in (first, "null")
    assert s3.get_object_tagging(Bucket="mpv", Key="k")["TagSet"] == [{"Key": "via", "Value": "multipart"}]
    copied = s3.copy_object(Bucket="mpv", Key="k", CopySource={"Bucket": "mpv", "Key": "k", "VersionId": first})
    assert copied["CopySourceVersionId"] == first
    assert s3.get_object(Bucket="mpv", Key="k")["Body"].read() == b"small"
    assert len(s3.list_object_versions(Bucket="mpv")["Versions"]) == 3


def test_a_restart_sweep_keeps_the_bytes_of_older_versions(s3):
    """The start-up sweep removes data files no record names; the archived versions' records name theirs."""
    from nova.objectstore.store import Store

    s3.create_bucket(Bucket="kept")
    s3.put_bucket_versioning(Bucket="kept", VersioningConfiguration={"Status": "Enabled"})
    old = s3.put_object(Bucket="kept", Key="k", Body=b"old bytes")["VersionId"]
    s3.put_object(Bucket="kept", Key="k", Body=b"new bytes")
    Store()  # what nova-objectstore does when it starts: a sweep of everything unreferenced
    assert s3.get_object(Bucket="kept", Key="k", VersionId=old)["Body"].read() == b"old bytes"
    assert s3.get_object(Bucket="kept", Key="k")["Body"].read() == b"new bytes"
