"""nova-combined: every daemon in one process, for a quick start.

It creates the schema, makes a first admin user, project and network when the
database has none, writes a flagfile and a novarc under ``--state_path``,
starts every service on SQLite and the in-memory transport (unless told
otherwise) and prints how to reach the cloud.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import subprocess
import sys
import time
from typing import Any

from nova import flags
from nova.cmd import common, started
from nova.cmd.launch import SERVICE_TOPICS

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

# "volume" is added when nova-combined can start a tgtd of its own (--combined_tgtd).
flags.DEFINE_list("combined_services", ["scheduler", "compute", "network", "objectstore", "api"],
                  "Services nova-combined runs in its process")
flags.DEFINE_boolean("combined_tgtd", True,
                     "Start a tgtd of nova-combined's own and run nova-volume with it, when running as root "
                     "with tgt installed (the volumes' iSCSI exports; killed when nova-combined stops)")
flags.DEFINE_integer("combined_tgtd_control_port", 23260,
                     "tgtadm control port of nova-combined's tgtd (1..32767)", lower_bound=1)
flags.DEFINE_string("combined_admin", "admin", "Admin user (and project) nova-combined creates in an empty database")
flags.DEFINE_string("combined_image", "quickstart-disk",
                    "Name of the small bootable raw disk nova-combined registers (public, owned by the admin "
                    "project) when no image of that name exists; empty for none")
flags.DEFINE_string("combined_floating_range", "203.0.113.0/28",
                    "Floating-IP pool nova-combined creates on --host when that host has none; empty for none")

# HTTP servers nova-combined can run beside the RPC services: name -> path of a
# function that binds that daemon's nova.wsgi.Server(s) and returns them.
WSGI_SERVICES = {"objectstore": "nova.objectstore.server.build_servers", "api": "nova.cmd.api.build_servers"}

# Flags written into $state_path/nova.conf so other tools reach the same cloud.
_SHARED_FLAGS = ("state_path", "sql_connection", "host", "my_ip", "fake_rabbit",
                 "rabbit_host", "rabbit_port", "rabbit_virtual_host")


def _bootstrap_admin() -> tuple[str, str] | None:
    """Create the first admin user and project; None if users already exist."""
    from nova.auth import manager

    auth = manager.AuthManager()
    if auth.get_users():
        return None
    name = FLAGS.combined_admin
    auth.create_user(name, admin=True)
    auth.create_project(name, name, "Created by nova-combined")
    auth.add_role(name, "cloudadmin")
    return name, name


def _bootstrap_networks() -> int:
    """Create the --fixed_range networks when there are none, so instances get addresses."""
    from nova import context, utils
    from nova.db import api as db

    ctxt = context.get_admin_context()
    if db.network_count(ctxt):
        return 0
    manager = utils.import_class(FLAGS.network_manager)(host=FLAGS.host)
    networks = manager.create_networks(ctxt, FLAGS.fixed_range, FLAGS.num_networks, FLAGS.network_size)
    LOG.info("Created %d network(s) in %s", len(networks), FLAGS.fixed_range)
    return len(networks)


def _boot_sector_disk(path: str, size: int = 1 << 20) -> None:
    """A raw disk whose boot sector halts the CPU: boots under QEMU, does nothing else."""
    sector = bytearray(512)
    sector[:4] = b"\xfa\xf4\xeb\xfd"  # cli; hlt; jmp back to hlt
    sector[510:] = b"\x55\xaa"
    with open(path, "wb") as handle:
        handle.write(sector)
        handle.truncate(size)


def _bootstrap_image() -> str | None:
    """The ami- id of --combined_image, registered on first run like ``nova-manage image image_register``."""
    from nova import context, exception
    from nova.ec2_ids import image_ec2_id
    from nova.image import get_default_image_service
    from nova.image.manage import ImageCommands

    name = FLAGS.combined_image
    if not name:
        return None
    for image in get_default_image_service().index(context.get_admin_context()):
        if image["name"] == name and image["type"] == "machine" and image["state"] == "available":
            return image_ec2_id(image)
    path = os.path.join(FLAGS.state_path, f"{name}.img")
    _boot_sector_disk(path)
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
            ImageCommands().image_register(path, FLAGS.combined_admin, name)
    except exception.ProjectNotFound:
        LOG.warning("No default image registered: there is no project %s", FLAGS.combined_admin)
        return None
    image_id = printed.getvalue().strip()
    LOG.info("Registered %s as %s", path, image_id)
    return image_id


def _bootstrap_floating_ips() -> None:
    """--combined_floating_range on the host nova-combined's network service runs as, unless it has a pool."""
    import ipaddress

    from nova import context, exception
    from nova.db import api as db

    ctxt = context.get_admin_context()
    if not FLAGS.combined_floating_range or db.floating_ip_get_all_by_host(ctxt, FLAGS.host):
        return
    try:
        network = ipaddress.ip_network(FLAGS.combined_floating_range, strict=False)
    except ValueError as exc:
        raise exception.InvalidInput(reason=f"bad --combined_floating_range: {exc}") from None
    try:
        db.floating_ip_bulk_create(ctxt, FLAGS.host, [str(a) for a in network.hosts()])
    except exception.FloatingIpExists as exc:
        LOG.warning("No floating-IP pool made on %s: %s", FLAGS.host, exc)
        return
    LOG.info("Created the floating-IP pool %s on %s", FLAGS.combined_floating_range, FLAGS.host)


