"""A real guest through the EC2 API: nova-api, nova-scheduler, nova-network (FlatDHCP) and nova-compute
(libvirt, TCG) as processes from one flagfile on RabbitMQ, driven with boto3.

The daemons run in the root network namespace.  nova-network and nova-compute
work in the test's host namespace through ``--netns`` (bridge, dnsmasq, NAT,
security-group chains), where the test's libvirtd runs.  A veth joins the two
namespaces: the metadata DNAT sends the guest's requests to nova-api over it
(``--ec2_dmz_host``), with a route back to the fixed range.  SSH comes from an
outside namespace through a floating IP.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import sys
import tempfile

import boto3
import botocore.config
import pytest

from tests.fixtures import services
from tests.fixtures.daemons import Cloud, ROOT, free_port, wait_for
from tests.fixtures.database import migrated_sqlite_file
from tests.integration.network.netns import run
from tests.integration.virt.test_real_guest import USER_DATA, host, markers, port, ssh  # noqa: F401

NO_RETRY = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=60)
FIXED_RANGE = "10.82.0.0/24"
FLOATING_IP = "203.0.113.100"
LINK_ROOT, LINK_NET = "198.18.0.1", "198.18.0.2"


@pytest.fixture
def link(host):
    """A veth from the root namespace into the host namespace, and the route to the fixed range over it."""
    root_side = f"nr{os.getpid():x}"[:15]
    run("ip", "link", "add", root_side, "type", "veth", "peer", "name", "up0", "netns", host["net"])
    try:
        run("ip", "addr", "add", f"{LINK_ROOT}/30", "dev", root_side)
        run("ip", "link", "set", root_side, "up")
        host["topo"].address(host["net"], "up0", f"{LINK_NET}/30")
        host["topo"].exec(host["net"], "ip", "link", "set", "up0", "up")
        run("ip", "route", "add", FIXED_RANGE, "via", LINK_NET, "dev", root_side)
        yield
    finally:
        run("ip", "link", "del", root_side, check=False)


@pytest.fixture
def real_cloud_flags() -> list[str]:
    """Flags appended to the real cloud's flagfile (a module that needs more front ends overrides this)."""
    return []


@pytest.fixture
def real_cloud(host, link, rabbit_vhost, tmp_path, real_cloud_flags):
    # dnsmasq and QEMU do not run as root: the state folder must be readable by others
    state = tempfile.mkdtemp(prefix="nova-real-ec2-")
    os.chmod(state, 0o755)
    ec2_port, metadata_port = free_port(), free_port()
    flagfile = os.path.join(state, "nova.conf")
    lines = [
        f"--state_path={state}", f"--sql_connection=sqlite:///{state}/nova.sqlite", "--report_interval=1",
        "--periodic_interval=1", "--service_down_time=4", "--graceful_shutdown_timeout=20",
        "--network_manager=nova.network.manager.FlatDHCPManager", f"--netns={host['net']}", "--root_helper=",
        "--nofake_network", "--flat_interface=flat0", "--public_interface=pub0", f"--fixed_range={FIXED_RANGE}",
        "--routing_source_ip=203.0.113.1", f"--ec2_dmz_host={LINK_ROOT}", f"--metadata_port={metadata_port}",
        f"--metadata_listen={LINK_ROOT}", "--ec2_listen=127.0.0.1", "--ec2_host=127.0.0.1", f"--ec2_port={ec2_port}",
        "--identity_port=0", "--image_api_port=0", f"--dhcpbridge_flagfile={flagfile}",
        "--connection_type=libvirt", "--libvirt_type=qemu", "--libvirt_uri=qemu:///system",
        "--libvirt_kernel_cmdline=console=ttyS0 quiet", "--libvirt_shutdown_timeout=20",
        "--firewall_driver=nova.virt.iptables_firewall.IptablesFirewallDriver",
        f"--api_paste_config={os.path.join(ROOT, 'etc', 'nova', 'api-paste.ini')}",
        *real_cloud_flags,
    ]
    lines += [f"--{name}={value}" if not isinstance(value, bool) else f"--{'' if value else 'no'}{name}"
              for name, value in services.rabbit_flags(rabbit_vhost).items()]
    with open(flagfile, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    cloud = Cloud(tmp_path, rabbit_vhost, flagfile=flagfile)
    try:
        migrated_sqlite_file(f"{state}/nova.sqlite")
        cloud.manage("network", "create", FIXED_RANGE, "1", "256")
        cloud.manage("floating", "create", "net", f"{FLOATING_IP}/32")
        for binary, name in (("nova-scheduler", "sched"), ("nova-network", "net"), ("nova-compute", "c1")):
            cloud.start(binary, f"--host={name}")
        api = cloud.start("nova-api", "--host=api")
        # the daemons start meanwhile
        cloud.create_users(("alice", "proj"), netadmin=True)
        image = host["image"]
        aki = cloud.manage("image", "kernel_register", image["kernel"], "proj").stdout.strip()
        ari = cloud.manage("image", "ramdisk_register", image["ramdisk"], "proj").stdout.strip()
        ami = cloud.manage("image", "image_register", image["disk"], "proj", "guest", "T", "x86_64",
                           aki, ari).stdout.strip()
        wanted = {("sched", "nova-scheduler"), ("net", "nova-network"), ("c1", "nova-compute")}
        wait_for(lambda: all(cloud.service_states().get(key) == ":-)" for key in wanted), timeout=90,
                 what="services up")
        wait_for(lambda: _listening(ec2_port), timeout=30, what="nova-api listening")
        client = boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{ec2_port}/services/Cloud",
                              region_name="nova", aws_access_key_id="AK-alice-proj",
                              aws_secret_access_key="SK-alice-proj", config=NO_RETRY)
        yield {"client": client, "ami": ami, "cloud": cloud, "api": api, **host}
    finally:
        cloud.cleanup()
        pid_file = os.path.join(state, "networks", "nova-br100.pid")
        if os.path.exists(pid_file):
            run("kill", open(pid_file).read().strip(), check=False)
        shutil.rmtree(state, ignore_errors=True)


