"""EC2 Elastic IPs through boto3 against the in-process API, with a
nova-network manager (FlatManager, --fake_network) serving RPC in process."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from nova import context, flags, quota, rpc
from nova.db import api as db
from nova.network import linux_net, manager
from tests.unit.api.conftest import error_of

FLAGS = flags.FLAGS


@pytest.fixture
def network(ec2_env):
    FLAGS.fake_network = True
    FLAGS.public_interface = "pub0"
    linux_net.reset()
    admin = context.get_admin_context()
    mgr = manager.FlatManager(host="net-host")
    mgr.create_networks(admin, "10.60.0.0/28", 1, 16)
    db.floating_ip_bulk_create(admin, "net-host", ["198.51.100.10", "198.51.100.11", "198.51.100.12"])
    server = rpc.Server(FLAGS.network_topic, "net-host", rpc.Dispatcher(mgr))
    server.start(timeout=10)
    yield mgr
    server.stop(timeout=1)
    rpc.cleanup()
    linux_net.reset()


def _instance(mgr, project: str) -> tuple[str, str]:
    admin = context.get_admin_context()
    instance = db.instance_create(admin, {"project_id": project, "user_id": "alice"})
    [nic] = mgr.allocate_for_instance(admin, instance["id"], "compute-1")
    return "i-%08x" % instance["id"], nic["address"]


def _bare(addresses):
    return [{k: v for k, v in a.items() if k != "Tags" or v} for a in addresses]


def test_allocate_associate_describe_disassociate_release(ec2_env, network):
    alice = ec2_env.client()
    instance_id, fixed = _instance(network, "proj-a")
    allocated = alice.allocate_address()
    public_ip, allocation_id = allocated["PublicIp"], allocated["AllocationId"]
    assert public_ip == "198.51.100.10" and allocation_id.startswith("eipalloc-")
    assert _bare(alice.describe_addresses()["Addresses"]) == [
        {"PublicIp": public_ip, "Domain": "standard", "AllocationId": allocation_id}]

    alice.associate_address(PublicIp=public_ip, InstanceId=instance_id)
    [address] = alice.describe_addresses(PublicIps=[public_ip])["Addresses"]
    assert (address["InstanceId"], address["PrivateIpAddress"]) == (instance_id, fixed)
    assert f"ip addr add {public_ip}/32 dev pub0" in linux_net.FAKE_COMMANDS
    nat = linux_net.iptables_manager().modify_table("nat", "")
    assert f"-A nova-network-PREROUTING -d {public_ip}/32 -j DNAT --to-destination {fixed}" in nat
    assert f"-A nova-network-floating-snat -s {fixed}/32 -j SNAT --to-source {public_ip}" in nat
    assert alice.describe_addresses(Filters=[{"Name": "instance-id", "Values": [instance_id]}])["Addresses"]

    alice.disassociate_address(PublicIp=public_ip)
    assert "InstanceId" not in alice.describe_addresses()["Addresses"][0]
    assert public_ip not in linux_net.iptables_manager().modify_table("nat", "")
    alice.release_address(PublicIp=public_ip)
    assert alice.describe_addresses()["Addresses"] == []


def test_tenants_cannot_see_or_touch_each_others_addresses(ec2_env, network):
    alice, bob = ec2_env.client(), ec2_env.client("AK-BOB", "SK-BOB")
    instance_b, _ = _instance(network, "proj-b")
    public_ip = alice.allocate_address()["PublicIp"]
    assert bob.describe_addresses()["Addresses"] == []
    for call in (lambda: bob.describe_addresses(PublicIps=[public_ip]),
                 lambda: bob.release_address(PublicIp=public_ip),
                 lambda: bob.associate_address(PublicIp=public_ip, InstanceId=instance_b)):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo) == ("InvalidAddress.NotFound", 400)
    with pytest.raises(ClientError) as excinfo:
        alice.associate_address(PublicIp=public_ip, InstanceId=instance_b)
    assert error_of(excinfo)[0] == "InvalidInstanceID.NotFound"
    assert [a["PublicIp"] for a in alice.describe_addresses()["Addresses"]] == [public_ip]


def test_roles_quota_and_bad_input(ec2_env, network):
    carol = ec2_env.client("AK-CAROL", "SK-CAROL", project="proj-a")
    with pytest.raises(ClientError) as excinfo:
        carol.allocate_address()
    assert error_of(excinfo) == ("UnauthorizedOperation", 403), "a member without netadmin or projectmanager"
    assert carol.describe_addresses()["Addresses"] == []

    alice = ec2_env.client()
    quota.set_project_quota(context.get_admin_context(), "proj-a", "floating_ips", 1)
    alice.allocate_address()
    with pytest.raises(ClientError) as excinfo:
        alice.allocate_address()
    assert error_of(excinfo) == ("AddressLimitExceeded", 400)

    with pytest.raises(ClientError) as excinfo:
        alice.release_address(PublicIp="not-an-ip")
    assert error_of(excinfo) == ("InvalidParameterValue", 400)
    with pytest.raises(ClientError) as excinfo:
        alice.release_address(PublicIp="203.0.113.99")
    assert error_of(excinfo) == ("InvalidAddress.NotFound", 400)


def test_addresses_are_tagged_by_allocation_id(ec2_env, network):
    alice, bob = ec2_env.client(), ec2_env.client("AK-BOB", "SK-BOB")
    web = alice.allocate_address(TagSpecifications=[{"ResourceType": "elastic-ip",
                                                     "Tags": [{"Key": "role", "Value": "web"}]}])
    other = alice.allocate_address()
    alice.create_tags(Resources=[other["AllocationId"]], Tags=[{"Key": "role", "Value": "db"}, {"Key": "x"}])
    described = {a["PublicIp"]: a for a in alice.describe_addresses()["Addresses"]}
    assert described[web["PublicIp"]]["Tags"] == [{"Key": "role", "Value": "web"}]
    assert sorted(t["Key"] for t in described[other["PublicIp"]]["Tags"]) == ["role", "x"]
    for filters, expected in (([{"Name": "tag:role", "Values": ["w*"]}], [web]),
                              ([{"Name": "tag-key", "Values": ["x"]}], [other]),
                              ([{"Name": "tag-value", "Values": ["db", "web"]}], [web, other]),
                              ([{"Name": "allocation-id", "Values": [web["AllocationId"]]}], [web])):
        shown = alice.describe_addresses(Filters=filters)["Addresses"]
        assert sorted(a["PublicIp"] for a in shown) == sorted(a["PublicIp"] for a in expected), filters
    assert [a["PublicIp"] for a in alice.describe_addresses(AllocationIds=[other["AllocationId"]])[
        "Addresses"]] == [other["PublicIp"]]
    tags = alice.describe_tags(Filters=[{"Name": "resource-type", "Values": ["elastic-ip"]}])["Tags"]
    assert {(t["ResourceId"], t["Key"]) for t in tags} == {
        (web["AllocationId"], "role"), (other["AllocationId"], "role"), (other["AllocationId"], "x")}
    for call in (lambda: bob.create_tags(Resources=[web["AllocationId"]], Tags=[{"Key": "mine"}]),
                 lambda: bob.describe_addresses(AllocationIds=[web["AllocationId"]])):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_of(excinfo) == ("InvalidAllocationID.NotFound", 400), excinfo.value
    with pytest.raises(ClientError) as excinfo:
        alice.describe_addresses(AllocationIds=["eipalloc-zz"])
    assert error_of(excinfo) == ("InvalidAllocationID.Malformed", 400)
    alice.release_address(PublicIp=web["PublicIp"])
    assert {t["ResourceId"] for t in alice.describe_tags()["Tags"]} == {other["AllocationId"]}
