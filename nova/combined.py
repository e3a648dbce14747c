"""nova-combined: every daemon in one process, for a quick start.

It creates the schema, makes a first admin user, project and network when the
database has none, writes a flagfile and a novarc under ``--state_path``,
starts every service on SQLite and the in-memory transport (unless told
otherwise) and prints how to reach the cloud.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from nova import flags
from nova.cmd import common
from nova.cmd.launch import SERVICE_TOPICS

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_list("combined_services", ["scheduler", "compute", "network", "volume", "objectstore", "api"],
                  "Services nova-combined runs in its process")
flags.DEFINE_string("combined_admin", "admin", "Admin user (and project) nova-combined creates in an empty database")

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


def _write_flagfile(path: str) -> None:
    lines = [f"--{name}={getattr(FLAGS, name)}" for name in _SHARED_FLAGS]
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
    flagfile = os.path.join(FLAGS.state_path, "nova.conf")
    _write_flagfile(flagfile)
    novarc = os.path.join(FLAGS.state_path, "novarc")
    if created:
        _write_novarc(*created, novarc)
    return {"flagfile": flagfile, "novarc": novarc if os.path.exists(novarc) else None,
            "created_admin": created is not None}


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
        *([f"  OpenStack: http://{FLAGS.osapi_host}:{FLAGS.osapi_port}/v2.1"]
          if "api" in FLAGS.combined_services and FLAGS.osapi_port else []),
        f"  manage   : bin/nova-manage --flagfile={info['flagfile']} service list",
    ]
    if info["novarc"]:
        lines.append(f"  credentials: source {info['novarc']}  (admin user '{FLAGS.combined_admin}')")
    else:
        lines.append("  credentials: bin/nova-manage --flagfile=... project environment PROJECT USER novarc")
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
        common.die(binary, str(exc))
    except OSError as exc:
        common.die(binary, f"cannot start a server: {exc.strerror or exc}")
    print(banner(info), flush=True)
    return service.wait()
