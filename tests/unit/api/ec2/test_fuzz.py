"""Hypothesis over the query parser and the whole signed pipeline: never a 500."""

import datetime
import re
import urllib.parse
from xml.etree import ElementTree

import pytest
import webob
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova import flags, wsgi
from nova.api.ec2 import requestify
from nova.api.ec2.cloud import CloudController
from nova.api.ec2.faults import EC2APIError
from nova.auth import signer

CONTROLLER = CloudController()
ACTIONS = sorted(CONTROLLER.actions)
NAMES = st.sampled_from(["InstanceId", "Filter", "Name", "Value", "KeyName", "GroupName", "IpPermissions",
                         "FromPort", "ToPort", "IpProtocol", "MinCount", "MaxCount", "ImageId", "Tag", "Key",
                         "ResourceId", "1", "2", "0", "-1", "99999999999", "", "x" * 300, "UserData",
                         "Placement", "AvailabilityZone", "DryRun", "CidrIp", "Attribute"])
KEYS = st.lists(NAMES, min_size=1, max_size=5).map(".".join)
VALUES = st.one_of(st.text(max_size=40), st.sampled_from(["i-00000001", "ami-00000001", "sg-00000001", "true",
                                                          "-1", "65536", "1" * 30, "tcp", "0.0.0.0/0", ""]))
PARAMS = st.dictionaries(KEYS, VALUES, max_size=8)


@settings(max_examples=400, deadline=None)
@given(action=st.sampled_from(ACTIONS + ["Bogus", ""]), params=PARAMS)
def test_the_parser_only_raises_ec2_errors(action, params):
    try:
        requestify.build_request(CONTROLLER, dict(params, Action=action, Version="2016-11-15"))
    except EC2APIError as exc:
        assert exc.status in (400, 401, 403, 413)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(action=st.sampled_from(ACTIONS + ["Bogus"]), params=PARAMS)
def test_signed_requests_with_junk_never_get_a_500(ec2_env, action, params):
    """No daemon runs here, so an action that reaches a service may be 503 Unavailable, never 500."""
    flags.FLAGS.rpc_response_timeout = 0.2
    flags.FLAGS.network_rpc_timeout = 1  # the network calls' own timeout (60 s) would cost a minute per example
    app = wsgi.load_paste_app("ec2")
    body = urllib.parse.urlencode(dict(params, Action=action, Version="2016-11-15"))
    url = "http://127.0.0.1:8773/services/Cloud"
    request = AWSRequest(method="POST", url=url, data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials("AK-ALICE", "SK-ALICE"), "ec2", "nova").add_auth(request)
    prepared = request.prepare()
    req = webob.Request.blank("/services/Cloud", method="POST", body=body.encode(),
                              headers=dict(prepared.headers.items()))
    req.host = "127.0.0.1:8773"
    response = req.get_response(app)
    assert response.status_int < 500 or response.status_int == 503, response.text
    assert response.status_int == 200 or b"<Code>" in response.body


def test_raw_garbage_bodies(ec2_env):
    app = wsgi.load_paste_app("ec2")
    for body, content_type in ((b"\xff\xfe\x00", "application/x-www-form-urlencoded"),
                               (b"a=" + b"x" * (2 * 1024 * 1024), "application/x-www-form-urlencoded"),
                               (b"{}", "application/json"),
                               (b"&".join(b"k%d=v" % i for i in range(6000)), "application/x-www-form-urlencoded")):
        req = webob.Request.blank("/services/Cloud", method="POST", body=body, content_type=content_type)
        response = req.get_response(app)
        assert 400 <= response.status_int < 500 and b"<Code>" in response.body


# -- The probes of issue 17: a client's mistake in the signature is the client's 4xx, never a 500 --------------

HOST = "127.0.0.1:8773"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def _signed(body: str, extra_headers=None, access="AK-ALICE"):
    """Headers of a POST signed by botocore's SigV4 (to be spoiled by the test)."""
    request = AWSRequest(method="POST", url=f"http://{HOST}/services/Cloud", data=body,
                         headers={"Content-Type": FORM, **(extra_headers or {})})
    SigV4Auth(Credentials(access, "SK-ALICE"), "ec2", "nova").add_auth(request)
    return dict(request.prepare().headers.items())


def _send(headers, body="", query=""):
    """(status, EC2 error code or None) of one request through the whole paste pipeline."""
    req = webob.Request.blank("/services/Cloud" + (f"?{query}" if query else ""), method="POST" if body else "GET",
                              body=body.encode(), headers=headers)
    req.host = HOST
    response = req.get_response(wsgi.load_paste_app("ec2"))
    root = ElementTree.fromstring(response.body)  # what boto3 does: the body must be well-formed XML
    code = root.findtext("Errors/Error/Code")
    return response.status_int, code


DESCRIBE = "Action=DescribeRegions&Version=2016-11-15"


def _spoil(headers, **changes):
    headers = dict(headers)
    for name, value in changes.items():
        name = name.replace("_", "-")
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return headers


