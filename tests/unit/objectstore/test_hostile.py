"""Hostile and malformed requests get S3 errors, and leave nothing behind."""

import base64
import datetime
import email.utils
import hashlib
import hmac
import http.client
import os
import re
import socket
import urllib.parse
from xml.etree import ElementTree

import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from nova.auth import signer
from tests.fixtures.objectstore import PAIRS, client_for

ALICE = Credentials(*PAIRS["alice"])  # alice's pair for proj-a
ALICE_KEY, ALICE_SECRET = PAIRS["alice"][0], PAIRS["alice"][1].encode()


def sign_v4(method, path, headers, payload_hash, creds=ALICE, amz_date=None):
    """Add SigV4 headers with nova's signer (itself checked against botocore)."""
    headers = dict(headers)
    amz_date = amz_date or datetime.datetime.utcnow().strftime("%Y%m%dT%H%M%SZ")
    headers.setdefault("X-Amz-Date", amz_date)
    headers["X-Amz-Content-SHA256"] = payload_hash
    signed = sorted(h.lower() for h in headers)
    raw_path, _, raw_query = path.partition("?")
    parsed = signer.SigV4Request(creds.access_key, headers["X-Amz-Date"][:8], "nova", "s3", signed, "",
                                 headers["X-Amz-Date"], False)
    signature = signer.sigv4_signature(creds.secret_key, parsed, method, raw_path, signer.canonical_query(raw_query),
                                       headers, payload_hash)
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={creds.access_key}/{parsed.scope}, "
                                f"SignedHeaders={';'.join(signed)}, Signature={signature}")
    return headers, parsed, signature


def send(server, method, path, body=b"", headers=None, sign=True, creds=ALICE, payload_hash=None,
         content_length=None, close_early=False):
    """A raw request (signed with SigV4 unless sign=False); returns (status, headers, body)."""
    headers = dict(headers or {})
    headers.setdefault("Host", f"127.0.0.1:{server.port}")
    if sign:
        headers, _, _ = sign_v4(method, path, headers, payload_hash or hashlib.sha256(body).hexdigest(), creds)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.putheader("Content-Length", str(len(body) if content_length is None else content_length))
    conn.endheaders()
    if body:
        conn.send(body)
    if close_early:
        conn.sock.shutdown(socket.SHUT_WR)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, response.headers, data


def error_code(data: bytes) -> str:
    text = data.decode()
    assert text.startswith("<?xml") and "<Error>" in text, text
    return text.split("<Code>")[1].split("</Code>")[0]


@pytest.fixture
def bucket(objectstore):
    status, _, data = send(objectstore, "PUT", "/box")
    assert status == 200, data
    return objectstore


def _no_leftovers(server):
    root = os.path.join(server.app.store.root, "box")
    assert os.listdir(os.path.join(root, "tmp")) == []
    assert [f for _, _, files in os.walk(os.path.join(root, "objects")) for f in files] == []


@pytest.mark.parametrize("path,code", [
    ("/box/..%2F..%2Fetc%2Fpasswd", "InvalidArgument"),
    ("/box/a/../../b", "InvalidArgument"),
    ("/box//etc/passwd", "InvalidArgument"),
    ("/box/nul%00byte", "InvalidArgument"),
    ("/box/" + "k" * 1025, "KeyTooLongError"),
    ("/box/bad%FFutf8", "InvalidURI"),
    ("/..", "InvalidBucketName"),
    ("/%2E%2E/x", "InvalidBucketName"),
    ("/bad%00bucket/x", "InvalidBucketName"),
    ("/" + "b" * 64 + "/x", "InvalidBucketName"),
    ("/UPPER/x", "InvalidBucketName"),
    ("/192.168.1.1/x", "InvalidBucketName"),
])
def test_bad_names_are_refused(bucket, path, code):
    status, _, data = send(bucket, "PUT", path, b"data")
    assert status == 400 and error_code(data) == code
    _no_leftovers(bucket)
    assert sorted(os.listdir(bucket.app.store.root)) == ["box"]


def test_traversal_cannot_create_bucket_outside(objectstore, tmp_path):
    for path in ("/..%2Fescape", "/.hidden", "/%2Fetc"):
        status, _, data = send(objectstore, "PUT", path)
        assert status == 400 and error_code(data) == "InvalidBucketName"
    assert not (tmp_path / "escape").exists()
    assert os.listdir(objectstore.app.store.root) == []


# Bodies up to 1 MiB are held in memory; larger ones are read into reused buffers and written with O_DIRECT.
BODY_SIZES = pytest.mark.parametrize("size", [8, 3 * 1024 * 1024 + 123], ids=["in-memory", "streamed"])


