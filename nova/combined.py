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
flags.DEFINE_string("combined_guest_dir", "",
                    "Folder of tools/build-guest-image's guest (vmlinux, initrd.img, root.img): nova-combined "
                    "registers it as --combined_image with its kernel and ramdisk instead of the placeholder disk")
flags.DEFINE_string("combined_netns", "",
                    "Network namespace nova-combined makes (or reuses) for a real FlatDHCP network (bridge, "
                    "dnsmasq, NAT, floating IPs) and its libvirtd, joined to this namespace by a veth routing the "
                    "fixed and floating ranges (root only; empty: --fake_network)")
flags.DEFINE_string("combined_link_range", "198.19.77.0/30",
                    "Addresses of the veth into --combined_netns: the first on this side (metadata server, "
                    "tgtd), the second inside")
flags.DEFINE_boolean("combined_libvirtd", True,
                     "With --combined_netns and --connection_type=libvirt, start virtlogd and libvirtd of "
                     "nova-combined's own in the namespace (QEMU as root, TCG); stopped when it stops")

# HTTP servers nova-combined can run beside the RPC services: name -> path of a
# function that binds that daemon's nova.wsgi.Server(s) and returns them.
WSGI_SERVICES = {"objectstore": "nova.objectstore.server.build_servers", "api": "nova.cmd.api.build_servers"}

# Flags written into $state_path/nova.conf so other tools reach the same cloud.
_SHARED_FLAGS = ("state_path", "sql_connection", "host", "my_ip", "fake_rabbit",
                 "rabbit_host", "rabbit_port", "rabbit_virtual_host", "network_manager")


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


def _existing_admin() -> tuple[str, str] | None:
    """(user, project) of the --combined_admin an earlier run created, if both are still there."""
    from nova import exception
    from nova.auth import manager

    auth = manager.AuthManager()
    name = FLAGS.combined_admin
    try:
        return (name, name) if auth.is_project_member(name, name) else None
    except exception.NotFound:
        return None


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


GUEST_FILES = {"kernel": "vmlinux", "ramdisk": "initrd.img", "disk": "root.img"}


