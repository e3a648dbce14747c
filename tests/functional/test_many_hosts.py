"""Many hosts: a cloud laid out as it is deployed, driven by boto3 from outside its hosts.

Hosts (tests/fixtures/topology.py: network namespaces on a management
network), each running its daemons from its own flagfile, with a
``--logdir`` of its own:

- ``api``: nova-api (EC2 on its management address) and nova-scheduler
  (``SimpleScheduler``);
- ``net``: nova-network (FlatDHCP): br100 with the gateway, dnsmasq, NAT;
- ``cmp1``, ``cmp2``: nova-compute with the fake virt driver (no libvirtd:
  cheap), each bridging its own ``flat0`` into br100;
- ``vol``: nova-volume (FileDriver) and a tgtd of its own;
- RabbitMQ and PostgreSQL: a private node and cluster on the management
  network's gateway, with their own broker user and database role.

``flat0`` of ``net``, ``cmp1`` and ``cmp2`` are on one more L2 segment, the
flat network.  The test process, in the root namespace, is the outside:
boto3 reaches nova-api over the management network, and ``nova-manage``
runs there.  The user is a cloud admin, so DescribeInstances shows each
instance's host in its key name, as the first Nova did.
"""

from __future__ import annotations

import contextlib
import glob
import io
import ipaddress
import os
import re
import tempfile

import boto3
import botocore.config
import pytest

from nova import exception
from tests.fixtures.daemons import ROOT, listening, wait_for
from tests.integration.network.netns import require_root_tools

FIXED_RANGE = "10.83.0.0/24"
EC2_PORT = 8773
NO_RETRY = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=60)
COMPUTES = ("cmp1", "cmp2")

pytestmark = pytest.mark.timeout(300)


def _host_flags(topo, tgtd_port: int) -> dict[str, list[str]]:
    """Each host's own flags (its flagfile also holds ``topo.flags()``)."""
    api = topo.hosts["api"]
    common = ["--network_manager=nova.network.manager.FlatDHCPManager", f"--fixed_range={FIXED_RANGE}",
              "--flat_interface=flat0", "--root_helper=", "--nofake_network", f"--ec2_port={EC2_PORT}",
              "--metadata_port=0", f"--ec2_dmz_host={api.address}"]
    flags = {name: [*common, f"--logdir={os.path.join(host.state_path, 'log')}"] for name, host in topo.hosts.items()}
    flags["api"] += ["--scheduler_driver=nova.scheduler.simple.SimpleScheduler", f"--ec2_host={api.address}",
                     "--osapi_port=0", "--identity_port=0", "--image_api_port=0", "--network_api_port=0",
                     f"--api_paste_config={os.path.join(ROOT, 'etc', 'nova', 'api-paste.ini')}"]
    for name in COMPUTES:
        flags[name] += ["--connection_type=fake"]
    flags["vol"] += ["--volume_driver=nova.volume.driver.FileDriver",
                     f"--iscsi_ip_address={topo.hosts['vol'].address}", f"--tgtadm_control_port={tgtd_port}"]
    return flags


