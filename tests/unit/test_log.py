"""nova.log: where lines go, the JSON format, the request id on every line, and secrets masked."""

import json
import logging

import pytest

from nova import context, flags, log

FLAGS = flags.FLAGS


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    log.bind_request_id(None)


def test_logfile_takes_one_json_object_per_line(tmp_path, restore_logging):
    FLAGS.logfile = str(tmp_path / "api.log")
    FLAGS.log_format = "json"
    FLAGS.host = "api-host"
    log.setup("nova-api")
    logger = logging.getLogger("nova.test")
    ctxt = context.RequestContext("alice", "proj")
    logger.info("ran %s", "RunInstances", extra={"context": ctxt})
    log.bind_request_id("req-bound")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    lines = [json.loads(line) for line in (tmp_path / "api.log").read_text().splitlines()]
    assert [(e["level"], e["logger"], e["request_id"], e["message"]) for e in lines] == [
        ("INFO", "nova.test", ctxt.request_id, "ran RunInstances"), ("ERROR", "nova.test", "req-bound", "failed")]
    assert {(e["host"], e["binary"]) for e in lines} == {("api-host", "nova-api")}
    assert "exception" not in lines[0] and "ValueError: boom" in lines[1]["exception"]
    assert lines[0]["time"].endswith("Z") and lines[0]["time"][:2] == "20"


def test_logdir_takes_a_file_per_binary_in_the_text_format(tmp_path, restore_logging):
    FLAGS.logdir = str(tmp_path / "logs")
    log.setup("nova-scheduler")
    logging.getLogger("nova.test").warning("hello", extra={"request_id": "req-1"})
    line = (tmp_path / "logs" / "nova-scheduler.log").read_text()
    assert line.endswith(" WARNING nova.test [req-1] hello\n")


def test_request_ids_are_req_and_a_uuid_and_admin_contexts_keep_the_one_in_hand():
    request_id = context.generate_request_id()
    assert request_id.startswith("req-") and len(request_id) == 40 and request_id.count("-") == 5
    log.bind_request_id(request_id)
    try:
        assert context.get_admin_context().request_id == request_id
    finally:
        log.bind_request_id(None)
    assert context.get_admin_context().request_id != request_id


@pytest.mark.parametrize("line,secret", [
    ("connecting to amqp://nova:S3cr3t@rabbit:5672//", "S3cr3t"),
    ("bad --sql_connection postgresql://nova:pg-pass@db/nova", "pg-pass"),
    ("headers {'Authorization': 'AWS AKIA:c2lnbmF0dXJl', 'Host': 'x'}", "c2lnbmF0dXJl"),
    ("AWS4-HMAC-SHA256 Credential=AK/20110101/nova/ec2/aws4_request, Signature=0123abcdef", "0123abcdef"),
    ("Running: tgtadm --op new --mode account --user u --password chap-secret-1", "chap-secret-1"),
    ('{"auth": {"password": "hunter2"}}', "hunter2"),
    ("rabbit_password=guest-pw secret_key=SK-alice X-Auth-Key: SK-bob admin_token: tok", "SK-"),
])
def test_secrets_never_reach_a_line(tmp_path, restore_logging, line, secret):
    FLAGS.logfile = str(tmp_path / "n.log")
    log.setup("nova-compute")
    logging.getLogger("nova.test").error("%s", line)
    written = (tmp_path / "n.log").read_text()
    assert secret not in written and "***" in written