def _register(call: Any, *args: str) -> str:
    """One ``nova-manage image ..._register`` call; returns the id it prints."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
        call(*args)
    return printed.getvalue().strip()


def _bootstrap_image() -> str | None:
    """The ami- id of --combined_image, registered on first run like ``nova-manage image image_register``:
    the guest of --combined_guest_dir with its kernel and ramdisk, else a placeholder disk."""
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
    commands, owner = ImageCommands(), FLAGS.combined_admin
    try:
        if FLAGS.combined_guest_dir:
            paths = {key: os.path.join(FLAGS.combined_guest_dir, file) for key, file in GUEST_FILES.items()}
            missing = [path for path in paths.values() if not os.path.isfile(path)]
            if missing:
                raise exception.InvalidInput(reason=f"--combined_guest_dir lacks {', '.join(missing)} "
                                                    "(tools/build-guest-image makes them)")
            aki = _register(commands.kernel_register, paths["kernel"], owner, f"{name}-kernel")
            ari = _register(commands.ramdisk_register, paths["ramdisk"], owner, f"{name}-ramdisk")
            image_id = _register(commands.image_register, paths["disk"], owner, name, "T", "x86_64", aki, ari)
            LOG.info("Registered the guest of %s as %s (kernel %s, ramdisk %s)", FLAGS.combined_guest_dir,
                     image_id, aki, ari)
            return image_id
        path = os.path.join(FLAGS.state_path, f"{name}.img")
        _boot_sector_disk(path)
        image_id = _register(commands.image_register, path, owner, name)
    except exception.ProjectNotFound:
        LOG.warning("No default image registered: there is no project %s", owner)
        return None
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
    if not FLAGS["iscsi_ip_address"].present and not FLAGS.combined_netns:
        FLAGS.iscsi_ip_address = "127.0.0.1"  # with --combined_netns: the veth's near end (QEMU runs inside)
    port = FLAGS.combined_tgtd_control_port
    if _tgtd_answers(port):
        # another cloud's tgtd: using it would mix two clouds' targets, and stopping would remove its socket
        return None, (f"none (a tgtd nova-combined did not start answers on control port {port}: choose another "
                      "--combined_tgtd_control_port)")
    log = open(os.path.join(FLAGS.state_path, "tgtd.log"), "ab")
    proc = subprocess.Popen(["tgtd", "-f", "--iscsi", f"portal={FLAGS.iscsi_ip_address}:{FLAGS.iscsi_port}",
                             "--control-port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    log.close()
    deadline = time.monotonic() + 10
    while not _tgtd_answers(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop_tgtd(proc)
            return None, (f"none (tgtd did not start on {FLAGS.iscsi_ip_address}:{FLAGS.iscsi_port}, control port "
                          f"{port}; see {FLAGS.state_path}/tgtd.log)")
        time.sleep(0.05)
    FLAGS.tgtadm_control_port = port
    FLAGS.combined_services = [*FLAGS.combined_services, "volume"]
    return proc, (f"files under {FLAGS.volumes_path}, iSCSI on {FLAGS.iscsi_ip_address}:{FLAGS.iscsi_port} "
                  f"(tgtd pid {proc.pid}, started by nova-combined)")


def _tgtd_answers(port: int) -> bool:
    return subprocess.run(["tgtadm", "-C", str(port), "--lld", "iscsi", "--op", "show", "--mode", "target"],
                          capture_output=True).returncode == 0


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


# -- a real network and libvirtd in --combined_netns ------------------------------------------------------

NETNS_FIXED_RANGE = "10.99.0.0/24"  # --fixed_range with --combined_netns unless given: routed from this namespace


def _netns_defaults() -> None:
    """The flags of a FlatDHCP network in --combined_netns, each unless given (raises ValueError)."""
    from nova.network import netns_link

    near, far, _ = netns_link.addresses(FLAGS.combined_link_range)
    defaults = {
        "fake_network": False, "network_manager": "nova.network.manager.FlatDHCPManager",
        "fixed_range": NETNS_FIXED_RANGE, "public_interface": netns_link.FAR_DEVICE, "routing_source_ip": far,
        "ec2_dmz_host": near, "metadata_listen": near, "iscsi_ip_address": near,
        "firewall_driver": "nova.virt.iptables_firewall.IptablesFirewallDriver",
    }
    if FLAGS.combined_guest_dir:
        defaults["libvirt_kernel_cmdline"] = "console=ttyS0 quiet"
    for name, value in defaults.items():
        if not FLAGS[name].present:
            setattr(FLAGS, name, value)


def _setup_netns() -> Any:
    """The namespace and its veth, routes to the networks and the floating range; then --netns."""
    from nova import context
    from nova.db import api as db
    from nova.network import netns_link

    routes = [network["cidr"] for network in db.network_get_all(context.get_admin_context())]
    if FLAGS.combined_floating_range:
        routes.append(FLAGS.combined_floating_range)
    link = netns_link.ensure(FLAGS.combined_netns, FLAGS.combined_link_range, routes)
    FLAGS.netns = FLAGS.combined_netns
    # dnsmasq re-reads its hosts file as nobody: the state folder must be open to others.
    os.chmod(FLAGS.state_path, 0o755)
    return link


def _start_libvirtd() -> tuple[Any, str]:
    """nova-combined's own virtlogd and libvirtd in --combined_netns, and a line saying so.

    Raises LibvirtdUnavailable with one line saying why it cannot.
    """
    from nova import exception
    from nova.virt.libvirt import local_daemon

    if not (FLAGS.combined_netns and FLAGS.combined_libvirtd and FLAGS.connection_type == "libvirt"):
        return None, ""
    if (FLAGS.libvirt_uri or local_daemon.URI) != local_daemon.URI:
        return None, f"libvirtd at {FLAGS.libvirt_uri} (not started by nova-combined)"
    missing = local_daemon.missing_tools(("dnsmasq",))
    if missing:
        raise exception.LibvirtdUnavailable(reason=f"missing {', '.join(missing)} (apt-get install qemu-system-x86 "
                                                   "libvirt-daemon-system dnsmasq-base; .ci/run lists them)")
    # QEMU runs as root so it reads the disks under a state folder only root may enter.
    daemon = local_daemon.LocalLibvirtd(FLAGS.combined_netns, os.path.join(FLAGS.state_path, "libvirtd"),
                                        qemu_conf=['user = "root"', 'group = "root"'])
    daemon.start()
    if daemon.reused is not None:
        return daemon, f"libvirtd pid {daemon.reused}, already running in {FLAGS.combined_netns}"
    return daemon, (f"libvirtd pid {daemon.pids[-1]} in {FLAGS.combined_netns}, started by nova-combined "
                    f"(/dev/kvm hidden: TCG; logs in {daemon.log_dir})")


def _stop_real_cloud(daemon: Any) -> None:
    """Power off this host's guests (their definitions and disks stay), stop libvirtd and dnsmasq."""
    from nova import context
    from nova.db import api as db
    from nova.network import linux_net
    from nova.virt.libvirt import local_daemon

    ctxt = context.get_admin_context()
    if FLAGS.connection_type == "libvirt":
        names = [instance["name"] for instance in db.instance_get_all_by_host(ctxt, FLAGS.host)]
        stopped = local_daemon.power_off_domains(names, FLAGS.libvirt_uri or local_daemon.URI)
        if stopped:
            LOG.info("Powered off %s", ", ".join(stopped))
    if daemon is not None:
        daemon.stop_daemons()
    for network in db.network_get_all_by_host(ctxt, FLAGS.host):
        if network["bridge"]:
            linux_net.kill_dhcp(network["bridge"])


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
    admin = created or _existing_admin()
    if admin:
        # Written on every start, so its URLs follow this run's ports; the key pair is the one already made.
        _write_novarc(*admin, novarc)
    return {"flagfile": flagfile, "novarc": novarc if os.path.exists(novarc) else None,
            "created_admin": created is not None, "image_id": image_id}