@pytest.fixture(scope="module")
def cloud():
    """The hosts with every daemon up, a network, an admin user ``ops`` (boto3 client) and a public image."""
    from tests.fixtures.topology import Topology
    from tests.integration.volume.tgtd import Tgtd

    require_root_tools("dnsmasq", "tgtd", "iptables")
    base = tempfile.mkdtemp(prefix="nova-many-hosts-")
    os.chmod(base, 0o755)  # dnsmasq does not run as root
    topo = Topology(base)
    hosts, tgtd = {}, []

    def build() -> None:  # while the broker's Erlang VM boots
        hosts.update((name, topo.add_host(name)) for name in ("api", "net", *COMPUTES, "vol"))
        flat = topo.add_switch("flat")
        for name in ("net", *COMPUTES):
            topo.plug(hosts[name], "flat0", flat)
        vol = hosts["vol"]
        tgtd.append(Tgtd(vol.ns, vol.address, os.path.join(vol.state_path, "tgtd.log")))
        topo.on_cleanup(tgtd[0].stop)
        tgtd[0].start()

    try:
        topo.start_services(while_booting=build)
        for name, lines in _host_flags(topo, tgtd[0].control_port).items():
            hosts[name].write_flagfile(*lines)
        hosts["net"].start("nova-network")
        hosts["api"].start("nova-scheduler")
        hosts["api"].start("nova-api")
        for name in COMPUTES:
            hosts[name].start("nova-compute")
        hosts["vol"].start("nova-volume")
        image = _seed(topo)  # meanwhile, in this process: the network, the user, the image
        wanted = {("net", "nova-network"), ("api", "nova-scheduler"), ("vol", "nova-volume"),
                  *((name, "nova-compute") for name in COMPUTES)}
        wait_for(lambda: wanted <= _up(topo), timeout=90, what="services up")
        wait_for(lambda: listening(EC2_PORT, hosts["api"].address), timeout=30, what="nova-api listening")
        client = boto3.client("ec2", endpoint_url=f"http://{hosts['api'].address}:{EC2_PORT}/services/Cloud",
                              region_name="nova", aws_access_key_id="AK-ops-ops",
                              aws_secret_access_key="SK-ops-ops", config=NO_RETRY)
        client.create_key_pair(KeyName="ops-key")
        yield {"topo": topo, "client": client, "image": image, **hosts}
    finally:
        topo.cleanup()


def _seed(topo) -> str:
    """What ``nova-manage network create`` and ``user admin``/``project create`` would do, and a public
    image, by this process on the cloud's database (a nova-manage process costs a second each)."""
    from nova import context, flags
    from nova.auth.manager import AuthManager
    from nova.cmd.manage import NetworkCommands
    from tests.fixtures.database import use_database
    from tests.unit.compute.fakes import make_image

    if not flags.FLAGS.is_parsed():  # a module fixture runs before the first test's clean_flags
        flags.reset_for_tests()
    use_database(topo.sql_url)
    for line in topo.flags() + _host_flags(topo, 0)["net"]:
        name, _, value = line[2:].partition("=")
        if name in ("images_path", "network_manager", "flat_interface"):
            setattr(flags.FLAGS, name, value)
    with contextlib.redirect_stdout(io.StringIO()):
        NetworkCommands().create(FIXED_RANGE, "1", "256")
    auth = AuthManager()
    auth.create_user("ops", "AK-ops", "SK-ops", admin=True)
    auth.create_project("ops", "ops")
    auth.create_ec2_credentials("ops", "ops", "AK-ops-ops", "SK-ops-ops")
    return "ami-%08x" % make_image(context.RequestContext("ops", "ops"), is_public=True)["id"]


def _flag(lines: list[str], name: str) -> str:
    return [line.partition("=")[2] for line in lines if line.startswith(f"--{name}=")][-1]


def _services(topo) -> dict[tuple[str, str], bool]:
    """Whether each (host, binary) is up: what ``nova-manage service list`` shows, read by this process."""
    from nova import context, flags
    from nova.db import api as db
    from nova.servicegroup import service_is_up
    from tests.fixtures.database import use_database

    if flags.FLAGS.sql_connection != topo.sql_url:  # each test starts with default flags
        use_database(topo.sql_url)
        flags.FLAGS.service_down_time = int(_flag(topo.flags(), "service_down_time"))
    return {(row["host"], row["binary"]): service_is_up(row) for row in db.service_get_all(context.get_admin_context())}


def _service_command(topo, action: str, *args: str) -> None:
    """``nova-manage service ACTION ARGS...`` as the same command class in this process."""
    from nova.cmd.manage import ServiceCommands

    _services(topo)  # this process on the cloud's database
    with contextlib.redirect_stdout(io.StringIO()):
        getattr(ServiceCommands(), action)(*args)


def _up(topo) -> set[tuple[str, str]]:
    return {key for key, up in _services(topo).items() if up}


