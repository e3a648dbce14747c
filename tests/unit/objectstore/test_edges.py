"""Edge cases clients rely on: Expect: 100-continue, a client that leaves early."""

import logging

import botocore.exceptions
import pytest
import socket
import time

from tests.unit.objectstore.conftest import client_for


def _read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_expect_100_continue(s3, objectstore):
    s3.create_bucket(Bucket="cont")
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "cont", "Key": "k"})
    target = url[url.index("/cont/"):]
    with socket.create_connection(("127.0.0.1", objectstore.port), 10) as sock:
        sock.sendall(f"PUT {target} HTTP/1.1\r\nHost: 127.0.0.1:{objectstore.port}\r\nContent-Length: 5\r\n"
                     "Expect: 100-continue\r\n\r\n".encode())
        assert _read_head(sock).startswith(b"HTTP/1.1 100")
        sock.sendall(b"hello")
        assert _read_head(sock).startswith(b"HTTP/1.1 200")
    assert s3.get_object(Bucket="cont", Key="k")["Body"].read() == b"hello"
    # Refused before the body: the answer comes without a 100 and without waiting for the bytes.
    with socket.create_connection(("127.0.0.1", objectstore.port), 10) as sock:
        sock.sendall(b"PUT /cont/anon HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000000\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        assert _read_head(sock).startswith(b"HTTP/1.1 403")


def test_client_leaving_mid_upload_is_one_log_line(s3, objectstore, caplog):
    s3.create_bucket(Bucket="gone")
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "gone", "Key": "k"})
    target = url[url.index("/gone/"):]
    with caplog.at_level(logging.INFO):
        with socket.create_connection(("127.0.0.1", objectstore.port), 10) as sock:
            head = f"PUT {target} HTTP/1.1\r\nHost: 127.0.0.1:{objectstore.port}\r\nContent-Length: 1000000\r\n\r\n"
            sock.sendall(head.encode() + b"x" * 1000)
            time.sleep(0.3)
        deadline = time.time() + 10
        while time.time() < deadline and "IncompleteBody" not in caplog.text:
            time.sleep(0.1)
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)
    assert len([r for r in caplog.records if "IncompleteBody" in r.getMessage()]) == 1
    assert "Contents" not in client_for(objectstore).list_objects_v2(Bucket="gone")


def test_conditional_put(s3):
    s3.create_bucket(Bucket="cond")
    first = s3.put_object(Bucket="cond", Key="k", Body=b"1", IfNoneMatch="*")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_object(Bucket="cond", Key="k", Body=b"2", IfNoneMatch="*")
    assert err.value.response["Error"]["Code"] == "PreconditionFailed"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_object(Bucket="cond", Key="k", Body=b"2", IfMatch='"0123"')
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    s3.put_object(Bucket="cond", Key="k", Body=b"3", IfMatch=first["ETag"])
    assert s3.get_object(Bucket="cond", Key="k")["Body"].read() == b"3"


def test_a_slow_fsync_holds_up_only_its_own_request(s3, monkeypatch):
    """Disk work runs in native threads: while one PUT waits on a slow fsync, other requests are served."""
    import os

    import eventlet
    import eventlet.patcher

    s3.create_bucket(Bucket="parallel")
    s3.put_object(Bucket="parallel", Key="ready", Body=b"r")
    real_fsync, blocking_sleep = os.fsync, eventlet.patcher.original("time").sleep
    slow = {"left": 1}

    def slow_fsync(fd):
        if slow["left"]:
            slow["left"] = 0
            blocking_sleep(2.5)  # blocks whatever thread runs it, as a busy disk does
            slow["over"] = True
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    put = eventlet.spawn(s3.put_object, Bucket="parallel", Key="slow", Body=b"s")
    while slow["left"]:
        eventlet.sleep(0.01)
    assert s3.get_object(Bucket="parallel", Key="ready")["Body"].read() == b"r"
    assert "over" not in slow  # served while the fsync still blocked its thread
    put.wait()
    assert s3.get_object(Bucket="parallel", Key="slow")["Body"].read() == b"s"