@pytest.mark.parametrize("spoil, expected", [
    (lambda h: _spoil(h, X_Amz_Date="garbage"), (400, "IncompleteSignature")),
    (lambda h: _spoil(h, X_Amz_Date="00000101T000000Z"), (400, "IncompleteSignature")),
    (lambda h: _spoil(h, X_Amz_Date="20240230T000000Z"), (400, "IncompleteSignature")),
    (lambda h: _spoil(h, X_Amz_Date="99991231T235959Z"), (401, "AuthFailure")),
    (lambda h: _spoil(h, X_Amz_Date="00010101T000000Z"), (401, "AuthFailure")),
    (lambda h: _spoil(h, Authorization=re.sub(r"SignedHeaders=[^,]*", "SignedHeaders=", h["Authorization"])),
     (400, "IncompleteSignature")),
    (lambda h: _spoil(h, Authorization=re.sub(r"SignedHeaders=[^,]*", "SignedHeaders=host;;x-amz-date",
                                              h["Authorization"])), (400, "IncompleteSignature")),
    (lambda h: _spoil(h, X_Extra=None), (403, "SignatureDoesNotMatch")),
    (lambda h: _spoil(h, Authorization=h["Authorization"].replace("AK-ALICE", "AK-\x01")),
     (401, "AuthFailure")),
], ids=["garbage-date", "year-0000", "february-30", "year-9999", "year-0001", "empty-signed-headers",
        "blank-signed-header", "signed-header-absent", "control-character-key"])
def test_spoiled_sigv4_headers_are_the_clients_error(ec2_env, spoil, expected):
    headers = spoil(_signed(DESCRIBE, {"X-Extra": "1"}))
    assert _send(headers, DESCRIBE) == expected


def _presigned_query(ec2_env, **changes):
    url = ec2_env.client().generate_presigned_url("describe_regions", ExpiresIn=60, HttpMethod="GET")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    if "X-Amz-Date" in changes:  # the credential scope's date follows, as a careful forger's would
        query["X-Amz-Credential"] = re.sub(r"/[0-9]{8}/", f"/{changes['X-Amz-Date'][:8]}/", query["X-Amz-Credential"])
    query.update(changes)
    return urllib.parse.urlencode(query)


@pytest.mark.parametrize("changes, expected", [
    ({}, (200, None)),
    ({"X-Amz-Date": "garbage"}, (400, "IncompleteSignature")),
    ({"X-Amz-Date": "00000000T000000Z"}, (400, "IncompleteSignature")),
    ({"X-Amz-Date": "99991231T235959Z"}, (401, "AuthFailure")),
    ({"X-Amz-SignedHeaders": ""}, (400, "IncompleteSignature")),
    ({"X-Amz-SignedHeaders": "host;x-absent"}, (403, "SignatureDoesNotMatch")),
    ({"X-Amz-Expires": "604801"}, (400, "IncompleteSignature")),
    ({"X-Amz-Expires": "-5"}, (400, "IncompleteSignature")),
    ({"X-Amz-Expires": "9" * 5000}, (400, "IncompleteSignature")),
], ids=["good", "garbage-date", "year-0000", "year-9999", "empty-signed-headers", "signed-header-absent",
        "expires-past-7-days", "negative-expires", "huge-expires"])
def test_spoiled_presigned_queries_are_the_clients_error(ec2_env, changes, expected):
    query = _presigned_query(ec2_env, **changes)
    req = webob.Request.blank(f"/services/Cloud?{query}", method="GET")
    req.host = f"127.0.0.1:{ec2_env.port}"
    response = req.get_response(wsgi.load_paste_app("ec2"))
    code = ElementTree.fromstring(response.body).findtext("Errors/Error/Code")
    assert (response.status_int, code) == expected, response.text


def _sigv2_expires(expires: datetime.datetime, version: str = "2010-08-31") -> str:
    params = {"Action": "DescribeRegions", "Version": version, "AWSAccessKeyId": "AK-ALICE",
              "SignatureVersion": "2", "SignatureMethod": "HmacSHA256",
              "Expires": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}
    params["Signature"] = signer.sigv2_query_signature("SK-ALICE", "GET", HOST, "/services/Cloud", params,
                                                       "HmacSHA256")
    return urllib.parse.urlencode(params)


def test_sigv2_expires_is_bounded_to_seven_days(ec2_env):
    now = datetime.datetime.utcnow()
    assert _send({}, query=_sigv2_expires(now + datetime.timedelta(days=6))) == (200, None)
    assert _send({}, query=_sigv2_expires(now + datetime.timedelta(days=8))) == (400, "InvalidParameterValue")
    assert _send({}, query=_sigv2_expires(datetime.datetime(9999, 12, 31))) == (400, "InvalidParameterValue")
    assert _send({}, query=_sigv2_expires(now - datetime.timedelta(minutes=1))) == (401, "AuthFailure")


@pytest.mark.parametrize("version, expected", [
    ("2016-11-15", (200, None)), ("2010-08-31", (200, None)), ("2006-06-26", (200, None)),
    ("9999-99-99", (400, "NoSuchVersion")), ("2099-01-01", (400, "NoSuchVersion")),
    ("2016-02-30", (400, "NoSuchVersion")), ("1999-01-01", (400, "NoSuchVersion")),
    ("latest", (400, "NoSuchVersion")),
])
def test_unknown_and_future_versions_are_refused(ec2_env, version, expected):
    body = f"Action=DescribeRegions&Version={version}"
    assert _send(_signed(body), body) == expected


@pytest.mark.parametrize("body", [
    "Action=Describe%01Regions&Version=2016-11-15",
    "Action=DescribeRegions&Version=2016-11-15&Bogus%0B%1F=1",
    "Action=DescribeRegions&Version=2016%0C-11-15",
    "Action=DescribeRegions%EF%BF%BE&Version=2016-11-15",
])
def test_control_characters_echoed_in_errors_keep_the_xml_well_formed(ec2_env, body):
    status, code = _send(_signed(body), body)
    assert 400 <= status < 500 and code
