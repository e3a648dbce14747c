"""Issue 17: an EC2 request signed for one project cannot be replayed into another.

alice is in proj-a and (here) proj-b.  Her own key ``AK-ALICE:PROJECT`` is
signed by SigV2 (AWSAccessKeyId is a signed parameter) and by a presigned
SigV4 query (X-Amz-Credential is signed); an Authorization header does not
sign its Credential, so there only a project's pair is taken.
"""

import urllib.parse

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from nova.auth import manager
from tests.unit.api.ec2.test_authenticate import _get, sigv2_url

BODY = "Action=DescribeAvailabilityZones&Version=2016-11-15"


@pytest.fixture
def env(ec2_env):
    manager.AuthManager().add_to_project("alice", "proj-b")
    return ec2_env


def _post(env, headers, body=BODY):
    import urllib.request

    request = urllib.request.Request(f"http://127.0.0.1:{env.port}/services/Cloud", data=body.encode(),
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _header_signed(env, access, secret):
    request = AWSRequest(method="POST", url=f"http://127.0.0.1:{env.port}/services/Cloud", data=BODY,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(access, secret), "ec2", "nova").add_auth(request)
    return dict(request.prepare().headers.items())


def _edited(headers, old, new):
    return dict(headers, Authorization=headers["Authorization"].replace(f"Credential={old}/", f"Credential={new}/"))


def test_sigv4_header_takes_only_a_pair_and_a_pair_edited_to_another_is_refused(env):
    headers = _header_signed(env, "AK-ALICE:proj-a", "SK-ALICE")
    for sent in (headers, _edited(headers, "AK-ALICE:proj-a", "AK-ALICE:proj-b")):
        status, body = _post(env, sent)
        assert status == 401 and "<Code>AuthFailure</Code>" in body
        assert "nova-manage credentials create alice" in body
    auth = manager.AuthManager()
    pair_a = auth.create_ec2_credentials("alice", "proj-a")
    pair_b = auth.create_ec2_credentials("alice", "proj-b")
    headers = _header_signed(env, pair_a["access_key"], pair_a["secret_key"])
    assert _post(env, headers)[0] == 200
    status, body = _post(env, _edited(headers, pair_a["access_key"], pair_b["access_key"]))
    assert status == 403 and "<Code>SignatureDoesNotMatch</Code>" in body


def test_presigned_sigv4_and_sigv2_take_the_users_own_key_and_sign_its_project(env):
    url = env.client("AK-ALICE:proj-a", "SK-ALICE").generate_presigned_url(
        "describe_availability_zones", ExpiresIn=60, HttpMethod="GET")
    assert _get(url)[0] == 200
    edited = url.replace("AK-ALICE%3Aproj-a", "AK-ALICE%3Aproj-b")
    assert edited != url
    status, body = _get(edited)
    assert status == 403 and "<Code>SignatureDoesNotMatch</Code>" in body
    # SigV2 signs AWSAccessKeyId with the other parameters.
    url = sigv2_url(env, {"Action": "DescribeAvailabilityZones", "Version": "2009-11-30",
                          "AWSAccessKeyId": "AK-ALICE:proj-b"})
    assert _get(url)[0] == 200
    edited = url.replace(urllib.parse.quote("AK-ALICE:proj-b", safe="-_.~"),
                         urllib.parse.quote("AK-ALICE:proj-a", safe="-_.~"))
    assert edited != url
    status, body = _get(edited)
    assert status == 403 and "<Code>SignatureDoesNotMatch</Code>" in body
