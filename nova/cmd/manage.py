"""nova-manage: the operator's command line.

``nova-manage CATEGORY ACTION [ARGS...]``.  Each category is a class below;
each public method an action whose positional parameters are the arguments.
Mistakes end with one line on standard error and exit status 1 (2 for usage).
Heavy modules (the database layer, alembic, managers) are imported inside the
actions that use them, so ``--help`` and quick commands start fast.
"""

from __future__ import annotations

import gc
import importlib
import inspect
import os
import re
import sys
from typing import Any, Callable, NoReturn

from nova import exception, flags, utils
from nova.cmd import common

FLAGS = flags.FLAGS


def _admin() -> Any:
    from nova import context

    return context.get_admin_context()


def _auth() -> Any:
    from nova.auth import manager

    return manager.AuthManager()


def _db() -> Any:
    from nova.db import api

    return api


def _bool_arg(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("t", "true", "1", "yes", "y"):
        return True
    if lowered in ("f", "false", "0", "no", "n"):
        return False
    raise exception.InvalidInput(reason=f"{name} must be true or false, not {value!r}")


def _int_arg(value: str, name: str, minimum: int | None = None) -> int:
    try:
        number = int(value)
    except ValueError:
        raise exception.InvalidInput(reason=f"{name} must be an integer, not {value!r}") from None
    if minimum is not None and number < minimum:
        raise exception.InvalidInput(reason=f"{name} must be at least {minimum}, not {number}")
    return number


class DbCommands:
    """Schema of the database."""

    needs_database = False

    def sync(self, version: str | None = None) -> None:
        """Move the schema to the newest revision, or to VERSION (also --version N): older ones downgrade."""
        from nova.db import migration

        print(f"Database is at revision {migration.db_sync(version, progress=print)}")

    def version(self) -> None:
        """Print the schema revision of the database."""
        from nova.db import migration

        print(migration.db_version() or "None")


class UserCommands:
    """Users and their EC2 keys."""

    def admin(self, name: str, access: str | None = None, secret: str | None = None) -> None:
        """Create an admin user, with the given keys or generated ones."""
        self._print_keys(_auth().create_user(name, access, secret, admin=True))

    def create(self, name: str, access: str | None = None, secret: str | None = None) -> None:
        """Create a user, with the given keys or generated ones."""
        self._print_keys(_auth().create_user(name, access, secret, admin=False))

    def delete(self, name: str) -> None:
        """Delete a user."""
        _auth().delete_user(name)

    def exports(self, name: str) -> None:
        """Print the user's keys as shell exports."""
        self._print_keys(_auth().get_user(name))

    def list(self) -> None:
        """List users."""
        for user in _auth().get_users():
            print(f"{user['name']}{'  (admin)' if user['is_admin'] else ''}")

    def modify(self, name: str, access: str, secret: str, is_admin: str) -> None:
        """Change keys and admin flag; an empty string keeps a value."""
        admin = _bool_arg(is_admin, "is_admin") if is_admin else None
        _auth().modify_user(name, access or None, secret or None, admin)

    def password(self, name: str, password: str | None = None) -> None:
        """Set the user's password for the OpenStack clients (the first line of standard input when not given).

        Until one is set the user logs in with the EC2 secret key.
        """
        if password is None:
            password = sys.stdin.readline().rstrip("\r\n")
        _auth().set_password(name, password)
        print(f"Password of {name} set; OS_PASSWORD is no longer written into its novarc")

    @staticmethod
    def _print_keys(user: Any) -> None:
        # The user's own keys: EC2 SigV2 and presigned URLs take ACCESS:PROJECT; for boto3 and the AWS CLI
        # (SigV4 headers) use a project's pair (nova-manage credentials create, project environment).
        print(f"export EC2_ACCESS_KEY={user['access_key']}")
        print(f"export EC2_SECRET_KEY={user['secret_key']}")


class ProjectCommands:
    """Projects, their members, quotas and credentials."""

    def create(self, name: str, project_manager: str, description: str | None = None) -> None:
        """Create a project managed by an existing user."""
        _auth().create_project(name, project_manager, description)

    def modify(self, name: str, project_manager: str, description: str | None = None) -> None:
        """Change a project's manager and description."""
        _auth().modify_project(name, project_manager, description)

    def delete(self, name: str) -> None:
        """Delete a project."""
        _auth().delete_project(name)

    def list(self, username: str | None = None) -> None:
        """List projects (of one user when given)."""
        for project in _auth().get_projects(username):
            print(f"{project['name']}  manager={project['project_manager']}")

    def add(self, project: str, user: str) -> None:
        """Add a user to a project."""
        _auth().add_to_project(user, project)

    def remove(self, project: str, user: str) -> None:
        """Remove a user from a project."""
        _auth().remove_from_project(user, project)

    def quota(self, project: str, key: str | None = None, value: str | None = None) -> None:
        """Show a project's quotas, or set one (-1 is unlimited)."""
        from nova import quota

        ctxt = _admin()
        _db().project_get(ctxt, project)
        if key is not None:
            if value is None:
                raise exception.InvalidInput(reason="give both a quota name and a value")
            quota.set_project_quota(ctxt, project, key, _int_arg(value, key))
        for name, limit in sorted(quota.get_project_quotas(ctxt, project).items()):
            print(f"{name}: {'unlimited' if limit == quota.UNLIMITED else limit}")

    def environment(self, project: str, user: str, filename: str = "novarc") -> None:
        """Write a novarc with the user's pair for the project (made if it has none) and the cloud's URLs."""
        rc = _auth().get_environment_rc(user, project, filename)
        _write_private(filename, rc.encode())
        print(f"Wrote {filename}; use it with: source {filename}")

    def zipfile(self, project: str, user: str, filename: str = "nova.zip") -> None:
        """Write a zip of the user's credentials for the project."""
        _write_private(filename, _auth().get_credentials(user, project))
        print(f"Wrote {filename}")


class CredentialCommands:
    """Users' access/secret pairs, one or more per project (what EC2 and S3 clients sign with)."""

    def create(self, user: str, project: str, access: str | None = None, secret: str | None = None) -> None:
        """Make a pair of a user for a project (with the given keys or generated ones) and print it."""
        pair = _auth().create_ec2_credentials(user, project, access, secret)
        print(f"export EC2_ACCESS_KEY={pair['access_key']}")
        print(f"export EC2_SECRET_KEY={pair['secret_key']}")

    def list(self, user: str | None = None, project: str | None = None) -> None:
        """List pairs (access key, user, project), of one user and/or project when given."""
        auth = _auth()
        if user:
            auth.get_user(user)
        if project:
            auth.get_project(project)
        print(f"{'Access key':<34} {'User':<20} Project")
        for pair in auth.get_ec2_credentials(user or None, project or None):
            print(f"{pair['access_key']:<34} {pair['user_id']:<20} {pair['project_id']}")

    def delete(self, access: str) -> None:
        """Delete the pair with this access key."""
        _auth().delete_ec2_credentials(access)
        print(f"Deleted access key {access}")


class RoleCommands:
    """Global and per-project roles."""

    def add(self, user: str, role: str, project: str | None = None) -> None:
        """Give a user a role (in a project when given)."""
        _auth().add_role(user, role, project)

    def has(self, user: str, role: str, project: str | None = None) -> None:
        """Print True or False."""
        print(_auth().has_role(user, role, project))

    def remove(self, user: str, role: str, project: str | None = None) -> None:
        """Take a role from a user (in a project when given)."""
        _auth().remove_role(user, role, project)


class ServiceCommands:
    """The daemons that report into the services table."""

    def list(self, host: str | None = None, binary: str | None = None) -> None:
        """Host, binary, zone, status and :-) (alive) or XXX (down)."""
        from nova.servicegroup import service_is_up

        rows = _db().service_get_all(_admin())
        print(f"{'Host':<20} {'Binary':<16} {'Zone':<8} {'Status':<9} {'State':<5} Updated_At")
        for row in sorted(rows, key=lambda r: (r["host"], r["binary"])):
            if (host and row["host"] != host) or (binary and row["binary"] != binary):
                continue
            state = ":-)" if service_is_up(row) else "XXX"
            status = "disabled" if row["disabled"] else "enabled"
            updated = utils.isotime(row["updated_at"] or row["created_at"])
            print(f"{row['host']:<20} {row['binary']:<16} {row['availability_zone'] or '':<8} "
                  f"{status:<9} {state:<5} {updated}")

    def enable(self, host: str, binary: str) -> None:
        """Let the scheduler use a service again."""
        self._set_disabled(host, binary, False)

    def disable(self, host: str, binary: str) -> None:
        """Keep the scheduler from using a service."""
        self._set_disabled(host, binary, True)

    def delete(self, host: str, binary: str) -> None:
        """Remove a service (and the compute node it reported) of a host taken out of the cloud.

        Refused while the service is up (it would register again at its next
        heartbeat: stop it first and wait until ``service list`` shows XXX),
        and while instances (nova-compute) or volumes (nova-volume) not deleted
        are on the host (nothing could stop or delete them then).  The host
        may come back later: its daemon registers anew when it starts.
        """
        from nova.servicegroup import service_is_up

        ctxt = _admin()
        row = _db().service_get_by_args(ctxt, host, binary)
        if service_is_up(row):
            raise exception.ServiceInUse(binary=binary, host=host,
                                         reason="it is up; stop it first and wait until 'service list' shows XXX")
        held = {"nova-compute": ("instance", _db().instance_get_all_by_host),
                "nova-volume": ("volume", _db().volume_get_all_by_host)}.get(binary)
        if held is not None:
            kind, rows_on_host = held
            left = rows_on_host(ctxt, host)
            if left:
                raise exception.ServiceInUse(binary=binary, host=host,
                                             reason=f"{len(left)} {kind}(s) are still on it; delete them first")
        _db().service_destroy(ctxt, row["id"])
        print(f"{binary} on {host} deleted")

    @staticmethod
    def _set_disabled(host: str, binary: str, disabled: bool) -> None:
        ctxt = _admin()
        row = _db().service_get_by_args(ctxt, host, binary)
        _db().service_update(ctxt, row["id"], {"disabled": disabled})
        print(f"{binary} on {host} {'disabled' if disabled else 'enabled'}")


class InstanceTypeCommands:
    """Flavors: the vCPUs, RAM and disk an instance gets."""

    def create(self, name: str, memory: str, vcpus: str, local_gb: str, flavorid: str,
               swap: str = "0", rxtx_quota: str = "0", rxtx_cap: str = "0") -> None:
        """Create a flavor (memory in MB, disk in GB)."""
        _db().instance_type_create(_admin(), {
            "name": name,
            "memory_mb": _int_arg(memory, "memory", 1),
            "vcpus": _int_arg(vcpus, "vcpus", 1),
            "local_gb": _int_arg(local_gb, "local_gb", 0),
            "flavorid": _int_arg(flavorid, "flavorid", 0),
            "swap": _int_arg(swap, "swap", 0),
            "rxtx_quota": _int_arg(rxtx_quota, "rxtx_quota", 0),
            "rxtx_cap": _int_arg(rxtx_cap, "rxtx_cap", 0),
        })
        print(f"{name} created")

    def delete(self, name: str, purge: str | None = None) -> None:
        """Mark a flavor deleted, or purge it from the table with 'purge'."""
        if purge is not None and purge != "purge":
            raise exception.InvalidInput(reason=f"the second argument may only be 'purge', not {purge!r}")
        if purge:
            _db().instance_type_purge(_admin(), name)
        else:
            _db().instance_type_destroy(_admin(), name)
        print(f"{name} {'purged' if purge else 'deleted'}")

    def list(self, name: str | None = None) -> None:
        """List flavors."""
        ctxt = _admin()
        rows = [_db().instance_type_get_by_name(ctxt, name)] if name else _db().instance_type_get_all(ctxt)
        for row in sorted(rows, key=lambda r: r["flavorid"]):
            print(f"{row['name']}: Memory: {row['memory_mb']}MB, VCPUS: {row['vcpus']}, "
                  f"Storage: {row['local_gb']}GB, FlavorID: {row['flavorid']}, Swap: {row['swap']}GB, "
                  f"RXTX Quota: {row['rxtx_quota']}GB, RXTX Cap: {row['rxtx_cap']}MB")


class VmCommands:
    """Instances across the cloud."""

    def list(self, host: str | None = None) -> None:
        """Instance, host, state and project of every instance (on one host when given)."""
        ctxt = _admin()
        rows = _db().instance_get_all_by_host(ctxt, host) if host else _db().instance_get_all(ctxt)
        print(f"{'Instance':<18} {'Host':<20} {'State':<12} {'Project':<16} {'Type':<10} Image")
        for row in rows:
            state = row["vm_state"] or "-"
            print(f"{row['name']:<18} {row['host'] or '-':<20} {state:<12} {row['project_id']:<16} "
                  f"{row['instance_type_id'] or '-'!s:<10} {row['image_id'] or '-'}")


class NetworkCommands:
    """Fixed networks (nova-network)."""

    def create(self, fixed_range: str | None = None, num_networks: str | None = None,
               network_size: str | None = None, vlan_start: str | None = None, vpn_start: str | None = None,
               label: str | None = None) -> None:
        """Create networks, split from FIXED_RANGE, with all their fixed IPs (defaults from flags)."""
        manager = utils.import_class(FLAGS.network_manager)(host=FLAGS.host)
        networks = manager.create_networks(
            _admin(), fixed_range or FLAGS.fixed_range,
            _int_arg(num_networks, "num_networks", 1) if num_networks else FLAGS.num_networks,
            _int_arg(network_size, "network_size", 4) if network_size else FLAGS.network_size,
            vlan_start=_int_arg(vlan_start, "vlan_start", 1) if vlan_start else None,
            vpn_start=_int_arg(vpn_start, "vpn_start", 1) if vpn_start else None,
            label=label)
        for network in networks:
            print(f"created network {network['cidr']} on bridge {network['bridge']}")

    def list(self) -> None:
        """Every network: cidr, netmask, gateway, DHCP start, DNS, bridge, VLAN, project and host."""
        print(f"{'id':<4} {'network':<18} {'netmask':<15} {'gateway':<15} {'dhcp start':<15} {'DNS':<15} "
              f"{'bridge':<8} {'vlan':<5} {'project':<12} host")
        for n in _db().network_get_all(_admin()):
            print(f"{n['id']:<4} {n['cidr']:<18} {n['netmask']:<15} {n['gateway']:<15} {n['dhcp_start']:<15} "
                  f"{n['dns'] or '-':<15} {n['bridge']:<8} {n['vlan'] or '-'!s:<5} {n['project_id'] or '-':<12} "
                  f"{n['host'] or '-'}")


class FloatingIpCommands:
    """Floating (public) IPs (nova-network)."""

    def create(self, host: str, ip_range: str) -> None:
        """Add every address of IP_RANGE (a cidr) to HOST's pool."""
        addresses = _ip_range(ip_range)
        _db().floating_ip_bulk_create(_admin(), host, addresses)
        print(f"created {len(addresses)} floating IPs on {host}")

    def list(self, host: str | None = None) -> None:
        """Every floating IP: host, address, project and the fixed IP it points at."""
        ctxt = _admin()
        rows = _db().floating_ip_get_all_by_host(ctxt, host) if host else _db().floating_ip_get_all(ctxt)
        print(f"{'host':<16} {'address':<16} {'project':<16} fixed address")
        for row in rows:
            fixed = _db().fixed_ip_get(ctxt, row["fixed_ip_id"])["address"] if row["fixed_ip_id"] else "-"
            print(f"{row['host'] or '-':<16} {row['address']:<16} {row['project_id'] or '-':<16} {fixed}")

    def delete(self, ip_range: str) -> None:
        """Remove every address of IP_RANGE from the pool; refused for one a project holds."""
        addresses = _ip_range(ip_range)
        for address in addresses:
            _db().floating_ip_destroy(_admin(), address)
        print(f"deleted {len(addresses)} floating IPs")


class FixedIpCommands:
    """Fixed IPs (nova-network)."""

    def list(self, host: str | None = None) -> None:
        """Fixed IPs in use: network, address, MAC, hostname and host (of one host when given)."""
        ctxt = _admin()
        networks = {n["id"]: n for n in _db().network_get_all(ctxt)}
        print(f"{'network':<18} {'IP address':<16} {'MAC address':<18} {'hostname':<20} host")
        for row in _db().fixed_ip_get_all(ctxt):
            if row["instance_id"] is None:
                continue
            instance = _db().instance_get(ctxt.elevated(read_deleted=True), row["instance_id"])
            if host and instance["host"] != host:
                continue
            network = networks.get(row["network_id"])
            print(f"{network['cidr'] if network else '-':<18} {row['address']:<16} {row['mac_address'] or '-':<18} "
                  f"{instance['hostname'] or instance['name']:<20} {instance['host'] or '-'}")


def _ip_range(ip_range: str) -> list[str]:
    import ipaddress

    try:
        network = ipaddress.ip_network(ip_range, strict=False)
    except ValueError as exc:
        raise exception.InvalidInput(reason=f"bad IP range {ip_range!r}: {exc}") from None
    if network.version != 4:
        raise exception.InvalidInput(reason="only IPv4 ranges are supported")
    hosts = list(network.hosts()) if network.num_addresses > 2 else list(network)
    return [str(a) for a in hosts]


class VersionCommands:
    """This nova's version."""

    needs_database = False

    def list(self) -> None:
        """Print the version."""
        import nova

        print(f"nova {nova.__version__}")


# A category given as "module:Class" lives with its code and is imported only when used.
CATEGORIES: dict[str, type | str] = {
    "db": DbCommands,
    "user": UserCommands,
    "project": ProjectCommands,
    "account": ProjectCommands,
    "role": RoleCommands,
    "credentials": CredentialCommands,
    "service": ServiceCommands,
    "instance_type": InstanceTypeCommands,
    "flavor": InstanceTypeCommands,
    "vm": VmCommands,
    "version": VersionCommands,
    "network": NetworkCommands,
    "floating": FloatingIpCommands,
    "fixed": FixedIpCommands,
    "image": "nova.image.manage:ImageCommands",
    "volume": "nova.volume.manage:VolumeCommands",
}


def _write_private(filename: str, data: bytes) -> None:
    """Write credentials readable by their owner only."""
    fd = os.open(filename, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _category(name: str) -> type | None:
    """The class of category ``name`` (importing it when named by path), or None."""
    category = CATEGORIES.get(name)
    if isinstance(category, str):
        module_name, _, class_name = category.partition(":")
        category = getattr(importlib.import_module(module_name), class_name)
        CATEGORIES[name] = category
    return category


def _actions(category: type) -> dict[str, Callable]:
    return {name: func for name, func in vars(category).items()
            if not name.startswith("_") and callable(func) and not isinstance(func, staticmethod)}


def _usage_error(message: str) -> NoReturn:
    common.die("nova-manage", message, status=2)


def _describe(category_name: str | None = None) -> str:
    if category_name is None:
        names = sorted(set(CATEGORIES) - {"account", "flavor"})
        return "usage: nova-manage CATEGORY ACTION [ARGS...]\ncategories: " + " ".join(names)
    lines = [f"usage: nova-manage {category_name} ACTION [ARGS...]", "actions:"]
    for name, func in sorted(_actions(_category(category_name)).items()):
        params = [p for p in inspect.signature(func).parameters.values() if p.name != "self"]
        shown = " ".join(p.name.upper() if p.default is inspect.Parameter.empty else f"[{p.name.upper()}]"
                         for p in params)
        lines.append(f"  {name} {shown}".rstrip() + f"  -- {(func.__doc__ or '').strip()}")
    return "\n".join(lines)


def run(args: list[str]) -> int:
    """Run one command from positional ``args``; returns the exit status."""
    if not args:
        print(_describe(), file=sys.stderr)
        return 2
    category_name, rest = args[0], args[1:]
    category = _category(category_name)
    if category is None:
        _usage_error(f"unknown category {category_name!r}\n{_describe()}")
    if not rest:
        print(_describe(category_name), file=sys.stderr)
        return 2
    action_name, action_args = rest[0], rest[1:]
    action = _actions(category).get(action_name)
    if action is None:
        _usage_error(f"unknown action {category_name} {action_name!r}\n{_describe(category_name)}")
    instance = category()
    try:
        inspect.signature(action).bind(instance, *action_args)
    except TypeError:
        _usage_error(f"wrong arguments for {category_name} {action_name}\n{_describe(category_name)}")
    if getattr(category, "needs_database", True):
        common.check_ready("nova-manage", database=True, broker=False)
    try:
        action(instance, *action_args)
    except exception.NovaException as exc:
        common.die("nova-manage", str(exc))
    return 0


_NEGATIVE_NUMBER = re.compile(r"^-[0-9]+(\.[0-9]+)?$")


def _version_option(argv: list[str]) -> list[str]:
    """``db sync --version N`` (or ``--version=N``) as ``db sync N``: --version is no flag of nova's."""
    for i in range(len(argv) - 1):
        if argv[i:i + 2] != ["db", "sync"]:
            continue
        rest = argv[i + 2:]
        for j, arg in enumerate(rest):
            if arg.startswith("--version="):
                return argv[:i + 2] + rest[:j] + rest[j + 1:] + [arg.split("=", 1)[1]]
            if arg == "--version" and j + 1 < len(rest):
                return argv[:i + 2] + rest[:j] + rest[j + 2:] + [rest[j + 1]]
    return argv


def parse_command_line(argv: list[str]) -> list[str]:
    """Flags into FLAGS; the positional arguments, where a negative number is a value, never a flag."""
    argv = _version_option(list(argv))
    hidden: dict[str, str] = {}
    shielded = []
    for arg in argv:
        if _NEGATIVE_NUMBER.match(arg):  # absl would read "-1" as the unknown flag --1
            token = f"\0negative-number-{len(hidden)}"
            hidden[token] = arg
            arg = token
        shielded.append(arg)
    _, args = common.init(shielded, "nova-manage")
    return [hidden.get(arg, arg) for arg in args]


def main() -> int:
    # One short command: nova.cmd left the cyclic collector off for start-up
    # and it stays off, since importing SQLAlchemy and the models makes tens
    # of thousands of long-lived objects and next to no garbage cycles.
    # Reference counting still frees what the command lets go of.  Freezing
    # at the end spares the interpreter's last collection over all of them
    # at exit (with the collection while importing, a fifth of the time).
    try:
        return run(parse_command_line(sys.argv))
    finally:
        if not gc.isenabled():
            gc.freeze()
