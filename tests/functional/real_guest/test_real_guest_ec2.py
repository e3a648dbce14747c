"""Real guests through the EC2 API, driven with boto3, on the cloud of tests/functional/conftest.py:
nova-network on a network host, nova-compute (libvirt, TCG), nova-api, nova-scheduler and
nova-objectstore on a compute host, PostgreSQL and RabbitMQ reached over the management network.

One test walks an instance's life as a user sees it: it boots with its key, user data and metadata
(served through the network host's DNAT), gets its lease, answers SSH through a floating IP from
outside, reaches a second instance only as their groups allow, reboots, keeps a file across
stop/start, and its security group opens and closes its ports; the second, launched with
InstanceInitiatedShutdownBehavior=terminate, powers itself off and ends terminated; terminating leaves
no domain, disk, address or firewall rule behind.  The compute side of snapshot, pause, suspend and rescue is
tests/integration/virt/test_real_guest.py's.
"""

from __future__ import annotations

import base64
import os

import pytest

from nova import context
from nova.db import api as db
from tests.fixtures.daemons import wait_for
from tests.functional.real_guest.conftest import FLOATING_RANGE, domains
from tests.integration.virt.test_real_guest import USER_DATA, echo, markers, port, ssh

BOOTS = {"Delay": 1, "MaxAttempts": 300}  # two guests at once on a busy 2-core machine: minutes


def console(client, instance_id: str) -> str:
    output = client.get_console_output(InstanceId=instance_id).get("Output") or ""
    try:
        return base64.b64decode(output, validate=True).decode(errors="replace")
    except ValueError:
        return output


def ready(client, instance_id: str, boots: int = 1) -> str:
    """The console once the guest has printed its ready line ``boots`` times."""
    return wait_for(lambda: (lambda t: t.count("NOVA-GUEST ready") >= boots and t)(console(client, instance_id)),
                    timeout=240, interval=1, what=f"{instance_id}: boot {boots}")


def _rule(client, action: str, group: str, port_number: int, source: str | None = None) -> None:
    peers = {"UserIdGroupPairs": [{"GroupName": source}]} if source else {"IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    getattr(client, f"{action}_security_group_ingress")(GroupName=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": port_number, "ToPort": port_number, **peers}])


def _instance_row(instance_id: str):
    return db.instance_get(context.get_admin_context(), int(instance_id[2:], 16))


