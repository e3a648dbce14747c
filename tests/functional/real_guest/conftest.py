"""The real-guest cloud of tests/functional/test_real_guest_*.py, started once for them all.

Hosts (tests/fixtures/topology.py), each running its daemons from its own flagfile:

- ``net``: nova-network (FlatDHCP): br100 with the gateway on ``flat0``, dnsmasq, NAT, floating IPs on
  ``pub0``, and the metadata DNAT to nova-api's management address (``--ec2_dmz_host``);
- ``cmp``: nova-compute with libvirtd and virtlogd (``--libvirt_type=qemu``), bridging its own ``flat0``
  into br100 (no ``--netns``), and nova-api, nova-scheduler, nova-objectstore; its route to the fixed
  range goes through ``net``'s management address (metadata replies);
- ``vol``: nova-volume (FileDriver) and a tgtd of its own serving iSCSI on its management address;
- ``outside``: a namespace on ``net``'s public side, where SSH to floating IPs comes from;
- RabbitMQ and PostgreSQL: a private node and cluster in the root namespace on the management network.

A veth joins ``flat0`` of ``net`` and ``flat0`` of ``cmp``: br100 on both ends, as the first Nova's
FlatDHCP multi-host did.  ``tenant`` gives each test its own user and project (boto3 client), so the
tests share the cloud without seeing each other's instances, groups or keys.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import socket
import tempfile
import uuid

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError

from tests.fixtures.daemons import ROOT, wait_for
from tests.fixtures.guest import require_guest
from tests.fixtures.libvirtd import URI, Libvirtd

NO_RETRY = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=60)
FIXED_RANGE = "10.82.0.0/24"
PUBLIC_IP, OUTSIDE_IP = "203.0.113.1", "203.0.113.2"
FLOATING_RANGE = "203.0.113.100/30"
PORTS = {"ec2_port": 8773, "metadata_port": 8775, "osapi_port": 8774, "identity_port": 5000,
         "image_api_port": 9292, "s3_port": 3333}


def _listening(address: str, number: int) -> bool:
    try:
        socket.create_connection((address, number), timeout=1).close()
        return True
    except OSError:
        return False


def _host_flags(topo, tgtd) -> dict[str, list[str]]:
    """Each host's own flags (its flagfile also holds ``topo.flags()``)."""
    net, cmp, vol = topo.hosts["net"], topo.hosts["cmp"], topo.hosts["vol"]
    network = ["--network_manager=nova.network.manager.FlatDHCPManager", f"--fixed_range={FIXED_RANGE}",
               "--flat_interface=flat0", "--root_helper=", "--nofake_network"]
    return {
        "net": [*network, "--public_interface=pub0", f"--routing_source_ip={PUBLIC_IP}",
                f"--ec2_dmz_host={cmp.address}", f"--metadata_port={PORTS['metadata_port']}"],
        "cmp": [*network, *[f"--{name}={number}" for name, number in PORTS.items()], "--network_api_port=0",
                f"--ec2_dmz_host={cmp.address}", "--connection_type=libvirt", "--libvirt_type=qemu",
                f"--libvirt_uri={URI}", "--libvirt_kernel_cmdline=console=ttyS0 quiet",
                "--libvirt_shutdown_timeout=20",
                "--firewall_driver=nova.virt.iptables_firewall.IptablesFirewallDriver",
                f"--api_paste_config={os.path.join(ROOT, 'etc', 'nova', 'api-paste.ini')}"],
        "vol": ["--volume_driver=nova.volume.driver.FileDriver", f"--iscsi_ip_address={vol.address}",
                f"--tgtadm_control_port={tgtd.control_port if tgtd else 0}"],
    }


