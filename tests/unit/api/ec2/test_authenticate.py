"""Who may call: SigV4 (header and presigned), SigV2 by hand, clocks, projects."""

import base64
import datetime
import hashlib
import hmac
import urllib.parse
import urllib.request

import pytest
from botocore.exceptions import ClientError

from nova.api.ec2 import authenticate
from tests.unit.api.conftest import error_of


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def sigv2_url(env, params, secret="SK-ALICE", method="HmacSHA256", path="/services/Cloud", when=None):
    """A GET URL signed with Signature Version 2 as euca2ools and boto 2 sign it."""
    host = f"127.0.0.1:{env.port}"
    stamp = (when or datetime.datetime.utcnow()).strftime("%Y-%m-%dT%H:%M:%SZ")
    params = dict(params, SignatureVersion="2", SignatureMethod=method, Timestamp=stamp)
    query = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
                     for k, v in sorted(params.items()))
    digest = hashlib.sha256 if method == "HmacSHA256" else hashlib.sha1
    to_sign = "\n".join(["GET", host, path, query])
    signature = base64.b64encode(hmac.new(secret.encode(), to_sign.encode(), digest).digest()).decode()
    return f"http://{host}{path}?{query}&Signature={urllib.parse.quote(signature, safe='')}"


def test_sigv4_picks_the_project_from_the_access_key(ec2_env):
    regions = ec2_env.client().describe_regions()["Regions"]
    assert [r["RegionName"] for r in regions] == ["nova"]
    assert ec2_env.client(project="proj-a").describe_availability_zones()["AvailabilityZones"][0]["ZoneName"] == "nova"
    assert ec2_env.client(path="").describe_regions()["Regions"]


@pytest.mark.parametrize("access, secret, project, expected", [
    ("AK-ALICE", "wrong", None, ("SignatureDoesNotMatch", 403)),
    ("AK-NOBODY", "SK-ALICE", None, ("AuthFailure", 401)),
    ("AK-ALICE", "SK-ALICE", "proj-b", ("AuthFailure", 401)),
    ("AK-ALICE", "SK-ALICE", "no-such-project", ("AuthFailure", 401)),
])
def test_bad_credentials(ec2_env, access, secret, project, expected):
    with pytest.raises(ClientError) as excinfo:
        ec2_env.client(access, secret, project).describe_regions()
    assert error_of(excinfo) == expected


def test_a_superuser_may_act_in_any_project(ec2_env):
    assert ec2_env.client("AK-ROOT", "SK-ROOT", "proj-b").describe_regions()["Regions"]


def test_skewed_clock_is_refused(ec2_env, monkeypatch):
    real_now = authenticate._now
    monkeypatch.setattr(authenticate, "_now", lambda: real_now() + datetime.timedelta(minutes=20))
    with pytest.raises(ClientError) as excinfo:
        ec2_env.client().describe_regions()
    assert error_of(excinfo) == ("AuthFailure", 401)


def test_presigned_query_and_its_expiry(ec2_env, monkeypatch):
    url = ec2_env.client().generate_presigned_url("describe_regions", ExpiresIn=60, HttpMethod="GET")
    status, body = _get(url)
    assert status == 200 and "<regionName>nova</regionName>" in body
    real_now = authenticate._now
    monkeypatch.setattr(authenticate, "_now", lambda: real_now() + datetime.timedelta(seconds=120))
    status, body = _get(url)
    assert status == 401 and "<Code>AuthFailure</Code>" in body


@pytest.mark.parametrize("method", ["HmacSHA256", "HmacSHA1"])
def test_sigv2_by_hand(ec2_env, method):
    status, body = _get(sigv2_url(ec2_env, {"Action": "DescribeRegions", "Version": "2010-08-31",
                                            "AWSAccessKeyId": "AK-ALICE:proj-a"}, method=method))
    assert status == 200, body
    assert 'xmlns="http://ec2.amazonaws.com/doc/2010-08-31/"' in body