@pytest.mark.timeout(900)
def test_an_instance_lives_as_a_user_sees_it(tenant, tmp_path):
    client, topo, outside, net, cmp = (tenant[k] for k in ("client", "topo", "outside", "net", "cmp"))
    key = tmp_path / "mykey.pem"
    key.write_text(client.create_key_pair(KeyName="mykey")["KeyMaterial"])
    key.chmod(0o600)
    key = str(key)
    for name in ("web", "db"):
        client.create_security_group(GroupName=name, Description=name)
        _rule(client, "authorize", name, 22)
    _rule(client, "authorize", "db", 7, source="web")
    ids = {}
    for name, group, extra in (("a", "web", {"UserData": USER_DATA}),
                               ("b", "db", {"InstanceInitiatedShutdownBehavior": "terminate"})):
        ids[name] = client.run_instances(ImageId=tenant["ami"], MinCount=1, MaxCount=1, InstanceType="m1.tiny",
                                         KeyName="mykey", SecurityGroups=[group],
                                         **extra)["Instances"][0]["InstanceId"]
    client.get_waiter("instance_running").wait(InstanceIds=list(ids.values()), WaiterConfig=BOOTS)
    text = ready(client, ids["a"])
    shown = {i["InstanceId"]: i for r in client.describe_instances()["Reservations"] for i in r["Instances"]}
    fixed = {name: shown[ids[name]]["PrivateIpAddress"] for name in ids}
    seen = markers(text)
    assert seen["instance-id"] == ids["a"], text
    assert seen["local-ipv4"] == fixed["a"], text
    assert f"NOVA-GUEST user-data-output: hello from user-data on {seen['uname-n']}" in text, text
    admin = context.get_admin_context()
    wait_for(lambda: db.fixed_ip_get_by_address(admin, fixed["a"])["leased"], timeout=20, what="lease leased")

    # SSH from outside with the CreateKeyPair key, through a floating IP of the network host
    public = client.allocate_address()["PublicIp"]
    assert public.startswith(FLOATING_RANGE.rsplit(".", 1)[0])
    client.associate_address(InstanceId=ids["a"], PublicIp=public)
    assert ssh(topo, outside, key, public, "hostname") == seen["uname-n"]
    ssh(topo, outside, key, public, "echo kept > /root/kept.txt && sync")
    assert port(topo, outside, public, 7) == "closed"

    # a reaches b's echo port (db lets web in), b does not reach a's (web lets only SSH in)
    ready(client, ids["b"])
    assert ssh(topo, outside, key, public, f"echo ping | timeout 4 nc {fixed['b']} 7; true") == "ping"
    assert ssh(topo, net.ns, key, fixed["b"], f"echo ping | timeout 4 nc {fixed['a']} 7; true") == ""

    # a reboot is a second boot; stop/start a third, and the root disk keeps the file
    client.reboot_instances(InstanceIds=[ids["a"]])
    ready(client, ids["a"], boots=2)
    client.stop_instances(InstanceIds=[ids["a"]])
    client.get_waiter("instance_stopped").wait(InstanceIds=[ids["a"]], WaiterConfig=BOOTS)
    client.start_instances(InstanceIds=[ids["a"]])
    client.get_waiter("instance_running").wait(InstanceIds=[ids["a"]], WaiterConfig=BOOTS)
    ready(client, ids["a"], boots=3)
    assert ssh(topo, outside, key, public, "cat /root/kept.txt", timeout=60) == "kept"

    # the group opens the echo port, then closes SSH and the echo port
    _rule(client, "authorize", "web", 7)
    wait_for(lambda: port(topo, outside, public, 7) == "open", timeout=30, what="port 7 open")
    assert echo(topo, outside, public) == "ping"
    _rule(client, "revoke", "web", 22)
    wait_for(lambda: port(topo, outside, public, 22) == "closed", timeout=30, what="port 22 closed")
    _rule(client, "revoke", "web", 7)
    wait_for(lambda: port(topo, outside, public, 7) == "closed", timeout=30, what="port 7 closed")

    # b powers itself off (the guest's init is a script: poweroff -f, as on its ACPI button); its shutdown
    # behaviour is terminate, so it ends terminated; a is terminated through the API.  Then no domain,
    # disk, lease, address or firewall rule of either is left.
    rows = {name: _instance_row(ids[name]) for name in ids}
    ssh(topo, net.ns, key, fixed["b"], "sync; (sleep 1; poweroff -f) >/dev/null 2>&1 &")
    client.get_waiter("instance_terminated").wait(InstanceIds=[ids["b"]], WaiterConfig={"Delay": 1, "MaxAttempts": 90})
    assert rows["b"]["name"] not in domains()
    client.terminate_instances(InstanceIds=[ids["a"]])
    wait_for(lambda: not client.describe_instances()["Reservations"], timeout=60, what="instances gone")
    assert not {row["name"] for row in rows.values()} & set(domains())
    for name, row in rows.items():
        assert not os.path.exists(os.path.join(cmp.state_path, "instances", row["name"])), name
        # dnsmasq's lease goes (dhcp_release), and its nova-dhcpbridge "del" frees the address
        wait_for(lambda: (lambda ip: ip["instance_id"] is None and not ip["leased"])(
            db.fixed_ip_get_by_address(admin, fixed[name])), timeout=90, what=f"{fixed[name]} released")
        assert not any(f"inst-{row['id']}" in line for line in cmp.exec("iptables-save").splitlines()), name
    assert client.describe_addresses()["Addresses"][0].get("InstanceId") in (None, "")
    assert not any(public in line for line in net.exec("iptables-save").splitlines())