def _listening(number: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", number), timeout=1).close()
        return True
    except OSError:
        return False


def console(client, instance_id: str) -> str:
    output = client.get_console_output(InstanceId=instance_id).get("Output") or ""
    try:
        return base64.b64decode(output, validate=True).decode(errors="replace")
    except ValueError:
        return output


@pytest.mark.timeout(600)
def test_run_instances_boots_a_guest_that_answers_ssh_and_honours_its_security_group(real_cloud, tmp_path):
    client, topo, outside = real_cloud["client"], real_cloud["topo"], real_cloud["outside"]
    key = tmp_path / "mykey.pem"
    key.write_text(client.create_key_pair(KeyName="mykey")["KeyMaterial"])
    key.chmod(0o600)
    client.create_security_group(GroupName="web", Description="web")
    client.authorize_security_group_ingress(GroupName="web", IpProtocol="tcp", FromPort=22, ToPort=22,
                                            CidrIp="0.0.0.0/0")
    instance_id = client.run_instances(ImageId=real_cloud["ami"], MinCount=1, MaxCount=1, InstanceType="m1.tiny",
                                       KeyName="mykey", SecurityGroups=["web"],
                                       UserData=USER_DATA)["Instances"][0]["InstanceId"]
    client.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    text = wait_for(lambda: (lambda t: "NOVA-GUEST ready" in t and t)(console(client, instance_id)), timeout=120,
                    interval=1, what="the guest's ready line")
    shown = client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    seen = markers(text)
    assert seen["instance-id"] == instance_id, text
    assert seen["local-ipv4"] == shown["PrivateIpAddress"], text
    assert f"NOVA-GUEST user-data-output: hello from user-data on {seen['uname-n']}" in text, text

    assert client.allocate_address()["PublicIp"] == FLOATING_IP
    client.associate_address(InstanceId=instance_id, PublicIp=FLOATING_IP)
    assert ssh(topo, outside, str(key), FLOATING_IP, "hostname") == seen["uname-n"]
    assert port(topo, outside, FLOATING_IP, 7) == "closed"
    # RebootInstances, StopInstances and StartInstances on a real guest: tests/integration/virt/test_real_guest.py
    # (the compute side) and test_real_guest_openstack.py (through the daemons); on EC2: tests/functional/test_ec2.py

    client.revoke_security_group_ingress(GroupName="web", IpProtocol="tcp", FromPort=22, ToPort=22,
                                         CidrIp="0.0.0.0/0")
    wait_for(lambda: port(topo, outside, FLOATING_IP, 22) == "closed", timeout=30, what="port 22 closed")

    client.terminate_instances(InstanceIds=[instance_id])
    wait_for(lambda: not client.describe_instances()["Reservations"], timeout=60, what="instance gone")
    domains = topo.exec(real_cloud["net"], sys.executable, "-c",
                        "import libvirt; print([d.name() for d in libvirt.open('qemu:///system').listAllDomains()])")
    assert domains.strip() == "[]"
