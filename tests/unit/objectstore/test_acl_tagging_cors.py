"""ACLs and anonymous access, tagging, CORS, browser POST, public access block and object attributes."""

import botocore.exceptions
import pytest
import requests

from tests.unit.objectstore.conftest import client_for


def _code(excinfo):
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def _url(server, path):
    return f"http://127.0.0.1:{server.port}{path}"


def test_canned_and_granted_acls_decide_who_reads_and_writes(s3, objectstore):
    bob = client_for(objectstore, "bob")
    s3.create_bucket(Bucket="shared")
    s3.put_object(Bucket="shared", Key="public", Body=b"for all", ACL="public-read")
    s3.put_object(Bucket="shared", Key="private", Body=b"mine")
    assert requests.get(_url(objectstore, "/shared/public")).content == b"for all"
    anonymous = requests.get(_url(objectstore, "/shared/private"))
    assert anonymous.status_code == 403 and b"<Code>AccessDenied</Code>" in anonymous.content
    assert requests.get(_url(objectstore, "/shared/missing")).status_code == 403  # no listing leak
    assert requests.get(_url(objectstore, "/shared")).status_code == 403
    assert requests.get(_url(objectstore, "/")).status_code == 403
    assert bob.get_object(Bucket="shared", Key="public")["Body"].read() == b"for all"
    for call in (lambda: bob.get_object(Bucket="shared", Key="private"),
                 lambda: bob.put_object(Bucket="shared", Key="public", Body=b"defaced"),
                 lambda: bob.put_object_acl(Bucket="shared", Key="public", ACL="private")):
        with pytest.raises(botocore.exceptions.ClientError) as err:
            call()
        assert _code(err) == ("AccessDenied", 403)
    acl = s3.get_object_acl(Bucket="shared", Key="public")
    assert acl["Owner"]["ID"] == "proj-a"
    assert {(g["Grantee"].get("URI") or g["Grantee"].get("ID"), g["Permission"]) for g in acl["Grants"]} == {
        ("proj-a", "FULL_CONTROL"), ("http://acs.amazonaws.com/groups/global/AllUsers", "READ")}

    # A grant to another project by id, in a header and in a document.
    s3.put_object_acl(Bucket="shared", Key="private", GrantRead='id="proj-b"')
    assert bob.get_object(Bucket="shared", Key="private")["Body"].read() == b"mine"
    s3.put_object_acl(Bucket="shared", Key="private", ACL="private")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        bob.get_object(Bucket="shared", Key="private")
    assert _code(err) == ("AccessDenied", 403)
    policy = s3.get_bucket_acl(Bucket="shared")
    policy["Grants"].append({"Grantee": {"Type": "CanonicalUser", "ID": "proj-b"}, "Permission": "WRITE"})
    s3.put_bucket_acl(Bucket="shared", AccessControlPolicy={"Grants": policy["Grants"], "Owner": policy["Owner"]})
    bob.put_object(Bucket="shared", Key="from-bob", Body=b"b")
    assert s3.get_object(Bucket="shared", Key="from-bob")["Body"].read() == b"b"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_object_acl(Bucket="shared", Key="public", GrantRead='id="no-such-project"')
    assert _code(err) == ("InvalidArgument", 400)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_object_acl(Bucket="shared", Key="public", ACL="private", GrantRead='id="proj-b"')
    assert _code(err) == ("InvalidRequest", 400)
    bad = requests.put(_url(objectstore, "/shared?acl"), data=b"<AccessControlPolicy><Nope/>")
    assert bad.status_code == 403  # anonymous: refused before the body is read
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_object(Bucket="shared", Key="x", Body=b"", ACL="everyone-please")
    assert _code(err) == ("InvalidArgument", 400)

    # A public-read bucket lists for anyone; an authenticated-read one for any project, not anonymously.
    s3.create_bucket(Bucket="open", ACL="public-read")
    s3.put_object(Bucket="open", Key="listed", Body=b"")
    assert b"<Key>listed</Key>" in requests.get(_url(objectstore, "/open")).content
    assert requests.put(_url(objectstore, "/open/new"), data=b"x").status_code == 403
    s3.create_bucket(Bucket="members", ACL="authenticated-read")
    assert bob.list_objects_v2(Bucket="members")["KeyCount"] == 0
    assert requests.get(_url(objectstore, "/members")).status_code == 403


def test_malformed_acl_document(s3, objectstore):
    s3.create_bucket(Bucket="acl-doc")
    event_system = s3.meta.events

    def replace_body(request, **_):
        request.data = b"<AccessControlPolicy><AccessControlList><Grant><Grantee/></Grant>" \
                       b"</AccessControlList></AccessControlPolicy>"
        for name in [n for n in request.headers if n.lower() == "content-md5" or "checksum" in n.lower()]:
            del request.headers[name]

    event_system.register_first("before-sign.s3.PutBucketAcl", replace_body)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_bucket_acl(Bucket="acl-doc", AccessControlPolicy={"Grants": [], "Owner": {"ID": "proj-a"}})
    assert _code(err) == ("MalformedACLError", 400)