@pytest.fixture(scope="package")
def real_cloud():
    """The topology with every daemon up and the guest image registered (``ami``)."""
    from tests.fixtures.topology import Topology
    from tests.integration.volume.tgtd import Tgtd

    image = require_guest()
    base = tempfile.mkdtemp(prefix="nova-real-cloud-")
    os.chmod(base, 0o755)  # dnsmasq and QEMU do not run as root
    topo = Topology(base)
    try:
        net, cmp, vol = topo.add_host("net"), topo.add_host("cmp"), topo.add_host("vol")
        outside = topo.add_namespace("o")
        topo.link(net, "flat0", cmp, "flat0")
        topo.link(net, "pub0", outside, "ext0")
        topo.address(net.ns, "pub0", f"{PUBLIC_IP}/24")
        topo.address(outside, "ext0", f"{OUTSIDE_IP}/24")
        cmp.route(FIXED_RANGE, net.address)
        libvirtd = Libvirtd(cmp.ns, cmp.state_path)
        topo.on_cleanup(libvirtd.stop)
        topo.start_services(while_booting=libvirtd.start)
        tgtd = Tgtd(vol.ns, vol.address, os.path.join(vol.state_path, "tgtd.log"))
        tgtd.start()
        topo.on_cleanup(lambda: (Libvirtd.remove_domains(), tgtd.stop()))  # no guest uses a target then
        _skip_foreign_instance_names(topo.sql_url)
        for name, lines in _host_flags(topo, tgtd).items():
            topo.hosts[name].write_flagfile(*lines)
        net.start("nova-network")
        for binary in ("nova-scheduler", "nova-compute", "nova-api", "nova-objectstore"):
            cmp.start(binary)
        vol.start("nova-volume")
        # the daemons start meanwhile; what nova-manage would do, in this process (a nova-manage process
        # costs seconds): the network, the floating IPs, the images' owner and the guest's images
        aki, ari, ami = _seed(topo, image)
        wanted = {("net", "nova-network"), ("cmp", "nova-compute"), ("cmp", "nova-scheduler"), ("vol", "nova-volume")}
        wait_for(lambda: wanted <= _up(), timeout=90, what="services up")
        for port in ("ec2_port", "osapi_port", "identity_port", "s3_port"):
            wait_for(lambda: _listening(cmp.address, PORTS[port]), timeout=30, what=f"nova-api on --{port}")
        yield {"topo": topo, "net": net, "cmp": cmp, "vol": vol, "outside": outside, "ami": ami,
               "aki": aki, "ari": ari, "libvirtd": libvirtd, "tgtd": tgtd}
    finally:
        topo.cleanup()


def _seed(topo, image: dict[str, str]) -> tuple[str, str, str]:
    """``nova-manage network create``, ``floating create`` and ``image *_register`` of the guest, as the
    same command classes in this process; returns the aki, ari and ami ids."""
    from nova import flags
    from nova.cmd.manage import FloatingIpCommands, NetworkCommands
    from nova.image.manage import ImageCommands

    _create_tenant(topo.sql_url, "admin")  # the images' owner (and use_database)
    for line in topo.flags() + _host_flags(topo, None)["net"]:
        name, _, value = line[2:].partition("=")
        if name in ("images_path", "network_manager", "flat_interface"):
            setattr(flags.FLAGS, name, value)
    quiet = contextlib.redirect_stdout(io.StringIO())
    with quiet:
        NetworkCommands().create(FIXED_RANGE, "1", "256")
        FloatingIpCommands().create("net", FLOATING_RANGE)
    ids = []
    for call, *args in ((ImageCommands().kernel_register, image["kernel"], "admin"),
                        (ImageCommands().ramdisk_register, image["ramdisk"], "admin")):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            call(*args)
        ids.append(out.getvalue().strip())
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        ImageCommands().image_register(image["disk"], "admin", "guest", "T", "x86_64", *ids)
    return ids[0], ids[1], out.getvalue().strip()