SSH = "ssh -i mykey.pem -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"


def real_guests() -> bool:
    """Whether instances are real guests that answer SSH: libvirt in --combined_netns with the built guest."""
    return bool(FLAGS.combined_netns and FLAGS.combined_guest_dir and FLAGS.connection_type == "libvirt")


def try_this(info: dict[str, Any]) -> list[str]:
    """Commands a user can paste as printed: key pair, instance, address (SSH on real guests), volume, bucket."""
    if not (info.get("novarc") and info.get("image_id")) or not {"api", "objectstore"} <= set(FLAGS.combined_services):
        return []
    real = real_guests()
    lines = ["Try this (bash, in a new shell, from any directory):"]
    if sys.prefix != sys.base_prefix:
        lines.append(f"  . {os.path.join(sys.prefix, 'bin', 'activate')}")
    lines += [
        f"  source {info['novarc']}",
        "  aws ec2 create-key-pair --key-name mykey --query KeyMaterial --output text > mykey.pem",
        "  chmod 600 mykey.pem",
        *(["  aws ec2 authorize-security-group-ingress --group-name default --protocol tcp --port 22"
           " --cidr 0.0.0.0/0"] if real else []),
        f"  INSTANCE=$(aws ec2 run-instances --image-id {info['image_id']} --key-name mykey"
        f"{' --instance-type m1.tiny' if real else ''} --query 'Instances[0].InstanceId' --output text)",
        '  aws ec2 wait instance-running --instance-ids "$INSTANCE"',
        "  ADDRESS=$(aws ec2 allocate-address --query PublicIp --output text)",
        '  aws ec2 associate-address --instance-id "$INSTANCE" --public-ip "$ADDRESS"',
        "  aws ec2 describe-addresses --output table",
        *([f'  for try in $(seq 60); do {SSH} -o ConnectTimeout=5 root@"$ADDRESS" true 2>/dev/null && break;'
           " sleep 2; done",
           f'  {SSH} root@"$ADDRESS" hostname'] if real else []),
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


def _compute_line(info: dict[str, Any]) -> str:
    if FLAGS.compute_driver:
        return FLAGS.compute_driver
    if FLAGS.connection_type == "libvirt":
        daemon = f"; {info['libvirtd']}" if info.get("libvirtd") else ""
        return f"libvirt ({FLAGS.libvirt_type}, {FLAGS.libvirt_uri or 'its default URI'}){daemon}"
    return f"{FLAGS.connection_type} (no guest really runs)" if FLAGS.connection_type == "fake" else FLAGS.connection_type


def _network_line(info: dict[str, Any]) -> str:
    if FLAGS.fake_network:
        return "fake (--fake_network: no bridge, dnsmasq or iptables is touched)"
    link = info.get("link")
    if link is None:
        return FLAGS.network_manager
    return (f"{FLAGS.network_manager.rsplit('.', 1)[-1]} in the namespace {link.netns} (bridge, dnsmasq, NAT, "
            f"floating IPs); veth {link.near_device} {link.near_ip} -> {link.far_ip}, routes to {FLAGS.fixed_range}"
            f"{' and ' + FLAGS.combined_floating_range if FLAGS.combined_floating_range else ''}")


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
        f"  network  : {_network_line(info)}",
        f"  compute  : {_compute_line(info)}",
        *([f"  volumes  : {info['volumes']}"] if info.get("volumes") else []),
    ]
    if info.get("image_id"):
        what = ("tools/build-guest-image's guest: DHCP, metadata, SSH as root with your key" if FLAGS.combined_guest_dir
                else "a placeholder disk that halts at boot")
        lines.append(f"  image    : {info['image_id']} ({FLAGS.combined_image}, {what})")
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
    if FLAGS.connection_type == "fake" and not FLAGS["fake_driver_state"].present:
        # A restarted quick start finds its instances running, as nova-compute does beside a libvirtd.
        FLAGS.fake_driver_state = os.path.join(FLAGS.state_path, "fake-hypervisor.json")
    if FLAGS.combined_netns:
        if os.geteuid() != 0:
            common.die(binary, "--combined_netns needs root (a network namespace, a bridge, dnsmasq, iptables)")
        try:
            _netns_defaults()
        except ValueError as exc:
            common.die(binary, f"bad --combined_link_range: {exc}", status=2)
    elif not FLAGS["fake_network"].present:
        # The quick start leaves the host's bridges, dnsmasq and iptables alone.
        FLAGS.fake_network = True
    from nova import exception, service

    try:
        info = prepare()
        info["link"] = _setup_netns() if FLAGS.combined_netns else None
    except exception.NovaException as exc:
        common.die(binary, str(exc))
    common.check_ready(binary)
    try:
        libvirtd, info["libvirtd"] = _start_libvirtd()
    except exception.LibvirtdUnavailable as exc:
        common.die(binary, str(exc))
    tgtd, info["volumes"] = _start_tgtd()

    def stop() -> None:
        if FLAGS.combined_netns:
            _stop_real_cloud(libvirtd)
        _stop_tgtd(tgtd)

    unknown = [t for t in FLAGS.combined_services if t not in SERVICE_TOPICS and t not in WSGI_SERVICES]
    if unknown:
        stop()
        common.die(binary, f"--combined_services names unknown service(s): {', '.join(unknown)}", status=2)
    from nova import utils

    try:
        services = [service.Service.create(binary=f"nova-{topic}", topic=topic)
                    for topic in FLAGS.combined_services if topic in SERVICE_TOPICS]
        for name in FLAGS.combined_services:
            if name in WSGI_SERVICES:
                services += utils.import_class(WSGI_SERVICES[name])()
        service.serve(*services)
    except exception.NovaException as exc:
        stop()
        common.die(binary, str(exc))
    except OSError as exc:
        stop()
        common.die(binary, f"cannot start a server: {exc.strerror or exc}")
    started()
    print(banner(info), flush=True)
    try:
        return service.wait()
    finally:
        stop()