def test_public_access_block_refuses_and_ignores_public_acls(s3, objectstore):
    s3.create_bucket(Bucket="blocked")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_public_access_block(Bucket="blocked")
    assert _code(err) == ("NoSuchPublicAccessBlockConfiguration", 404)
    s3.put_object(Bucket="blocked", Key="was-public", Body=b"p", ACL="public-read")
    s3.put_public_access_block(Bucket="blocked", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False, "RestrictPublicBuckets": False})
    config = s3.get_public_access_block(Bucket="blocked")["PublicAccessBlockConfiguration"]
    assert config["BlockPublicAcls"] is True and config["BlockPublicPolicy"] is False
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_object(Bucket="blocked", Key="k", Body=b"", ACL="public-read")
    assert _code(err) == ("AccessDenied", 403)
    assert requests.get(_url(objectstore, "/blocked/was-public")).status_code == 403
    s3.delete_public_access_block(Bucket="blocked")
    assert requests.get(_url(objectstore, "/blocked/was-public")).content == b"p"


def test_object_and_bucket_tagging(s3):
    s3.create_bucket(Bucket="tags")
    s3.put_object(Bucket="tags", Key="k", Body=b"x", Tagging="colour=blue&size=big")
    assert s3.get_object(Bucket="tags", Key="k")["TagCount"] == 2
    assert {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket="tags", Key="k")["TagSet"]} == {
        "colour": "blue", "size": "big"}
    s3.put_object_tagging(Bucket="tags", Key="k", Tagging={"TagSet": [{"Key": "only", "Value": "one"}]})
    s3.copy_object(Bucket="tags", Key="copy", CopySource="tags/k")
    assert s3.get_object_tagging(Bucket="tags", Key="copy")["TagSet"] == [{"Key": "only", "Value": "one"}]
    s3.copy_object(Bucket="tags", Key="copy2", CopySource="tags/k", TaggingDirective="REPLACE", Tagging="a=b")
    assert s3.get_object_tagging(Bucket="tags", Key="copy2")["TagSet"] == [{"Key": "a", "Value": "b"}]
    s3.delete_object_tagging(Bucket="tags", Key="k")
    assert s3.get_object_tagging(Bucket="tags", Key="k")["TagSet"] == []
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_object_tagging(Bucket="tags", Key="k", Tagging={"TagSet": [{"Key": "d", "Value": "1"},
                                                                          {"Key": "d", "Value": "2"}]})
    assert _code(err) == ("InvalidTag", 400)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_bucket_tagging(Bucket="tags")
    assert _code(err) == ("NoSuchTagSet", 404)
    s3.put_bucket_tagging(Bucket="tags", Tagging={"TagSet": [{"Key": "team", "Value": "nova"}]})
    assert s3.get_bucket_tagging(Bucket="tags")["TagSet"] == [{"Key": "team", "Value": "nova"}]
    s3.delete_bucket_tagging(Bucket="tags")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_bucket_tagging(Bucket="tags")
    assert _code(err) == ("NoSuchTagSet", 404)


