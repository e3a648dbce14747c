"""Fuzz targets: each parser of a front end, fed bytes, must answer (never a 500, never an exception).

A target takes any ``bytes`` and splits them into the parts of an HTTP
request (fields separated by NUL); the request goes through the real WSGI
application in this process, on a SQLite database made by ``setup``.  A
target raises ``AssertionError`` when the answer is a 5xx (or an S3/EC2
error that is not XML), and lets any other exception through: both are
findings.  ``tools/fuzz`` runs them under atheris (coverage-guided);
tests/fuzz/test_fuzz.py replays the corpus in tests/fuzz/corpus/<target>/
and runs every target for a few seconds.
"""

from __future__ import annotations

import atexit
import datetime
import os
import shutil
import tempfile
import urllib.parse
from typing import Callable
from xml.etree import ElementTree

import webob

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
HOST = "127.0.0.1:8773"
PAIR = ("fuzz-pair-key", "fuzz-pair-secret")
EC2_ACTIONS = ("DescribeInstances", "DescribeImages", "DescribeRegions", "DescribeAvailabilityZones",
               "DescribeSecurityGroups", "DescribeKeyPairs", "DescribeAddresses", "DescribeVolumes", "DescribeTags",
               "DescribeInstanceAttribute", "DescribeImageAttribute", "DescribeAccountAttributes",
               "DescribeInstanceStatus", "CreateKeyPair", "ImportKeyPair", "CreateSecurityGroup",
               "AuthorizeSecurityGroupIngress", "CreateTags", "DeleteTags")
S3_METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH")

_apps: dict[str, Callable] = {}
_state: dict[str, str] = {}


def setup(again: bool = False) -> None:
    """Flags, a migrated SQLite database, a user with a pair, the applications, a bucket ``b`` holding
    ``k`` (once per process unless ``again``: pytest's tests reset flags and database between tests)."""
    if _apps and not again:
        return
    _apps.clear()
    from nova import flags
    from nova.auth import manager
    from nova import wsgi
    from nova.objectstore.app import S3Application
    from tests.fixtures.database import migrated_sqlite_file, use_database

    if "tmp" in _state:  # the previous set-up's database and buckets
        shutil.rmtree(_state["tmp"], ignore_errors=True)
    else:
        atexit.register(lambda: shutil.rmtree(_state["tmp"], ignore_errors=True))
    tmp = _state["tmp"] = tempfile.mkdtemp(prefix="nova-fuzz-")
    flags.reset_for_tests(state_path=tmp, fake_rabbit=True)
    flags.FLAGS.api_paste_config = os.path.join(ROOT, "etc", "nova", "api-paste.ini")
    db = os.path.join(tmp, "nova.sqlite")
    migrated_sqlite_file(db)
    use_database(f"sqlite:///{db}")
    auth = manager.AuthManager()
    auth.create_user("fuzz", "fuzz-user-key", "fuzz-user-secret")
    auth.create_project("fuzzproj", "fuzz")
    auth.create_ec2_credentials("fuzz", "fuzzproj", *PAIR)
    _state["token"] = auth.create_token("fuzz", "fuzzproj")
    _apps["ec2"] = wsgi.load_paste_app("ec2")
    _apps["osapi"] = wsgi.load_paste_app("osapi_compute")
    _apps["identity"] = wsgi.load_paste_app("identity")
    _apps["s3"] = S3Application(os.path.join(tmp, "buckets"))
    from nova.api.metadata.handler import MetadataRequestHandler

    _apps["metadata"] = MetadataRequestHandler()
    s3_request(b"\x01\0b\0\0\0")
    s3_request(b"\x01\0b/k\0\0\0hello")


def _fields(data: bytes, count: int) -> list[bytes]:
    parts = data.split(b"\0", count - 1)
    return parts + [b""] * (count - len(parts))