def _skip_foreign_instance_names(sql_url: str) -> None:
    """Start instance ids above any ``instance-<hex>`` domain libvirtd already has (one a run that died
    left): nova-compute refuses a name that exists and must not touch a domain it does not own."""
    import sqlalchemy

    from nova.db.sqlalchemy import session

    numbers = [int(name[9:], 16) for name in domains() if re.fullmatch(r"instance-[0-9a-f]{8}", name)]
    if not numbers:
        return
    engine = sqlalchemy.create_engine(session.normalize_url(sql_url))
    try:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text("SELECT setval(pg_get_serial_sequence('instances', 'id'), :n)"),
                               {"n": max(numbers)})
    finally:
        engine.dispose()


def _up() -> set[tuple[str, str]]:
    """(host, binary) of the services that are up (what ``nova-manage service list`` shows as :-))."""
    from nova import context
    from nova.db import api as db
    from nova.servicegroup import service_is_up

    return {(row["host"], row["binary"]) for row in db.service_get_all(context.get_admin_context())
            if service_is_up(row)}


def _create_tenant(sql_url: str, name: str) -> None:
    """User ``name`` (own keys ``AK-name``/``SK-name``, the project's pair ``AK-name-name``/``SK-name-name``)
    in project ``name``, with netadmin, by this process."""
    from nova import flags
    from nova.auth.manager import AuthManager
    from tests.fixtures.database import use_database

    if not flags.FLAGS.is_parsed():  # the package fixture runs before any test's clean_flags
        flags.reset_for_tests()
    use_database(sql_url)
    auth = AuthManager()
    auth.create_user(name, f"AK-{name}", f"SK-{name}")
    auth.create_project(name, name)
    auth.add_role(name, "netadmin")
    auth.add_role(name, "netadmin", name)
    auth.create_ec2_credentials(name, name, f"AK-{name}-{name}", f"SK-{name}-{name}")  # the project's pair


@pytest.fixture
def tenant(real_cloud):
    """A user and project of this test's own (netadmin), its boto3 EC2 client; its instances terminated,
    addresses released and volumes deleted afterwards."""
    name = "t" + uuid.uuid4().hex[:8]
    _create_tenant(real_cloud["topo"].sql_url, name)
    address = real_cloud["cmp"].address
    client = boto3.client("ec2", endpoint_url=f"http://{address}:{PORTS['ec2_port']}/services/Cloud",
                          region_name="nova", aws_access_key_id=f"AK-{name}-{name}",
                          aws_secret_access_key=f"SK-{name}-{name}", config=NO_RETRY)
    yield {"client": client, "user": name, "project": name, "password": f"SK-{name}", **real_cloud}
    left = [i["InstanceId"] for r in client.describe_instances()["Reservations"] for i in r["Instances"]]
    if left:
        client.terminate_instances(InstanceIds=left)
        wait_for(lambda: not client.describe_instances()["Reservations"], timeout=90, what="instances gone")
    for found in client.describe_addresses()["Addresses"]:
        client.release_address(PublicIp=found["PublicIp"])
    for snapshot in client.describe_snapshots()["Snapshots"]:
        with contextlib.suppress(ClientError):  # one an image or a volume still uses
            client.delete_snapshot(SnapshotId=snapshot["SnapshotId"])
    volumes = [v["VolumeId"] for v in client.describe_volumes()["Volumes"]]
    for volume_id in volumes:
        wait_for(lambda: _deleted(client, volume_id), timeout=60, what=f"{volume_id} deleted")


def _deleted(client, volume_id: str) -> bool:
    """Ask to delete the volume (once it is no longer in use); True once it is gone."""
    try:
        found = client.describe_volumes(VolumeIds=[volume_id])["Volumes"]
    except ClientError:
        return True
    if not found or found[0]["State"] in ("deleting", "deleted"):
        return True
    if found[0]["State"] in ("available", "error"):
        client.delete_volume(VolumeId=volume_id)
    return False


def domains() -> list[str]:
    """Names of the domains libvirtd knows (its socket is reachable from any namespace)."""
    import libvirt

    conn = libvirt.open(URI)
    try:
        return [d.name() for d in conn.listAllDomains()]
    finally:
        conn.close()

