"""S3's SigV2 string to sign agrees with botocore's HmacV1Auth and HmacV1QueryAuth."""

import urllib.parse

import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from nova.auth import signer

CREDS = Credentials("AKID:proj", "s3cr3t/key+x")


def _check(request, expires=None):
    prepared = request.prepare()
    parts = urllib.parse.urlsplit(prepared.url)
    headers = list(prepared.headers.items())
    if expires is None:
        scheme, _, provided = prepared.headers["Authorization"].partition(" ")
        assert scheme == "AWS"
        provided = provided.rpartition(":")[2]
    else:
        query = dict(urllib.parse.parse_qsl(parts.query))
        provided, expires = query["Signature"], query["Expires"]
    to_sign = signer.s3_v2_string_to_sign(prepared.method, parts.path, parts.query, headers, expires=expires)
    return provided, to_sign


@pytest.mark.parametrize("url,headers", [
    ("http://h:3333/bucket/key.txt", {"Content-Type": "text/plain", "Content-MD5": "XrY7u+Ae7tCTyyK7j1rNww=="}),
    ("http://h:3333/bucket/dir/%C3%BCn%20i.bin?uploadId=abc%2Fd&partNumber=3", {"x-amz-meta-b": " 2 ", "x-amz-meta-a": "1"}),
    ("http://h:3333/bucket?delete", {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}),
    ("http://h:3333/bucket?prefix=a&max-keys=2&uploads", {}),
    ("http://h:3333/", {}),
])
def test_header_signature_matches_botocore(url, headers):
    request = AWSRequest(method="PUT", url=url, data=b"hello", headers=headers)
    HmacV1Auth(CREDS).add_auth(request)
    provided, to_sign = _check(request)
    assert signer.constant_time_equal(signer.s3_v2_signature(CREDS.secret_key, to_sign), provided)
    assert not signer.constant_time_equal(signer.s3_v2_signature("other", to_sign), provided)


def test_presigned_query_signature_matches_botocore():
    request = AWSRequest(method="GET", url="http://h:3333/bucket/some%20key?response-content-type=text/plain")
    HmacV1QueryAuth(CREDS, expires=120).add_auth(request)
    provided, to_sign = _check(request, expires="")
    assert signer.constant_time_equal(signer.s3_v2_signature(CREDS.secret_key, to_sign), provided)


def test_x_amz_date_empties_the_date_line():
    to_sign = signer.s3_v2_string_to_sign("GET", "/b/k", "", {"Date": "Tue, 1 Jan 2030 00:00:00 GMT",
                                                                "X-Amz-Date": "Tue, 1 Jan 2030 00:00:00 GMT"})
    assert to_sign.split("\n")[3] == ""
    assert "x-amz-date:Tue, 1 Jan 2030 00:00:00 GMT" in to_sign