def _start_tgtd() -> tuple[subprocess.Popen | None, str]:
    """nova-combined's own tgtd for nova-volume's exports, and a line saying what became of it.

    Needs root and the tgt package; listens on ``--iscsi_ip_address`` (127.0.0.1
    unless given) and takes tgtadm commands on ``--combined_tgtd_control_port``.
    Its targets live in its memory: nova-volume exports every volume again when
    it starts.
    """
    if not FLAGS.combined_tgtd or "volume" in FLAGS.combined_services:
        return None, ""
    if os.geteuid() != 0 or shutil.which("tgtd") is None or shutil.which("tgtadm") is None:
        return None, "none (nova-volume needs root and tgt: apt-get install tgt, then start as root)"
    if not FLAGS["iscsi_ip_address"].present:
        FLAGS.iscsi_ip_address = "127.0.0.1"
    port = FLAGS.combined_tgtd_control_port
    log = open(os.path.join(FLAGS.state_path, "tgtd.log"), "ab")
    proc = subprocess.Popen(["tgtd", "-f", "--iscsi", f"portal={FLAGS.iscsi_ip_address}:{FLAGS.iscsi_port}",
                             "--control-port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    log.close()
    deadline = time.monotonic() + 10
    while subprocess.run(["tgtadm", "-C", str(port), "--lld", "iscsi", "--op", "show", "--mode", "target"],
                         capture_output=True).returncode != 0:
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop_tgtd(proc)
            return None, (f"none (tgtd did not start on {FLAGS.iscsi_ip_address}:{FLAGS.iscsi_port}, control port "
                          f"{port}; see {FLAGS.state_path}/tgtd.log)")
        time.sleep(0.05)
    FLAGS.tgtadm_control_port = port
    FLAGS.combined_services = [*FLAGS.combined_services, "volume"]
    return proc, (f"files under {FLAGS.volumes_path}, iSCSI on {FLAGS.iscsi_ip_address}:{FLAGS.iscsi_port} "
                  f"(tgtd pid {proc.pid}, started by nova-combined)")


def _stop_tgtd(proc: subprocess.Popen | None) -> None:
    """Kill nova-combined's tgtd (it ignores SIGTERM while it has targets) and remove its control socket."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)
    for name in (f"socket.{FLAGS.combined_tgtd_control_port}", f"socket.{FLAGS.combined_tgtd_control_port}.lock"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join("/var/run/tgtd", name))


def _write_flagfile(path: str) -> None:
    lines = [f"--{name}={getattr(FLAGS, name)}" for name in _SHARED_FLAGS]
    if FLAGS.rabbit_hosts:
        lines.append(f"--rabbit_hosts={','.join(FLAGS.rabbit_hosts)}")
    if FLAGS.rabbit_quorum_queues is not None:
        lines.append(f"--{'' if FLAGS.rabbit_quorum_queues else 'no'}rabbit_quorum_queues")
    with open(path, "w") as handle:
        handle.write("# Written by nova-combined: flags that reach this cloud.\n")
        handle.write("\n".join(lines) + "\n")


def _write_novarc(user: str, project: str, path: str) -> None:
    from nova.auth import manager

    rc = manager.AuthManager().get_environment_rc(user, project, path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(rc)


def prepare() -> dict[str, Any]:
    """Schema, first user and network, flagfile and novarc; returns what to tell the user."""
    from nova.db import migration

    os.makedirs(FLAGS.state_path, exist_ok=True)
    migration.db_sync()
    created = _bootstrap_admin()
    _bootstrap_networks()
    _bootstrap_floating_ips()
    image_id = _bootstrap_image()
    flagfile = os.path.join(FLAGS.state_path, "nova.conf")
    _write_flagfile(flagfile)
    from nova.network import linux_net

    if not linux_net.dhcpbridge_flagfile():
        # nova-dhcpbridge (run by dnsmasq) reaches this cloud through the flagfile just written.
        FLAGS.dhcpbridge_flagfile = flagfile
    novarc = os.path.join(FLAGS.state_path, "novarc")
    if created:
        _write_novarc(*created, novarc)
    return {"flagfile": flagfile, "novarc": novarc if os.path.exists(novarc) else None,
            "created_admin": created is not None, "image_id": image_id}


def try_this(info: dict[str, Any]) -> list[str]:
    """Commands a user can paste as printed: key pair, instance, address, bucket."""
    if not (info.get("novarc") and info.get("image_id")) or not {"api", "objectstore"} <= set(FLAGS.combined_services):
        return []
    lines = ["Try this (bash, in a new shell, from any directory):"]
    if sys.prefix != sys.base_prefix:
        lines.append(f"  . {os.path.join(sys.prefix, 'bin', 'activate')}")
    lines += [
        f"  source {info['novarc']}",
        "  aws ec2 create-key-pair --key-name mykey --query KeyMaterial --output text > mykey.pem",
        f"  INSTANCE=$(aws ec2 run-instances --image-id {info['image_id']} --key-name mykey"
        " --query 'Instances[0].InstanceId' --output text)",
        '  aws ec2 wait instance-running --instance-ids "$INSTANCE"',
        "  ADDRESS=$(aws ec2 allocate-address --query PublicIp --output text)",
        '  aws ec2 associate-address --instance-id "$INSTANCE" --public-ip "$ADDRESS"',
        "  aws ec2 describe-addresses --output table",
        *(["  VOLUME=$(aws ec2 create-volume --size 1 --availability-zone nova --query VolumeId --output text)",
            '  aws ec2 wait volume-available --volume-ids "$VOLUME"',
            '  aws ec2 attach-volume --volume-id "$VOLUME" --instance-id "$INSTANCE" --device /dev/sdf',
            '  aws ec2 wait volume-in-use --volume-ids "$VOLUME"']
          if "volume" in FLAGS.combined_services else []),
        "  aws s3 mb s3://mybucket",
        "  echo 'hello from nova' > hello.txt",
        "  aws s3 cp hello.txt s3://mybucket/",
        "  aws s3 ls s3://mybucket/",
    ]
    if FLAGS.osapi_port and FLAGS.identity_port and FLAGS.image_api_port:
        # The same instance through the OpenStack API; the novarc holds the OS_* variables.
        lines += ["  openstack server list", "  openstack image list"]
    return lines + [""]


def _compute_line() -> str:
    if FLAGS.compute_driver:
        return FLAGS.compute_driver
    if FLAGS.connection_type == "libvirt":
        return f"libvirt ({FLAGS.libvirt_type}, {FLAGS.libvirt_uri or 'its default URI'})"
    return f"{FLAGS.connection_type} (no guest really runs)" if FLAGS.connection_type == "fake" else FLAGS.connection_type


def banner(info: dict[str, Any]) -> str:
    lines = [
        "nova-combined is running.",
        f"  services : {', '.join(FLAGS.combined_services)} on host {FLAGS.host}",
        f"  database : {FLAGS.sql_connection}",
        f"  transport: {'in-memory (this process only)' if FLAGS.fake_rabbit else 'RabbitMQ at ' + FLAGS.rabbit_host}",
        f"  flagfile : {info['flagfile']}",
        *([f"  S3       : http://{FLAGS.s3_host}:{FLAGS.s3_port}"] if "objectstore" in FLAGS.combined_services else []),
        *([f"  EC2      : http://{FLAGS.ec2_host}:{FLAGS.ec2_port}{FLAGS.ec2_path}"]
          if "api" in FLAGS.combined_services else []),
        *([f"  identity : http://{FLAGS.identity_host}:{FLAGS.identity_port}/v3  (OS_AUTH_URL)"]
          if "api" in FLAGS.combined_services and FLAGS.identity_port else []),
        *([f"  image    : http://{FLAGS.image_api_host}:{FLAGS.image_api_port}"]
          if "api" in FLAGS.combined_services and FLAGS.image_api_port else []),
        *([f"  OpenStack: http://{FLAGS.osapi_host}:{FLAGS.osapi_port}/v2.1"]
          if "api" in FLAGS.combined_services and FLAGS.osapi_port else []),
        *([f"  net API  : http://{FLAGS.network_api_host}:{FLAGS.network_api_port}  (just enough for the CLI)"]
          if "api" in FLAGS.combined_services and FLAGS.network_api_port else []),
        f"  manage   : bin/nova-manage --flagfile={info['flagfile']} service list",
        f"  network  : {'fake (--fake_network: no bridge, dnsmasq or iptables is touched)' if FLAGS.fake_network else FLAGS.network_manager}",
        f"  compute  : {_compute_line()}",
        *([f"  volumes  : {info['volumes']}"] if info.get("volumes") else []),
    ]
    if info.get("image_id"):
        lines.append(f"  image    : {info['image_id']} ({FLAGS.combined_image}, a placeholder disk that halts at boot)")
    if FLAGS.combined_floating_range:
        lines.append(f"  addresses: floating IPs {FLAGS.combined_floating_range} on host {FLAGS.host}")
    if info["novarc"]:
        lines.append(f"  credentials: source {info['novarc']}  (admin user '{FLAGS.combined_admin}')")
    else:
        lines.append("  credentials: bin/nova-manage --flagfile=... project environment PROJECT USER novarc")
    lines += try_this(info)
    lines.append("Stop with Ctrl-C or SIGTERM.")
    return "\n".join(lines)


def main() -> int:
    binary, _ = common.init(sys.argv, "nova-combined")
    if not FLAGS["fake_rabbit"].present:
        FLAGS.fake_rabbit = True
    if not FLAGS["connection_type"].present:
        FLAGS.connection_type = "fake"
    if not FLAGS["fake_network"].present:
        # The quick start leaves the host's bridges, dnsmasq and iptables alone.
        FLAGS.fake_network = True
    from nova import exception, service

    try:
        info = prepare()
    except exception.NovaException as exc:
        common.die(binary, str(exc))
    common.check_ready(binary)
    tgtd, info["volumes"] = _start_tgtd()

    unknown = [t for t in FLAGS.combined_services if t not in SERVICE_TOPICS and t not in WSGI_SERVICES]
    if unknown:
        common.die(binary, f"--combined_services names unknown service(s): {', '.join(unknown)}", status=2)
    services = [service.Service.create(binary=f"nova-{topic}", topic=topic) for topic in FLAGS.combined_services
                if topic in SERVICE_TOPICS]
    from nova import utils

    try:
        for name in FLAGS.combined_services:
            if name in WSGI_SERVICES:
                services += utils.import_class(WSGI_SERVICES[name])()
        service.serve(*services)
    except exception.NovaException as exc:
        _stop_tgtd(tgtd)
        common.die(binary, str(exc))
    except OSError as exc:
        _stop_tgtd(tgtd)
        common.die(binary, f"cannot start a server: {exc.strerror or exc}")
    started()
    print(banner(info), flush=True)
    try:
        return service.wait()
    finally:
        _stop_tgtd(tgtd)