def _text(raw: bytes) -> str:
    """Bytes as a WSGI server hands them over (latin-1 strings), without CR/LF (no server passes those)."""
    return raw.decode("latin-1").replace("\r", "").replace("\n", "")


def _headers(raw: bytes) -> dict[str, str]:
    headers = {}
    for line in raw.split(b"\n"):
        name, sep, value = line.partition(b":")
        name_text = _text(name).strip()
        if sep and name_text and all(33 <= ord(c) < 127 and c != ":" for c in name_text):
            headers[name_text] = _text(value).strip()
    return headers


def _request(method: str, path: str, query: str, headers: dict[str, str], body: bytes, host: str = HOST) -> webob.Request:
    req = webob.Request.blank("/")
    req.method = method
    req.environ["PATH_INFO"] = urllib.parse.unquote(path, encoding="latin-1")
    req.environ["RAW_PATH_INFO"] = path
    req.environ["QUERY_STRING"] = query
    req.environ["REMOTE_ADDR"] = "10.0.0.9"
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            req.environ[key] = value
        else:
            req.environ["HTTP_" + key] = value
    req.environ["HTTP_HOST"] = host
    req.body = body
    return req


def _check(response: webob.Response, xml_errors: bool = False) -> None:
    # 501 (NotImplemented: a feature nova lacks) and 503 (try again) are answers; any other 5xx is a bug.
    assert response.status_int < 500 or response.status_int in (501, 503), (response.status, response.body[:2000])
    if xml_errors and response.status_int >= 400 and response.body:
        ElementTree.fromstring(response.body)  # the client must be able to read the error


def _path(raw: bytes) -> str:
    return "/" + urllib.parse.quote(_text(raw), safe="/%=&?+:@;!*'(),~-._")


# -- targets -----------------------------------------------------------------------------------------------

def ec2_signature(data: bytes) -> None:
    """Unsigned garbage in the signature fields: SigV4 header and query, SigV2 query, form body."""
    authorization, query, amz_date, body, content_type = _fields(data, 5)
    headers = {"Content-Type": _text(content_type) or "application/x-www-form-urlencoded"}
    if authorization:
        headers["Authorization"] = _text(authorization)
    if amz_date:
        headers["X-Amz-Date"] = _text(amz_date)
    method = "POST" if body else "GET"
    req = _request(method, "/services/Cloud", _text(query), headers, body)
    _check(req.get_response(_apps["ec2"]), xml_errors=True)