@BODY_SIZES
def test_bad_content_md5(bucket, size):
    payload = os.urandom(size)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    status, _, data = send(bucket, "PUT", "/box/k", payload, {"Content-MD5": wrong})
    assert status == 400 and error_code(data) == "BadDigest"
    _no_leftovers(bucket)
    status, _, data = send(bucket, "PUT", "/box/k", payload, {"Content-MD5": "not-base64!"})
    assert status == 400 and error_code(data) == "InvalidDigest"
    good = base64.b64encode(hashlib.md5(payload).digest()).decode()
    status, headers, _ = send(bucket, "PUT", "/box/k", payload, {"Content-MD5": good})
    assert status == 200 and headers["ETag"] == f'"{hashlib.md5(payload).hexdigest()}"'
    assert send(bucket, "GET", "/box/k")[2] == payload


@BODY_SIZES
def test_body_not_matching_signed_hash(bucket, size):
    status, _, data = send(bucket, "PUT", "/box/k", os.urandom(size),
                           payload_hash=hashlib.sha256(b"original").hexdigest())
    assert status == 400 and error_code(data) == "XAmzContentSHA256Mismatch"
    _no_leftovers(bucket)


@BODY_SIZES
def test_truncated_body(bucket, size):
    status, _, data = send(bucket, "PUT", "/box/k", os.urandom(size // 2), payload_hash=signer.UNSIGNED_PAYLOAD,
                           content_length=size, close_early=True)
    assert status == 400 and error_code(data) == "IncompleteBody"
    _no_leftovers(bucket)


def test_oversized_body(bucket):
    from nova import flags

    flags.FLAGS.s3_max_object_size = 1000
    status, _, data = send(bucket, "PUT", "/box/k", os.urandom(5000))
    assert status == 400 and error_code(data) == "EntityTooLarge"
    _no_leftovers(bucket)


def test_unsigned_and_expired_requests(bucket):
    status, _, data = send(bucket, "GET", "/box", sign=False)
    assert status == 403 and error_code(data) == "AccessDenied"
    old = (datetime.datetime.utcnow() - datetime.timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
    status, _, data = send(bucket, "GET", "/box", headers={"X-Amz-Date": old})
    assert status == 403 and error_code(data) == "RequestTimeTooSkewed"
    status, _, data = send(bucket, "GET", "/box", sign=False, headers={"Authorization": "Bearer x"})
    assert status == 400 and error_code(data) == "InvalidArgument"
    status, _, data = send(bucket, "GET", "/box", sign=False, headers={
        "Authorization": "AWS4-HMAC-SHA256 Credential=garbage", "X-Amz-Date": old})
    assert status in (400, 403) and error_code(data)


def test_malformed_xml_bodies(bucket):
    bomb = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><Delete><Object><Key>&a;</Key></Object></Delete>'
    md5 = base64.b64encode(hashlib.md5(bomb).digest()).decode()
    status, _, data = send(bucket, "POST", "/box?delete", bomb, {"Content-MD5": md5})
    assert status == 400 and error_code(data) == "MalformedXML"
    garbage = b"<Delete><Object>"
    md5 = base64.b64encode(hashlib.md5(garbage).digest()).decode()
    status, _, data = send(bucket, "POST", "/box?delete", garbage, {"Content-MD5": md5})
    assert status == 400 and error_code(data) == "MalformedXML"


def test_unsupported_and_wrong_methods(bucket):
    status, _, data = send(bucket, "PUT", "/box?policy", b"{}")
    assert status == 501 and error_code(data) == "NotImplemented"
    status, _, data = send(bucket, "POST", "/")
    assert status == 405 and error_code(data) == "MethodNotAllowed"


def test_virtual_host_style(bucket):
    status, _, data = send(bucket, "PUT", "/vh-key", b"vhost", headers={"Host": "box.localhost"})
    assert status == 200, data
    status, _, data = send(bucket, "GET", "/box/vh-key")
    assert status == 200 and data == b"vhost"


def _streaming_request(server, key, chunks, tamper=False):
    """A STREAMING-AWS4-HMAC-SHA256-PAYLOAD upload, signed chunk by chunk as AWS SDKs send it."""
    path = f"/box/{urllib.parse.quote(key)}"
    headers = {"Host": f"127.0.0.1:{server.port}", "Content-Encoding": "aws-chunked",
               "X-Amz-Decoded-Content-Length": str(sum(len(c) for c in chunks))}
    headers, parsed, seed = sign_v4("PUT", path, headers, signer.STREAMING_PAYLOAD)
    body, previous = b"", seed
    for chunk in list(chunks) + [b""]:
        signature = signer.chunk_signature(ALICE.secret_key, parsed, previous, chunk)
        sent = chunk[:-1] + b"X" if tamper and chunk else chunk
        body += f"{len(chunk):x};chunk-signature={signature}\r\n".encode() + sent + b"\r\n"
        previous = signature
    return send(server, "PUT", path, body, headers, sign=False)


def test_streaming_signed_chunks(bucket):
    chunks = [os.urandom(65536), os.urandom(65536), b"end"]
    status, _, data = _streaming_request(bucket, "streamed", chunks)
    assert status == 200, data
    assert send(bucket, "GET", "/box/streamed")[2] == b"".join(chunks)
    status, _, data = _streaming_request(bucket, "tampered", chunks, tamper=True)
    assert status == 403 and error_code(data) == "SignatureDoesNotMatch"
    assert send(bucket, "GET", "/box/tampered")[0] == 404


def test_streaming_unsigned_trailer_with_checksum(bucket):
    import zlib

    payload = os.urandom(10000)
    crc = base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")).decode()
    for checksum, expected in ((crc, 200), (base64.b64encode(b"\0\0\0\0").decode(), 400)):
        body = (f"{len(payload):x}\r\n".encode() + payload + b"\r\n0\r\n"
                + f"x-amz-checksum-crc32:{checksum}\r\n\r\n".encode())
        status, _, data = send(bucket, "PUT", "/box/trailer", body, {
            "Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": str(len(payload)),
            "X-Amz-Trailer": "x-amz-checksum-crc32"}, payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        assert status == expected, data
    assert send(bucket, "GET", "/box/trailer")[2] == payload


def test_put_without_content_length(bucket):
    conn = http.client.HTTPConnection("127.0.0.1", bucket.port, timeout=20)
    headers, _, _ = sign_v4("PUT", "/box/nolength", {"Host": f"127.0.0.1:{bucket.port}"}, signer.UNSIGNED_PAYLOAD)
    conn.putrequest("PUT", "/box/nolength", skip_host=True, skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 411 and error_code(response.read()) == "MissingContentLength"
    conn.close()


def test_declared_oversize_is_refused_before_reading(bucket):
    from nova import flags

    flags.FLAGS.s3_max_object_size = 1000
    conn = http.client.HTTPConnection("127.0.0.1", bucket.port, timeout=20)
    headers, _, _ = sign_v4("PUT", "/box/huge", {"Host": f"127.0.0.1:{bucket.port}"}, signer.UNSIGNED_PAYLOAD)
    conn.putrequest("PUT", "/box/huge", skip_host=True, skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.putheader("Content-Length", str(10 * 1024 ** 3))
    conn.endheaders()  # no body is ever sent: the answer comes first
    response = conn.getresponse()
    assert response.status == 400 and error_code(response.read()) == "EntityTooLarge"
    conn.close()
    _no_leftovers(bucket)


@pytest.mark.parametrize("offset", [datetime.timedelta(hours=1), -datetime.timedelta(hours=1)])
def test_the_one_skew_rule_both_ways(bucket, offset):
    when = datetime.datetime.utcnow() + offset
    status, _, data = send(bucket, "GET", "/box", headers={"X-Amz-Date": when.strftime("%Y%m%dT%H%M%SZ")})
    assert status == 403 and error_code(data) == "RequestTimeTooSkewed"
    assert b"The difference between the request time and the current time is too large." in data


def _sigv2_header_request(server, when):
    date = email.utils.format_datetime(when.replace(tzinfo=datetime.timezone.utc), usegmt=True)
    to_sign = f"GET\n\n\n{date}\n/box"
    signature = base64.b64encode(hmac.new(ALICE_SECRET, to_sign.encode(), hashlib.sha1).digest()).decode()
    return send(server, "GET", "/box", sign=False, headers={"Date": date,
                                                           "Authorization": f"AWS {ALICE_KEY}:{signature}"})


def test_sigv2_header_dates_follow_the_same_rule(bucket):
    from nova import flags

    now = datetime.datetime.utcnow()
    assert _sigv2_header_request(bucket, now)[0] == 200
    assert _sigv2_header_request(bucket, now - datetime.timedelta(minutes=2))[0] == 200
    flags.FLAGS.auth_max_clock_skew = 60
    for offset in (datetime.timedelta(minutes=2), -datetime.timedelta(minutes=2)):
        status, _, data = _sigv2_header_request(bucket, now + offset)
        assert status == 403 and error_code(data) == "RequestTimeTooSkewed"


# -- The probes of issue 17: a client's mistake is S3's 4xx, never a 500 --------------------------------------

def _raw(server, data: bytes) -> tuple[int, bytes]:
    """(status, body) of bytes sent as they are, for what http.client will not send."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def _spoiled_v4(server, method, path, **changes):
    """A SigV4-signed request whose headers the test then changes (None removes one)."""
    headers, _, _ = sign_v4(method, path, {"Host": f"127.0.0.1:{server.port}", "X-Extra": "1"},
                            hashlib.sha256(b"").hexdigest())
    for name, value in changes.items():
        name = name.replace("_", "-")
        if callable(value):
            headers[name] = value(headers[name])
        elif value is None:
            headers.pop(name)
        else:
            headers[name] = value
    return send(server, method, path, headers=headers, sign=False)


def _signed_headers(value):
    return lambda authorization: re.sub(r"SignedHeaders=[^,]*", f"SignedHeaders={value}", authorization)


@pytest.mark.parametrize("changes, expected", [
    ({"X_Amz_Date": "garbage"}, (403, "AccessDenied")),
    ({"X_Amz_Date": "00000101T000000Z"}, (403, "AccessDenied")),
    ({"X_Amz_Date": "20240230T120000Z"}, (403, "AccessDenied")),
    ({"X_Amz_Date": "99991231T235959Z"}, (403, "RequestTimeTooSkewed")),
    ({"Authorization": _signed_headers("")}, (400, "AuthorizationHeaderMalformed")),
    ({"Authorization": _signed_headers(";")}, (400, "AuthorizationHeaderMalformed")),
    ({"X_Extra": None}, (403, "SignatureDoesNotMatch")),
    ({"Authorization": _signed_headers("host;x-absent;x-amz-content-sha256;x-amz-date")},
     (403, "SignatureDoesNotMatch")),
], ids=["garbage-date", "year-0000", "february-30", "year-9999", "empty-signed-headers", "blank-signed-headers",
        "signed-header-absent", "signed-header-invented"])
def test_spoiled_sigv4_headers(bucket, changes, expected):
    status, _, data = _spoiled_v4(bucket, "GET", "/box", **changes)
    assert (status, error_code(data)) == expected


def _presigned(server, **changes):
    client = client_for(server)
    url = client.generate_presigned_url("get_object", Params={"Bucket": "box", "Key": "k"}, ExpiresIn=60)
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query.update(changes)
    return f"{parts.path}?{urllib.parse.urlencode(query)}"


@pytest.mark.parametrize("changes, expected", [
    ({"X-Amz-Date": "garbage"}, (400, "AuthorizationQueryParametersError")),
    ({"X-Amz-Date": "00000000T000000Z"}, (400, "AuthorizationQueryParametersError")),
    ({"X-Amz-SignedHeaders": "host;x-absent"}, (403, "SignatureDoesNotMatch")),
    ({"X-Amz-Expires": "604801"}, (400, "AuthorizationQueryParametersError")),
    ({"X-Amz-Expires": "-1"}, (400, "AuthorizationQueryParametersError")),
], ids=["garbage-date", "year-0000", "signed-header-absent", "expires-past-7-days", "negative-expires"])
def test_spoiled_presigned_urls(bucket, changes, expected):
    assert send(bucket, "PUT", "/box/k", b"data")[0] == 200
    assert send(bucket, "GET", _presigned(bucket), sign=False)[2] == b"data"
    status, _, data = send(bucket, "GET", _presigned(bucket, **changes), sign=False)
    assert (status, error_code(data)) == expected


def _sigv2_query(server, expires: int) -> tuple[int, str]:
    to_sign = f"GET\n\n\n{expires}\n/box/k"
    signature = base64.b64encode(hmac.new(ALICE_SECRET, to_sign.encode(), hashlib.sha1).digest()).decode()
    query = urllib.parse.urlencode({"AWSAccessKeyId": ALICE_KEY, "Expires": str(expires),
                                    "Signature": signature})
    status, _, data = send(server, "GET", f"/box/k?{query}", sign=False)
    return status, (None if status == 200 else error_code(data))


def test_sigv2_query_expires_is_bounded_to_seven_days(bucket):
    import time

    assert send(bucket, "PUT", "/box/k", b"data")[0] == 200
    now = int(time.time())
    assert _sigv2_query(bucket, now + 6 * 86400) == (200, None)
    assert _sigv2_query(bucket, now + 8 * 86400) == (400, "AuthorizationQueryParametersError")
    assert _sigv2_query(bucket, 253402300799) == (400, "AuthorizationQueryParametersError")  # 9999-12-31
    assert _sigv2_query(bucket, now - 60) == (403, "AccessDenied")


def test_sigv2_header_dates_past_the_calendar(bucket):
    for date in ("Mon, 01 Jan 0001 00:00:00 +0100", "Fri, 31 Dec 9999 23:59:59 -0100", "Mon, 00 Foo 0000 x",
                 "Mon, 01 Jan 10000 00:00:00 GMT"):
        signature = base64.b64encode(hmac.new(ALICE_SECRET, f"GET\n\n\n{date}\n/box".encode(),
                                              hashlib.sha1).digest()).decode()
        status, _, data = send(bucket, "GET", "/box", sign=False, headers={
            "Date": date, "Authorization": f"AWS {ALICE_KEY}:{signature}"})
        assert status == 403 and error_code(data) in ("AccessDenied", "RequestTimeTooSkewed"), date


def _short(value: bytes) -> str:
    return value[:12].decode() + (f"...({len(value)} bytes)" if len(value) > 12 else "")


@pytest.mark.parametrize("size", [b"-5", b"zz", b"+5", b"1_0", b"0x5", b" 5", b"", b"-0", b"1" * 5000], ids=_short)
def test_aws_chunked_bad_chunk_sizes(bucket, size):
    body = size + b"\r\nhello\r\n0\r\n\r\n"
    status, _, data = send(bucket, "PUT", "/box/c", body, {"Content-Encoding": "aws-chunked",
                                                           "X-Amz-Decoded-Content-Length": "5"},
                           payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    assert (status, error_code(data)) == (400, "InvalidRequest")
    _no_leftovers(bucket)


@pytest.mark.parametrize("size", [b"-5", b"zz", b"ffffffffffffffffffff", b"1" * 5000], ids=_short)
def test_http_chunked_bad_chunk_sizes(bucket, size):
    headers, _, _ = sign_v4("PUT", "/box/h", {"Host": f"127.0.0.1:{bucket.port}"}, signer.UNSIGNED_PAYLOAD)
    request = b"PUT /box/h HTTP/1.1\r\n" + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
    request += b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + size + b"\r\nhello\r\n0\r\n\r\n"
    status, data = _raw(bucket, request)
    assert 400 <= status < 500 and error_code(data) in ("InvalidRequest", "IncompleteBody")
    _no_leftovers(bucket)


@pytest.mark.parametrize("value, expected", [
    ("bytes=111111111111111111111111", (200, b"0123456789")),
    ("bytes=" + "1" * 5000, (200, b"0123456789")),
    ("bytes=" + "1" * 5000 + "-", (416, "InvalidRange")),
    ("bytes=111111111111111111111111-", (416, "InvalidRange")),
    ("bytes=2-" + "1" * 5000, (206, b"23456789")),
    ("bytes=-" + "1" * 5000, (206, b"0123456789")),
    ("bytes=\u0661-\u0662", (200, b"0123456789")),  # not ASCII digits: no range, as S3 ignores what it cannot read
], ids=["24-digits", "5000-digits", "5000-digit-start", "24-digit-start", "5000-digit-end", "5000-digit-suffix",
        "arabic-digits"])
def test_ranges_past_any_number(bucket, value, expected):
    assert send(bucket, "PUT", "/box/k", b"0123456789")[0] == 200
    status, _, data = send(bucket, "GET", "/box/k", headers={"Range": value.encode().decode("latin-1")})
    assert (status, data if status < 400 else error_code(data)) == expected


def test_copy_source_range_past_any_number(bucket):
    s3 = client_for(bucket)
    s3.put_object(Bucket="box", Key="src", Body=b"0123456789")
    upload = s3.create_multipart_upload(Bucket="box", Key="dst")["UploadId"]
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part_copy(Bucket="box", Key="dst", UploadId=upload, PartNumber=1, CopySource="box/src",
                            CopySourceRange="bytes=" + "9" * 5000 + "-" + "9" * 5001)
    assert excinfo.value.response["Error"]["Code"] == "InvalidRange"


def test_control_characters_echoed_in_errors_keep_the_xml_well_formed(bucket):
    status, _, data = send(bucket, "GET", "/box/k", headers={"Range": "bytes=99-\x01"})
    assert status == 200 or ElementTree.fromstring(data) is not None
    status, _, data = send(bucket, "GET", "/box/no%01such%7Fkey")
    assert (status, error_code(data)) == (400, "InvalidArgument")
    assert ElementTree.fromstring(data).findtext("Resource") == "/box/no\\x01such\x7fkey"
    status, _, data = send(bucket, "GET", "/bad%1Fbucket/k")
    assert (status, error_code(data)) == (400, "InvalidBucketName")
    assert ElementTree.fromstring(data).findtext("BucketName") == "bad\\x1fbucket"
