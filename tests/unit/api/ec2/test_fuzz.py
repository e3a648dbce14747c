"""Hypothesis over the query parser and the whole signed pipeline: never a 500."""

import urllib.parse

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