# -- the client's view ----------------------------------------------------------------------------------


def _instances(client, ids=None) -> dict[str, dict]:
    found = client.describe_instances(**({"InstanceIds": ids} if ids else {}))["Reservations"]
    return {i["InstanceId"]: i for r in found for i in r["Instances"]}


def _run(client, image: str, count: int) -> tuple[str, list[str]]:
    """RunInstances of ``count`` instances, running; returns the request id and the instance ids."""
    answer = client.run_instances(ImageId=image, MinCount=count, MaxCount=count, InstanceType="m1.tiny",
                                  KeyName="ops-key")
    ids = [i["InstanceId"] for i in answer["Instances"]]
    states = lambda: {i["State"]["Name"] for i in _instances(client, ids).values()}  # noqa: E731
    wait_for(lambda: states() == {"running"} or "error" in states() or "terminated" in states(),
             timeout=60, interval=0.5, what=f"{count} instance(s) running")
    assert states() == {"running"}, _instances(client, ids)
    return answer["ResponseMetadata"]["RequestId"], ids


def _host(instance: dict) -> str:
    """The host an admin sees in the key name: ``ops-key (ops, cmp1)``."""
    return re.fullmatch(r"ops-key \(ops, (\S+)\)", instance["KeyName"]).group(1)


def _hosts(client, ids) -> list[str]:
    return sorted(_host(i) for i in _instances(client, ids).values())


def _terminate(client, ids) -> None:
    client.terminate_instances(InstanceIds=ids)
    wait_for(lambda: not set(ids) & set(_instances(client)), timeout=60, interval=0.5, what="instances gone")


@pytest.fixture
def launched(cloud):
    """Instance ids a test launched, all terminated afterwards (the scheduler weighs live instances)."""
    ids: list[str] = []
    yield ids
    left = [i for i in ids if i in _instances(cloud["client"])]
    if left:
        _terminate(cloud["client"], left)


def _dhcp_hosts(net) -> list[str]:
    """The lines of the network host's dnsmasq hosts file (``mac,name.domain,ip``)."""
    with open(os.path.join(net.state_path, "networks", "nova-br100.conf")) as handle:
        return handle.read().split()


# -- the tests ------------------------------------------------------------------------------------------


def test_instances_spread_over_both_computes_with_addresses_from_the_network_host(cloud, launched):
    client = cloud["client"]
    request_id, ids = _run(client, cloud["image"], 4)
    launched += ids
    instances = _instances(client, ids)
    assert sorted(_host(i) for i in instances.values()) == ["cmp1", "cmp1", "cmp2", "cmp2"]
    # Each address is one the network host allocated and told its dnsmasq about.
    hosts_file = _dhcp_hosts(cloud["net"])
    for instance in instances.values():
        address = instance["PrivateIpAddress"]
        assert ipaddress.ip_address(address) in ipaddress.ip_network(FIXED_RANGE)
        assert any(line.endswith("," + address) for line in hosts_file), (address, hosts_file)
    assert len({i["PrivateIpAddress"] for i in instances.values()}) == 4
    # The network host serves them: its bridge holds the gateway, its dnsmasq runs there, and the
    # compute hosts only bridge their flat interface (no address, no dnsmasq).
    assert "10.83.0.1/24" in cloud["net"].exec("ip", "-4", "addr", "show", "br100")
    with open(os.path.join(cloud["net"].state_path, "networks", "nova-br100.pid")) as handle:
        dnsmasq = handle.read().strip()
    assert cloud["net"].ns in cloud["net"].exec("ip", "netns", "identify", dnsmasq)
    for name in COMPUTES:
        assert "master br100" in cloud[name].exec("ip", "link", "show", "flat0")
        assert "inet " not in cloud[name].exec("ip", "-4", "addr", "show", "br100")
    # The request's whole path, by its id, in the log files of four hosts.
    found = _log_files_with(cloud, request_id, ("api", "net", *COMPUTES))
    assert {"api/nova-api.log", "api/nova-scheduler.log", "net/nova-network.log", "cmp1/nova-compute.log",
            "cmp2/nova-compute.log"} <= set(found), sorted(found)
    for name in COMPUTES:
        assert sum(f"is active on {name}" in line for line in found[f"{name}/nova-compute.log"]) == 2
    assert sum("Allocated" in line for line in found["net/nova-network.log"]) == 4
    placed = [line for line in found["api/nova-scheduler.log"] if re.search(r"Instance \d+ goes to cmp", line)]
    assert len(placed) == 4, placed


