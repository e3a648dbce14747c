"""One request's whole path by its request id, across the logs of every host, and no secret in any log.

nova-api, nova-scheduler, nova-compute and nova-network run as processes,
each as its own host (``--host``) with its own ``--logfile`` (two in JSON,
two in text), on RabbitMQ with a password and PostgreSQL with one in
``--sql_connection``.  RunInstances through boto3 answers with a request id;
``grep`` for it finds the request in the API's log, the scheduler's choice,
the compute host's spawn and the network host's address allocation.  Then
every log line of every daemon is searched for the secrets the flow used.
"""

from __future__ import annotations

import json
import os
import re

import boto3
import botocore.config
import pytest
from sqlalchemy.engine import make_url

from nova import context
from tests.fixtures.daemons import ROOT, Cloud, free_port, listening, wait_for
from tests.fixtures.database import migrated_database
from tests.unit.compute.fakes import make_image

PG_PASSWORD = "pg-Secret-4417"
HOSTS = {"nova-api": "api1", "nova-scheduler": "sched1", "nova-compute": "compute1", "nova-network": "net1"}
JSON_LOGS = {"nova-api", "nova-compute"}


@pytest.fixture
def traced_cloud(tmp_path, rabbit_vhost):
    with migrated_database("postgresql", tmp_path) as url:
        # PostgreSQL here trusts local connections: the password is never checked, only carried around.
        url = make_url(url).set(password=PG_PASSWORD).render_as_string(hide_password=False)
        cloud = Cloud(tmp_path, rabbit_vhost, sql_connection=url)
        try:
            yield _start(cloud, tmp_path)
        finally:
            cloud.cleanup()


def _start(cloud, tmp_path):
    port = free_port()
    with open(cloud.flagfile, "a") as handle:
        handle.write("\n".join([
            "--network_manager=nova.network.manager.FlatManager", "--root_helper=", "--verbose",
            "--ec2_listen=127.0.0.1", "--ec2_host=127.0.0.1", f"--ec2_port={port}", "--metadata_port=0",
            f"--api_paste_config={os.path.join(ROOT, 'etc', 'nova', 'api-paste.ini')}",
        ]) + "\n")
    cloud.manage("network", "create", "10.0.0.0/24", "1", "256")
    logs = {}
    for binary, host in HOSTS.items():
        logs[binary] = str(tmp_path / f"{host}.log")
        fmt = "json" if binary in JSON_LOGS else "text"
        cloud.start(binary, f"--host={host}", f"--logfile={logs[binary]}", f"--log_format={fmt}")
    cloud.create_users(("alice", "proj-a"))
    image_id = "ami-%08x" % make_image(context.RequestContext("alice", "proj-a"), is_public=True)["id"]
    wanted = {(host, binary) for binary, host in HOSTS.items() if binary != "nova-api"}
    wait_for(lambda: cloud.services_up(*wanted), 60, what="services up")
    wait_for(lambda: listening(port), 30, what="nova-api listening")
    client = boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{port}/services/Cloud", region_name="nova",
                          aws_access_key_id="AK-alice", aws_secret_access_key="SK-alice",
                          config=botocore.config.Config(retries={"max_attempts": 1}))
    return cloud, client, image_id, logs


def _lines(path, request_id):
    with open(path) as handle:
        return [line for line in handle if request_id in line]


@pytest.mark.timeout(300)
def test_one_request_found_on_every_host_by_its_id_and_no_secret_in_any_log(traced_cloud):
    cloud, client, image_id, logs = traced_cloud
    answer = client.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, InstanceType="m1.tiny")
    request_id = answer["ResponseMetadata"]["RequestId"]
    assert re.fullmatch(r"req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", request_id)
    instance_id = answer["Instances"][0]["InstanceId"]
    client.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    found = {binary: _lines(path, request_id) for binary, path in logs.items()}
    assert all(found.values()), {b: len(v) for b, v in found.items()}
    api = [json.loads(line) for line in found["nova-api"]]
    assert any("RunInstances" in e["message"] or "POST /services/Cloud 200" in e["message"] for e in api), api
    compute = [json.loads(line) for line in found["nova-compute"]]
    assert {(e["host"], e["binary"], e["request_id"]) for e in compute} == {("compute1", "nova-compute", request_id)}
    assert any("run_instance" in e["message"] for e in compute), compute
    assert any("run_instance" in line for line in found["nova-scheduler"]), found["nova-scheduler"]
    assert any("allocate_for_instance" in line for line in found["nova-network"]), found["nova-network"]
    # The next request is another id, and none of the first one's lines carry it.
    other = client.describe_instances()["ResponseMetadata"]["RequestId"]
    assert other != request_id and not any(other in line for lines in found.values() for line in lines)

    # No secret in any line: the user's secret key, the database and broker passwords, a request signature.
    texts = {path: open(path).read() for path in logs.values()}
    texts.update({d.log_path: d.log() for d in cloud.daemons})
    for path, text in texts.items():
        for secret in ("SK-alice", PG_PASSWORD, ":guest@", "rabbit_password=guest"):
            assert secret not in text, f"{secret} in {path}"
        assert not re.search(r"Signature=[0-9a-f]{16}", text), path