def test_sigv2_failures(ec2_env):
    params = {"Action": "DescribeRegions", "Version": "2010-08-31", "AWSAccessKeyId": "AK-ALICE"}
    status, body = _get(sigv2_url(ec2_env, params, secret="nope"))
    assert status == 403 and "<Code>SignatureDoesNotMatch</Code>" in body
    old = datetime.datetime.utcnow() - datetime.timedelta(hours=1)
    status, body = _get(sigv2_url(ec2_env, params, when=old))
    assert status == 401 and "<Code>AuthFailure</Code>" in body


def test_unsigned_and_garbled_requests(ec2_env):
    status, body = _get(f"{ec2_env.url}?Action=DescribeRegions&Version=2016-11-15")
    assert status == 401 and "<Code>AuthFailure</Code>" in body
    request = urllib.request.Request(ec2_env.url, data=b"Action=DescribeRegions",
                                     headers={"Authorization": "AWS4-HMAC-SHA256 Credential=x",
                                              "Content-Type": "application/x-www-form-urlencoded"})
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as exc:
        assert exc.code == 400 and b"<Code>IncompleteSignature</Code>" in exc.read()
    else:
        pytest.fail("a garbled Authorization header was accepted")


def test_every_response_carries_a_request_id(ec2_env):
    response = ec2_env.client().describe_regions()
    request_id = response["ResponseMetadata"]["RequestId"]
    assert request_id.startswith("req-")
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-compute-request-id"] == request_id


def test_root_lists_metadata_versions(ec2_env):
    status, body = _get(f"http://127.0.0.1:{ec2_env.port}/")
    assert status == 200 and body.splitlines()[-1] == "latest"


@pytest.mark.parametrize("minutes, message", [(-20, "Request timestamp is too far in the future"),
                                              (20, "Request timestamp is too old; check your clock")])
def test_the_one_skew_rule_both_ways(ec2_env, monkeypatch, minutes, message):
    real_now = authenticate._now
    monkeypatch.setattr(authenticate, "_now", lambda: real_now() + datetime.timedelta(minutes=minutes))
    params = {"Action": "DescribeRegions", "Version": "2010-08-31", "AWSAccessKeyId": "AK-ALICE"}
    status, body = _get(sigv2_url(ec2_env, params))
    assert status == 401 and "<Code>AuthFailure</Code>" in body and f"<Message>{message}</Message>" in body


def test_the_skew_flag_governs_ec2(ec2_env, monkeypatch):
    from nova import flags

    params = {"Action": "DescribeRegions", "Version": "2010-08-31", "AWSAccessKeyId": "AK-ALICE"}
    two_minutes_ago = datetime.datetime.utcnow() - datetime.timedelta(minutes=2)
    assert _get(sigv2_url(ec2_env, params, when=two_minutes_ago))[0] == 200
    flags.FLAGS.auth_max_clock_skew = 60
    status, body = _get(sigv2_url(ec2_env, params, when=two_minutes_ago))
    assert status == 401 and "<Code>AuthFailure</Code>" in body


@pytest.mark.parametrize("access, message", [
    ("AK-NOBODY", "AWS was not able to validate the provided access credentials"),
    ("AK-ALICE:no-such-project", "Project no-such-project does not exist"),
    ("AK-ALICE:proj-b", "User alice is not a member of project proj-b"),
    ("AK-ROOT", "User root is not a member of any project"),
])
def test_credential_errors_keep_their_messages(ec2_env, access, message):
    secret = "SK-ROOT" if access == "AK-ROOT" else "SK-ALICE"
    params = {"Action": "DescribeRegions", "Version": "2010-08-31", "AWSAccessKeyId": access}
    status, body = _get(sigv2_url(ec2_env, params, secret=secret))
    assert status == 401 and "<Code>AuthFailure</Code>" in body and f"<Message>{message}</Message>" in body


def test_a_bad_signature_is_reported_before_the_project(ec2_env):
    with pytest.raises(ClientError) as excinfo:
        ec2_env.client("AK-ALICE", "wrong", "no-such-project").describe_regions()
    assert error_of(excinfo) == ("SignatureDoesNotMatch", 403)
