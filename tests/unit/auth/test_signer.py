"""Our verifier agrees with the signatures botocore itself produces."""

import hashlib
import urllib.parse

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV2Auth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from nova.auth import signer

CREDS = Credentials("AKID:proj", "s3cr3t/key+x")


def _split(prepared_url):
    parts = urllib.parse.urlsplit(prepared_url)
    return parts.path, parts.query


def _verify_v4(request, service, double_encode, body=b""):
    prepared = request.prepare()
    raw_path, raw_query = _split(prepared.url)
    query = dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
    headers = dict(prepared.headers.items())
    headers.setdefault("Host", urllib.parse.urlsplit(prepared.url).netloc)  # what the server receives
    parsed = signer.parse_sigv4(headers.get("Authorization"), query, headers.get("X-Amz-Date"))
    assert parsed.access_key == "AKID:proj" and parsed.service == service
    payload = headers.get("X-Amz-Content-SHA256") or (
        signer.UNSIGNED_PAYLOAD if parsed.presigned and service == "s3" else hashlib.sha256(body).hexdigest())
    expected = signer.sigv4_signature(
        CREDS.secret_key, parsed, prepared.method, signer.canonical_uri(raw_path, double_encode),
        signer.canonical_query(raw_query, exclude=["X-Amz-Signature"]), headers, payload)
    return parsed, expected


def test_ec2_post_sigv4_header():
    body = "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%3AName&Filter.1.Value.1=a+b%2Fc"
    request = AWSRequest(method="POST", url="http://127.0.0.1:8773/services/Cloud", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(CREDS, "ec2", "nova").add_auth(request)
    parsed, expected = _verify_v4(request, "ec2", True, body.encode())
    assert signer.constant_time_equal(parsed.signature, expected)
    _, wrong = _verify_v4(request, "ec2", True, body.encode() + b"x")
    assert not signer.constant_time_equal(parsed.signature, wrong)


def test_ec2_presigned_query():
    request = AWSRequest(method="GET", url="http://127.0.0.1:8773/services/Cloud?Action=DescribeRegions&Version=2016-11-15")
    SigV4QueryAuth(CREDS, "ec2", "nova", expires=300).add_auth(request)
    parsed, expected = _verify_v4(request, "ec2", True)
    assert parsed.presigned and parsed.expires == 300
    assert signer.constant_time_equal(parsed.signature, expected)


@pytest.mark.parametrize("key", ["plain.txt", "dir/with space/ünï©ode+plus=eq&amp.bin", "a~b_c-d.e!*'()"])
def test_s3_header_signature_with_awkward_keys(key):
    url = "http://127.0.0.1:3333/bucket/" + urllib.parse.quote(key, safe="/~")
    request = AWSRequest(method="PUT", url=url, data=b"hello", headers={"x-amz-meta-colour": "  blue   green "})
    request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(b"hello").hexdigest()
    S3SigV4Auth(CREDS, "s3", "nova").add_auth(request)
    parsed, expected = _verify_v4(request, "s3", False, b"hello")
    assert signer.constant_time_equal(parsed.signature, expected)


def test_s3_presigned_get():
    request = AWSRequest(method="GET", url="http://127.0.0.1:3333/bucket/key?versionId=&x-id=GetObject")
    S3SigV4QueryAuth(CREDS, "s3", "nova", expires=60).add_auth(request)
    parsed, expected = _verify_v4(request, "s3", False)
    assert signer.constant_time_equal(parsed.signature, expected)


def test_sigv2_query_signature_matches_botocore():
    request = AWSRequest(method="POST", url="http://127.0.0.1:8773/services/Cloud",
                         data={"Action": "DescribeImages", "Owner.1": "self", "Version": "2010-08-31"})
    SigV2Auth(CREDS).add_auth(request)
    params = dict(request.data)
    expected = signer.sigv2_query_signature(CREDS.secret_key, "POST", "127.0.0.1:8773", "/services/Cloud",
                                            params, params["SignatureMethod"])
    assert expected == params["Signature"]
    params["Owner.1"] = "other"
    assert signer.sigv2_query_signature(CREDS.secret_key, "POST", "127.0.0.1:8773", "/services/Cloud",
                                        params, "HmacSHA256") != request.data["Signature"]


def test_sigv2_hmacsha1():
    params = {"Action": "DescribeRegions", "AWSAccessKeyId": "AK", "SignatureMethod": "HmacSHA1"}
    sig1 = signer.sigv2_query_signature("secret", "GET", "h:1", "/", params, "HmacSHA1")
    sig256 = signer.sigv2_query_signature("secret", "GET", "h:1", "/", params, "HmacSHA256")
    assert len(sig1) == 28 and len(sig256) == 44
    with pytest.raises(signer.SignatureError):
        signer.sigv2_query_signature("secret", "GET", "h:1", "/", params, "HmacMD5")


@pytest.mark.parametrize("header", [
    "AWS4-HMAC-SHA256 Credential=AK/20260101/nova/ec2/aws4_request, SignedHeaders=host",
    "AWS4-HMAC-SHA256 Credential=AK/20260101/nova/aws4_request, SignedHeaders=host, Signature=ab",
    "AWS4-HMAC-SHA256 Credential=/20260101/nova/ec2/aws4_request, SignedHeaders=host, Signature=ab",
])
def test_malformed_authorization_headers(header):
    with pytest.raises(signer.SignatureError):
        signer.parse_sigv4(header, {}, "20260101T000000Z")


def test_missing_date_and_bad_expires():
    header = "AWS4-HMAC-SHA256 Credential=AK/20260101/nova/ec2/aws4_request, SignedHeaders=host, Signature=ab"
    with pytest.raises(signer.SignatureError):
        signer.parse_sigv4(header, {}, None)
    query = {"X-Amz-Algorithm": signer.ALGORITHM_V4, "X-Amz-Credential": "AK/20260101/nova/s3/aws4_request",
             "X-Amz-Date": "20260101T000000Z", "X-Amz-SignedHeaders": "host", "X-Amz-Signature": "ab",
             "X-Amz-Expires": "9999999"}
    with pytest.raises(signer.SignatureError):
        signer.parse_sigv4(None, query, None)
    with pytest.raises(signer.SignatureError):
        signer.parse_amz_date("yesterday")
    assert signer.parse_sigv4(None, {"Action": "x"}, None) is None
