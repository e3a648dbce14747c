"""nova-api, nova-scheduler, nova-compute (fake driver) and nova-network as
processes on RabbitMQ, driven with credentials from ``nova-manage project
environment`` by the AWS CLI, boto3 and a hand-signed SigV2 request."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import urllib.parse
import urllib.request

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError

from nova import context
from tests.fixtures.daemons import ROOT, free_port, read_novarc, wait_for
from tests.unit.compute.fakes import make_image

NO_RETRY = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=60)


class Ec2Cloud:
    def __init__(self, cloud, tmp_path, also: tuple[tuple[str, ...], ...] = ()) -> None:
        """``also``: more daemons (binary, arguments...) to start with the others."""
        self.cloud = cloud
        self.tmp_path = tmp_path
        self.port = free_port()
        with open(cloud.flagfile, "a") as handle:
            handle.write("\n".join([
                "--fake_network", "--network_manager=nova.network.manager.FlatManager", "--root_helper=",
                "--connection_type=fake", "--ec2_listen=127.0.0.1", "--ec2_host=127.0.0.1",
                f"--ec2_port={self.port}", "--metadata_port=0",
                f"--api_paste_config={os.path.join(ROOT, 'etc', 'nova', 'api-paste.ini')}",
            ]) + "\n")
        cloud.sync_db()
        cloud.manage("network", "create", "10.0.0.0/24", "1", "256")
        for binary, host in (("nova-scheduler", "sched"), ("nova-network", "net"), ("nova-compute", "c1")):
            cloud.start(binary, f"--host={host}")
        self.api = cloud.start("nova-api", "--host=api")
        for binary, *args in also:
            cloud.start(binary, *args)
        # the daemons start meanwhile
        cloud.create_users(("alice", "proj-a"), ("bob", "proj-b"), netadmin=True)
        for user, project in (("alice", "proj-a"), ("bob", "proj-b")):
            cloud.manage("project", "environment", project, user, str(tmp_path / f"novarc-{user}"))
        self.image_id = "ami-%08x" % make_image(context.RequestContext("alice", "proj-a"), is_public=True)["id"]
        wanted = {("sched", "nova-scheduler"), ("net", "nova-network"), ("c1", "nova-compute")}
        wait_for(lambda: cloud.services_up(*wanted), timeout=60, what="services up")
        wait_for(self._listening, timeout=30, what="nova-api listening")

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def env(self, user: str) -> dict[str, str]:
        return read_novarc(str(self.tmp_path / f"novarc-{user}"))

    def client(self, user: str):
        env = self.env(user)
        return boto3.client("ec2", endpoint_url=env["EC2_URL"], region_name=env["AWS_DEFAULT_REGION"],
                            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], config=NO_RETRY)

    def aws(self, user: str, *args: str) -> dict:
        """Run the AWS CLI with nothing but the novarc's environment."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") or k == "AWS_DATA_PATH"}
        env.update(self.env(user))
        env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
        result = subprocess.run([sys.executable, "-m", "awscli", "ec2", *args, "--output", "json"],
                                capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 0, f"aws ec2 {' '.join(args)}: {result.stderr}\n{self.api.log()[-3000:]}"
        return json.loads(result.stdout) if result.stdout.strip() else {}


@pytest.fixture
def ec2_cloud(cloud, rabbit_vhost, tmp_path):
    yield Ec2Cloud(cloud, tmp_path)


def _instance(client, instance_id: str) -> dict:
    return client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def _state(client, instance_id: str) -> str:
    return _instance(client, instance_id)["State"]["Name"]


@pytest.mark.timeout(600)
def test_instance_lifecycle_with_the_aws_cli_and_boto3(ec2_cloud):
    cli = ec2_cloud.aws
    assert [r["RegionName"] for r in cli("alice", "describe-regions")["Regions"]] == ["nova"]
    key = cli("alice", "create-key-pair", "--key-name", "mykey")
    assert key["KeyMaterial"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    group_id = cli("alice", "create-security-group", "--group-name", "web", "--description", "web")["GroupId"]
    cli("alice", "authorize-security-group-ingress", "--group-name", "web", "--protocol", "tcp", "--port", "22",
        "--cidr", "0.0.0.0/0")
    reservation = cli("alice", "run-instances", "--image-id", ec2_cloud.image_id, "--count", "1",
                      "--instance-type", "m1.tiny", "--key-name", "mykey", "--security-groups", "web",
                      "--user-data", "hello")
    instance_id = reservation["Instances"][0]["InstanceId"]

    client = ec2_cloud.client("alice")
    client.get_waiter("instance_running").wait(InstanceIds=[instance_id],
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 90})
    shown = _instance(client, instance_id)
    assert shown["PrivateIpAddress"].startswith("10.0.0.")
    assert shown["SecurityGroups"] == [{"GroupName": "web", "GroupId": group_id}]
    found = cli("alice", "describe-instances", "--filters", "Name=instance-state-name,Values=running",
                f"Name=private-ip-address,Values={shown['PrivateIpAddress']}", "Name=key-name,Values=mykey")
    assert [i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]] == [instance_id]

    cli("alice", "create-tags", "--resources", instance_id, "--tags", "Key=Name,Value=web1")
    tagged = client.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["web1"]}])["Reservations"]
    assert [i["InstanceId"] for r in tagged for i in r["Instances"]] == [instance_id]
    assert cli("alice", "get-console-output", "--instance-id", instance_id)["InstanceId"] == instance_id

    _issue_15_calls(ec2_cloud, client, instance_id)

    cli("alice", "stop-instances", "--instance-ids", instance_id)
    client.get_waiter("instance_stopped").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    client.start_instances(InstanceIds=[instance_id])
    client.get_waiter("instance_running").wait(InstanceIds=[instance_id],
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    client.reboot_instances(InstanceIds=[instance_id])

    terminated = cli("alice", "terminate-instances", "--instance-ids", instance_id)["TerminatingInstances"]
    assert terminated[0]["PreviousState"]["Name"] == "running"
    wait_for(lambda: not client.describe_instances()["Reservations"], timeout=60, what="instance gone")
    assert _state(client, instance_id) == "terminated"


def _issue_15_calls(ec2_cloud, client, instance_id: str) -> None:
    """CopyImage, tags on every create call and Describe, the shutdown behaviour and EC2's error codes,
    through the AWS CLI and boto3 (issue 15)."""
    cli = ec2_cloud.aws
    tags = "ResourceType={kind},Tags=[{{Key=team,Value=red}}]"
    copied = cli("alice", "copy-image", "--source-region", "nova", "--source-image-id", ec2_cloud.image_id,
                 "--name", "my copy", "--description", "mine", "--client-token", "copy-1",
                 "--tag-specifications", tags.format(kind="image"))["ImageId"]
    mine = client.describe_images(Owners=["self"], Filters=[{"Name": "tag:team", "Values": ["red"]}])["Images"]
    assert [(i["ImageId"], i["Name"], i["State"], i["Public"]) for i in mine] == [(copied, "my copy", "available",
                                                                                   False)]
    assert client.copy_image(SourceRegion="nova", SourceImageId=ec2_cloud.image_id, Name="my copy",
                             ClientToken="copy-1")["ImageId"] == copied
    for kwargs, code in ((dict(Name="my copy"), "InvalidAMIName.Duplicate"),
                         (dict(Name="far away", SourceRegion="us-east-1"), "InvalidParameterValue"),
                         (dict(Name="no*star"), "InvalidAMIName.Malformed")):
        with pytest.raises(ClientError) as excinfo:
            client.copy_image(**{"SourceImageId": ec2_cloud.image_id, "SourceRegion": "nova", **kwargs})
        assert excinfo.value.response["Error"]["Code"] == code, kwargs

    ec2_cloud.cloud.manage("floating", "create", "net", "198.51.100.8/30")
    address = cli("alice", "allocate-address", "--tag-specifications", tags.format(kind="elastic-ip"))
    found = client.describe_addresses(Filters=[{"Name": "tag-key", "Values": ["team"]}])["Addresses"]
    assert [(a["PublicIp"], a["AllocationId"], a["Tags"]) for a in found] == [
        (address["PublicIp"], address["AllocationId"], [{"Key": "team", "Value": "red"}])]
    client.release_address(PublicIp=address["PublicIp"])

    cli("alice", "modify-instance-attribute", "--instance-id", instance_id,
        "--instance-initiated-shutdown-behavior", "Value=terminate")
    assert client.describe_instance_attribute(InstanceId=instance_id, Attribute="instanceInitiatedShutdownBehavior")[
        "InstanceInitiatedShutdownBehavior"] == {"Value": "terminate"}
    with pytest.raises(ClientError) as excinfo:
        client.modify_instance_attribute(InstanceId=instance_id, BlockDeviceMappings=[
            {"DeviceName": "/dev/sdz", "Ebs": {"DeleteOnTermination": False}}])
    assert excinfo.value.response["Error"]["Code"] == "InvalidInstanceAttributeValue"
    client.modify_instance_attribute(InstanceId=instance_id, InstanceInitiatedShutdownBehavior={"Value": "stop"})


def _sigv2_get(port: int, params: dict[str, str], access: str, secret: str) -> tuple[int, str]:
    host = f"127.0.0.1:{port}"
    params = dict(params, AWSAccessKeyId=access, SignatureVersion="2", SignatureMethod="HmacSHA256",
                  Timestamp=datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"), Version="2010-08-31")
    query = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
                     for k, v in sorted(params.items()))
    digest = hmac.new(secret.encode(), f"GET\n{host}\n/services/Cloud\n{query}".encode(), hashlib.sha256).digest()
    url = f"http://{host}/services/Cloud?{query}&Signature={urllib.parse.quote(base64.b64encode(digest).decode())}"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.timeout(300)
def test_sigv2_and_tenant_isolation(ec2_cloud):
    alice = ec2_cloud.client("alice")
    alice.create_key_pair(KeyName="alices")
    alice.create_security_group(GroupName="alices", Description="d")
    instance_id = alice.run_instances(ImageId=ec2_cloud.image_id, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]

    status, body = _sigv2_get(ec2_cloud.port, {"Action": "DescribeInstances", "InstanceId.1": instance_id},
                              "AK-alice:proj-a", "SK-alice")
    assert status == 200 and instance_id in body
    assert 'xmlns="http://ec2.amazonaws.com/doc/2010-08-31/"' in body
    status, body = _sigv2_get(ec2_cloud.port, {"Action": "DescribeInstances"}, "AK-alice:proj-a", "SK-bob")
    assert status == 403 and "SignatureDoesNotMatch" in body

    bob = ec2_cloud.client("bob")
    assert bob.describe_instances()["Reservations"] == []
    assert bob.describe_key_pairs()["KeyPairs"] == []
    assert "alices" not in [g["GroupName"] for g in bob.describe_security_groups()["SecurityGroups"]]
    with pytest.raises(ClientError) as excinfo:
        bob.terminate_instances(InstanceIds=[instance_id])
    assert excinfo.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
    status, body = _sigv2_get(ec2_cloud.port, {"Action": "TerminateInstances", "InstanceId.1": instance_id},
                              "AK-bob", "SK-bob")
    assert status == 400 and "InvalidInstanceID.NotFound" in body
    assert _state(alice, instance_id) in ("pending", "running")

    for bad in ({"Action": "RunInstances", "ImageId": "ami-1", "MinCount": "x", "MaxCount": "1"},
                {"Action": "NoSuchThing"}, {"Action": "DescribeInstances", "InstanceId.1": "i-" + "f" * 40},
                {"Action": "CreateKeyPair", "KeyName": "k" * 1000}, {"Action": "DescribeInstances", "Bogus": "1"}):
        status, body = _sigv2_get(ec2_cloud.port, bad, "AK-alice", "SK-alice")
        assert status == 400 and "<Code>" in body, (bad, body)