def test_cors_configuration_and_preflight(s3, objectstore):
    s3.create_bucket(Bucket="web")
    s3.put_object(Bucket="web", Key="page", Body=b"html", ACL="public-read")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_bucket_cors(Bucket="web")
    assert _code(err) == ("NoSuchCORSConfiguration", 404)
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "PUT"}
    assert requests.options(_url(objectstore, "/web/page"), headers=preflight).status_code == 403
    s3.put_bucket_cors(Bucket="web", CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": ["https://*.example"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["content-*"],
        "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600}]})
    assert s3.get_bucket_cors(Bucket="web")["CORSRules"][0]["AllowedMethods"] == ["GET", "PUT"]
    ok = requests.options(_url(objectstore, "/web/page"),
                          headers={**preflight, "Access-Control-Request-Headers": "Content-Type"})
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "PUT" in ok.headers["Access-Control-Allow-Methods"] and ok.headers["Access-Control-Max-Age"] == "600"
    refused = requests.options(_url(objectstore, "/web/page"), headers={**preflight,
                                                                        "Access-Control-Request-Method": "DELETE"})
    assert refused.status_code == 403 and b"AccessForbidden" in refused.content
    got = requests.get(_url(objectstore, "/web/page"), headers={"Origin": "https://app.example"})
    assert got.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert got.headers["Access-Control-Expose-Headers"] == "ETag"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_bucket_cors(Bucket="web", CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["*"],
                                                                           "AllowedMethods": ["PATCH"]}]})
    assert _code(err) == ("InvalidRequest", 400)
    s3.delete_bucket_cors(Bucket="web")
    assert requests.options(_url(objectstore, "/web/page"), headers=preflight).status_code == 403


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_browser_post_upload_with_a_signed_policy(objectstore, signature_version):
    s3 = client_for(objectstore, signature_version=signature_version)
    s3.create_bucket(Bucket="forms")
    post = s3.generate_presigned_post("forms", "uploads/${filename}", Fields={"acl": "public-read"},
                                      Conditions=[{"acl": "public-read"}, ["content-length-range", 1, 100]])
    sent = requests.post(post["url"], data=post["fields"], files={"file": ("hello.txt", b"posted bytes")})
    assert sent.status_code == 204, sent.content
    assert requests.get(_url(objectstore, "/forms/uploads/hello.txt")).content == b"posted bytes"
    too_big = requests.post(post["url"], data=post["fields"], files={"file": ("big.txt", b"x" * 101)})
    assert too_big.status_code == 400 and b"EntityTooLarge" in too_big.content
    assert "Contents" not in s3.list_objects_v2(Bucket="forms", Prefix="uploads/big")
    extra = requests.post(post["url"], data={**post["fields"], "x-amz-meta-sneaky": "1"},
                          files={"file": ("a.txt", b"a")})
    assert extra.status_code == 403 and b"Extra input fields" in extra.content
    wrong_acl = requests.post(post["url"], data={**post["fields"], "acl": "public-read-write"},
                              files={"file": ("a.txt", b"a")})
    assert wrong_acl.status_code == 403 and b"Policy Condition failed" in wrong_acl.content
    forged = dict(post["fields"])
    forged["policy"] = forged["policy"][:-4] + "AAAA"
    assert requests.post(post["url"], data=forged, files={"file": ("a.txt", b"a")}).status_code in (400, 403)
    expired = s3.generate_presigned_post("forms", "late", ExpiresIn=-10)
    late = requests.post(expired["url"], data=expired["fields"], files={"file": ("a.txt", b"a")})
    assert late.status_code == 403 and b"Policy expired" in late.content
    created = s3.generate_presigned_post("forms", "c", Fields={"success_action_status": "201"},
                                         Conditions=[{"success_action_status": "201"}])
    answer = requests.post(created["url"], data=created["fields"], files={"file": ("c", b"c")})
    assert answer.status_code == 201 and b"<Key>c</Key>" in answer.content


def test_get_object_attributes_and_max_keys_zero(s3):
    s3.create_bucket(Bucket="attrs")
    put = s3.put_object(Bucket="attrs", Key="k", Body=b"12345")
    got = s3.get_object_attributes(Bucket="attrs", Key="k", ObjectAttributes=["ETag", "ObjectSize", "StorageClass"])
    assert got["ETag"] == put["ETag"].strip('"') and got["ObjectSize"] == 5 and got["StorageClass"] == "STANDARD"
    listed = s3.list_objects_v2(Bucket="attrs", MaxKeys=0)
    assert listed["IsTruncated"] is False and listed["KeyCount"] == 0 and "Contents" not in listed
    assert s3.list_objects(Bucket="attrs", MaxKeys=0)["IsTruncated"] is False


def test_aws_exec_read_and_log_delivery_write_canned_acls_grant_what_aws_defines(s3, objectstore):
    s3.create_bucket(Bucket="logs", ACL="log-delivery-write")
    grants = {(g["Grantee"].get("URI") or g["Grantee"].get("ID"), g["Permission"])
              for g in s3.get_bucket_acl(Bucket="logs")["Grants"]}
    delivery = "http://acs.amazonaws.com/groups/s3/LogDelivery"
    assert grants == {("proj-a", "FULL_CONTROL"), (delivery, "WRITE"), (delivery, "READ_ACP")}
    # The log writer's group lets no outsider in (nova-objectstore delivers no access logs).
    assert requests.put(_url(objectstore, "/logs/x"), data=b"x").status_code == 403
    s3.put_object(Bucket="logs", Key="bundle", Body=b"ami", ACL="aws-exec-read")
    grants = [(g["Grantee"].get("ID"), g["Permission"]) for g in s3.get_object_acl(Bucket="logs", Key="bundle")["Grants"]]
    assert grants == [("proj-a", "FULL_CONTROL")]
    assert requests.get(_url(objectstore, "/logs/bundle")).status_code == 403
    s3.put_bucket_acl(Bucket="logs", GrantWrite=f'uri="{delivery}"')
    assert s3.get_bucket_acl(Bucket="logs")["Grants"][0]["Grantee"]["URI"] == delivery