def ec2_query(data: bytes) -> None:
    """Correctly signed (SigV2) requests with fuzzed parameters: the query parser and the actions'."""
    from nova.auth import signer

    action = EC2_ACTIONS[data[0] % len(EC2_ACTIONS)] if data else EC2_ACTIONS[0]
    params: dict[str, str] = {}
    for line in data[1:].split(b"\n"):
        key, sep, value = line.partition(b"=")
        if not sep:
            continue
        try:
            params[key.decode()] = value.decode()
        except UnicodeDecodeError:
            continue
    params.update(Action=action, AWSAccessKeyId=PAIR[0], SignatureVersion="2", SignatureMethod="HmacSHA256",
                  Timestamp=datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"))
    params.setdefault("Version", "2016-11-15")
    params.pop("Expires", None)
    params["Signature"] = signer.sigv2_query_signature(PAIR[1], "POST", HOST, "/services/Cloud", params,
                                                       "HmacSHA256")
    body = urllib.parse.urlencode(params).encode()
    req = _request("POST", "/services/Cloud", "", {"Content-Type": "application/x-www-form-urlencoded"}, body)
    _check(req.get_response(_apps["ec2"]), xml_errors=True)


def s3_signature(data: bytes) -> None:
    """Unsigned garbage in S3's signature fields: SigV4/SigV2 headers and query, dates."""
    authorization, query, amz_date, date, sha, path = _fields(data, 6)
    headers = {}
    for name, value in (("Authorization", authorization), ("X-Amz-Date", amz_date), ("Date", date),
                        ("X-Amz-Content-SHA256", sha)):
        if value:
            headers[name] = _text(value)
    req = _request("GET", _path(path), _text(query), headers, b"", host="127.0.0.1:3333")
    _check(req.get_response(_apps["s3"]), xml_errors=True)


def s3_request(data: bytes) -> None:
    """The S3 request parser past authentication: paths, headers, ranges, aws-chunked and XML bodies."""
    from nova import context
    from nova.auth import signer
    from nova.objectstore import auth as s3_auth
    from nova.objectstore.body import Payload

    def trusted(req, raw_path, v2_resource):
        payload = Payload(req.headers)
        mode = req.headers.get("X-Amz-Content-SHA256", "")
        if mode.startswith("STREAMING-"):
            payload.chunked = True
        elif mode and mode != signer.UNSIGNED_PAYLOAD:
            payload.sha256 = mode
        return context.RequestContext("fuzz", "fuzzproj"), payload

    method, path, query, headers, body = _fields(data, 5)
    method_name = S3_METHODS[method[0] % len(S3_METHODS)] if method else "GET"
    from nova.objectstore import app as s3_app

    real, real_anonymous = s3_auth.authenticate, s3_app.is_anonymous
    s3_auth.authenticate = trusted
    s3_app.is_anonymous = lambda req, query: False  # unsigned on purpose: it stands for a signed request
    try:
        req = _request(method_name, _path(path), _text(query), _headers(headers), body, host="127.0.0.1:3333")
        _check(req.get_response(_apps["s3"]), xml_errors=method_name != "HEAD")
    finally:
        s3_auth.authenticate, s3_app.is_anonymous = real, real_anonymous


def metadata(data: bytes) -> None:
    """The metadata service's path and headers, and its tree lookup."""
    from nova.api.metadata import handler

    path, forwarded, method = _fields(data, 3)
    headers = {"X-Forwarded-For": _text(forwarded)} if forwarded else {}
    req = _request("HEAD" if method[:1] == b"H" else "GET", _path(path), "", headers, b"")
    _check(req.get_response(_apps["metadata"]))
    tree = {"meta-data": {"instance-id": "i-1", "public-keys": {"0=key": {"openssh-key": "ssh-rsa x"}}},
            "user-data": b"\0\xff"}
    handler.lookup(tree, [p for p in _text(path).split("/") if p])


def openstack_json(data: bytes) -> None:
    """JSON bodies of the OpenStack APIs: identity tokens, key pairs, security groups and rules."""
    choice, body = _fields(data, 2)
    routes = (("identity", "/v3/auth/tokens"), ("osapi", "/v2.1/os-keypairs"),
              ("osapi", "/v2.1/os-security-groups"), ("osapi", "/v2.1/os-security-group-rules"),
              ("osapi", "/v2.1/servers/00000000-0000-0000-0000-000000000000/action"))
    app, path = routes[choice[0] % len(routes)] if choice else routes[0]
    headers = {"Content-Type": "application/json", "X-Auth-Token": _state["token"]}
    req = _request("POST", path, "", headers, body, host="127.0.0.1:8774")
    _check(req.get_response(_apps[app]))


TARGETS: dict[str, Callable[[bytes], None]] = {
    "ec2_signature": ec2_signature,
    "ec2_query": ec2_query,
    "s3_signature": s3_signature,
    "s3_request": s3_request,
    "metadata": metadata,
    "openstack_json": openstack_json,
}


def mixed(data: bytes) -> None:
    """Every target in one fuzzer: the first byte picks it (for one bounded CI run)."""
    if data:
        names = sorted(TARGETS)
        TARGETS[names[data[0] % len(names)]](data[1:])


def corpus(target: str) -> list[str]:
    folder = os.path.join(CORPUS, target)
    return sorted(os.path.join(folder, name) for name in os.listdir(folder)) if os.path.isdir(folder) else []