def _log_files_with(cloud, request_id: str, hosts) -> dict[str, list[str]]:
    """``host/file`` -> the lines of the hosts' ``--logdir`` files that carry ``request_id`` (a grep)."""
    assert re.fullmatch(r"req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", request_id)
    found = {}
    for name in hosts:
        for path in glob.glob(os.path.join(cloud[name].state_path, "log", "*.log")):
            with open(path) as handle:
                lines = [line for line in handle if request_id in line]
            if lines:
                found[f"{name}/{os.path.basename(path)}"] = lines
    return found


def test_a_volume_is_created_on_the_volume_host(cloud):
    client = cloud["client"]
    answer = client.create_volume(Size=1, AvailabilityZone="nova")
    volume_id = answer["VolumeId"]
    state = lambda: client.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["State"]  # noqa: E731
    wait_for(lambda: state() in ("available", "error"), timeout=60, what=f"{volume_id} available")
    assert state() == "available"
    number = int(volume_id.split("-")[1], 16)
    assert os.path.exists(os.path.join(cloud["vol"].state_path, "volumes", "volume-%08x" % number))
    found = _log_files_with(cloud, answer["ResponseMetadata"]["RequestId"], ("api", "vol"))
    assert {"api/nova-api.log", "api/nova-scheduler.log", "vol/nova-volume.log"} <= set(found), sorted(found)
    client.delete_volume(VolumeId=volume_id)


def test_a_disabled_compute_host_gets_no_new_instances(cloud, launched):
    topo, client = cloud["topo"], cloud["client"]
    assert "nova-compute on cmp1 disabled" in topo.manage("service", "disable", "cmp1", "nova-compute")
    try:
        _, ids = _run(client, cloud["image"], 2)  # both hosts empty: one each, were cmp1 enabled
        launched += ids
        assert _hosts(client, ids) == ["cmp2", "cmp2"]
    finally:  # nova-manage service enable, in this process (a nova-manage process costs seconds)
        _service_command(topo, "enable", "cmp1", "nova-compute")
    _, more = _run(client, cloud["image"], 1)
    launched += more
    assert _hosts(client, more) == ["cmp1"]  # enabled again, and the least loaded


def test_a_compute_host_removed_and_added_back_resumes(cloud, launched):
    topo, client, cmp2 = cloud["topo"], cloud["client"], cloud["cmp2"]
    _, ids = _run(client, cloud["image"], 1)  # both hosts empty: the first by name
    launched += ids
    assert _hosts(client, ids) == ["cmp1"]
    assert cmp2.daemon("nova-compute").stop() == 0
    with pytest.raises(exception.ServiceInUse, match="it is up; stop it first"):  # in this process
        _service_command(topo, "delete", "cmp1", "nova-compute")
    wait_for(lambda: ("cmp2", "nova-compute") not in _up(topo), timeout=30, what="cmp2 seen down")
    assert "nova-compute on cmp2 deleted" in topo.manage("service", "delete", "cmp2", "nova-compute")
    assert ("cmp2", "nova-compute") not in _services(topo)
    cmp2.start("nova-compute")
    wait_for(lambda: ("cmp2", "nova-compute") in _up(topo), timeout=60, what="cmp2 registered again")
    _, back = _run(client, cloud["image"], 1)
    launched += back
    assert _hosts(client, back) == ["cmp2"]  # back, and the least loaded
