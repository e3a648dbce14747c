"""Issue 17: an S3 request signed for one project cannot be replayed into another.

alice is in proj-a and (here) proj-b.  Her own key ``alice-access:PROJECT``
is signed only by a presigned SigV4 URL (its X-Amz-Credential is in the signed
query); an Authorization header (SigV4 or SigV2) and SigV2's query do not sign
the access key, so there only a project's pair is taken.
"""

import base64
import hashlib
import hmac
import time
import urllib.parse

import boto3
import botocore.config
import pytest
from botocore.credentials import Credentials

from nova.auth import manager
from tests.fixtures.objectstore import PAIRS
from tests.unit.objectstore.test_hostile import error_code, send, sign_v4

LEGACY_A = Credentials("alice-access:proj-a", "alice-secret")


@pytest.fixture
def two_projects(objectstore):
    """alice in proj-a and proj-b, a bucket "box" of proj-a holding "k"."""
    manager.AuthManager().add_to_project("alice", "proj-b")
    assert send(objectstore, "PUT", "/box")[0] == 200
    assert send(objectstore, "PUT", "/box/k", b"data")[0] == 200
    return objectstore


def _edit_credential(headers, old, new):
    headers = dict(headers)
    headers["Authorization"] = headers["Authorization"].replace(f"Credential={old}/", f"Credential={new}/")
    return headers


def test_sigv4_header_with_the_users_own_key_is_refused_edited_or_not(two_projects):
    headers, _, _ = sign_v4("GET", "/box/k", {"Host": f"127.0.0.1:{two_projects.port}"}, hashlib.sha256(b"").hexdigest(),
                            LEGACY_A)
    for sent in (headers, _edit_credential(headers, "alice-access:proj-a", "alice-access:proj-b")):
        status, _, data = send(two_projects, "GET", "/box/k", headers=sent, sign=False)
        assert (status, error_code(data)) == (403, "AccessDenied")
        assert b"nova-manage credentials create alice" in data


def test_sigv4_header_with_a_pair_edited_to_another_pair_is_refused(two_projects):
    pair_b = manager.AuthManager().create_ec2_credentials("alice", "proj-b", "alice-b-key", "alice-b-secret")
    headers, _, _ = sign_v4("GET", "/box/k", {"Host": f"127.0.0.1:{two_projects.port}"}, hashlib.sha256(b"").hexdigest(),
                            Credentials(*PAIRS["alice"]))
    assert send(two_projects, "GET", "/box/k", headers=headers, sign=False)[2] == b"data"
    status, _, data = send(two_projects, "GET", "/box/k", sign=False,
                           headers=_edit_credential(headers, PAIRS["alice"][0], pair_b["access_key"]))
    assert (status, error_code(data)) == (403, "SignatureDoesNotMatch")


def test_presigned_sigv4_takes_the_users_own_key_and_signs_its_project(two_projects):
    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{two_projects.port}", region_name="nova",
                          aws_access_key_id="alice-access:proj-a", aws_secret_access_key="alice-secret",
                          config=botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    url = urllib.parse.urlsplit(client.generate_presigned_url("get_object", Params={"Bucket": "box", "Key": "k"},
                                                              ExpiresIn=60))
    assert send(two_projects, "GET", f"{url.path}?{url.query}", sign=False)[2] == b"data"
    edited = url.query.replace("alice-access%3Aproj-a", "alice-access%3Aproj-b")
    assert edited != url.query
    status, _, data = send(two_projects, "GET", f"{url.path}?{edited}", sign=False)
    assert (status, error_code(data)) == (403, "SignatureDoesNotMatch")


def _v2(secret: str, string_to_sign: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()


def test_sigv2_header_and_query_sign_no_access_key_so_take_only_a_pair(two_projects):
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
    expires = str(int(time.time()) + 60)
    pair_key, pair_secret = PAIRS["alice"]
    for access, secret, ok in (("alice-access:proj-a", "alice-secret", False),
                               ("alice-access:proj-b", "alice-secret", False), (pair_key, pair_secret, True)):
        header = {"Date": date, "Authorization": f"AWS {access}:" + _v2(secret, f"GET\n\n\n{date}\n/box/k")}
        query = urllib.parse.urlencode({"AWSAccessKeyId": access, "Expires": expires,
                                        "Signature": _v2(secret, f"GET\n\n\n{expires}\n/box/k")})
        for status, _, data in (send(two_projects, "GET", "/box/k", headers=header, sign=False),
                                send(two_projects, "GET", f"/box/k?{query}", sign=False)):
            if ok:
                assert (status, data) == (200, b"data")
            else:
                assert (status, error_code(data)) == (403, "AccessDenied"), access
