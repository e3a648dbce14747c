"""Command-line and flagfile configuration, gflags style, on absl-py.

Flags are defined next to the code that reads them with the ``DEFINE_*``
helpers below.  Every binary knows every flag, so one ``nova.conf`` serves all
daemons: ``parse_args`` defines each flag from ``nova/flag_registry.py`` (a
generated list of every flag's kind, default and help) instead of importing
the heavy modules that define them, which keeps start-up fast.  When such a
module is imported later its own definition takes over (default and help); a
flag the registry does not know yet makes ``parse_args`` import every flag
module before it calls the flag unknown.  ``tools/gen_flagfile_sample.py``
regenerates the registry, and a unit test fails while it is stale.  String values may refer to other flags as ``$name`` (for example
``sqlite:///$state_path/nova.sqlite``); they are expanded when read.
"""

from __future__ import annotations

import difflib
import importlib
import os
import socket
import string
import sys
from typing import Any, Sequence

from absl import flags as absl_flags


class NovaFlagValues(absl_flags.FlagValues):
    """absl FlagValues whose string values expand ``$other_flag``."""

    def __getattr__(self, name: str) -> Any:
        value = super().__getattr__(name)
        if isinstance(value, str) and "$" in value:
            value = self._expand(value, depth=0)
        return value

    def _expand(self, value: str, depth: int) -> str:
        if depth > 10 or "$" not in value:
            return value
        return string.Template(value).safe_substitute(_Lookup(self, depth))


class _Lookup(dict):
    """The values ``$name`` refers to, expanded in turn (a class made once: building one per lookup cost
    more than the lookup)."""

    def __init__(self, flag_values: NovaFlagValues, depth: int) -> None:
        super().__init__()
        self.flag_values, self.depth = flag_values, depth

    def __missing__(self, key: str) -> str:
        if key in self.flag_values:
            return self.flag_values._expand(str(self.flag_values[key].value), self.depth + 1)
        raise KeyError(key)


FLAGS = NovaFlagValues()


class FlagError(Exception):
    """A flag could not be parsed; the message is one line for the operator."""


# Flag name -> module that defined it (absl would credit nova.flags for all).
DEFINED_IN: dict[str, str] = {}
# Flags defined from the registry whose module has not been imported yet.
_FROM_REGISTRY: set[str] = set()


def _take_over(name: str, default: Any, help_text: str) -> None:
    """The defining module was imported after the registry: its default and help win."""
    _FROM_REGISTRY.discard(name)
    FLAGS.set_default(name, default)
    FLAGS[name].help = help_text


def _define(kind: str, name: str, default: Any, help_text: str, **kwargs: Any) -> None:
    if name in FLAGS:
        if name in _FROM_REGISTRY:
            _take_over(name, default, help_text)
        return
    DEFINED_IN[name] = sys._getframe(2).f_globals.get("__name__", "nova")
    definer = getattr(absl_flags, "DEFINE_" + kind)
    definer(name, default, help_text, flag_values=FLAGS, **kwargs)


def DEFINE_string(name: str, default: str | None, help_text: str) -> None:  # noqa: N802
    _define("string", name, default, help_text)


def DEFINE_integer(name: str, default: int | None, help_text: str, lower_bound: int | None = None) -> None:  # noqa: N802
    _define("integer", name, default, help_text, lower_bound=lower_bound)


def DEFINE_float(name: str, default: float | None, help_text: str, lower_bound: float | None = None) -> None:  # noqa: N802
    _define("float", name, default, help_text, lower_bound=lower_bound)


def DEFINE_boolean(name: str, default: bool, help_text: str) -> None:  # noqa: N802
    _define("boolean", name, default, help_text)


DEFINE_bool = DEFINE_boolean


def DEFINE_list(name: str, default: Sequence[str] | None, help_text: str) -> None:  # noqa: N802
    _define("list", name, list(default) if default is not None else None, help_text)


def DEFINE_enum(name: str, default: str, values: Sequence[str], help_text: str) -> None:  # noqa: N802
    if name in FLAGS:
        if name in _FROM_REGISTRY:
            _take_over(name, default, help_text)
        return
    DEFINED_IN[name] = sys._getframe(1).f_globals.get("__name__", "nova")
    absl_flags.DEFINE_enum(name, default, list(values), help_text, flag_values=FLAGS)


def _guess_my_ip() -> str:
    """The address of the interface that routes outward, else loopback.

    No packet is sent: connecting a UDP socket only picks a route.
    """
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("192.0.2.1", 9))
            return sock.getsockname()[0]
    except OSError:
        return "127.0.0.1"


# Flags every daemon shares.  Service-specific flags live with their code.
def _default_state_path() -> str:
    """``/var/lib/nova`` for root or when writable, else the user's XDG state directory.

    Never the current directory, so ``nova-manage`` finds the same state
    from anywhere.
    """
    system = "/var/lib/nova"
    if os.geteuid() == 0 or os.access(system, os.W_OK):
        return system
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "nova")


DEFINE_string("state_path", _default_state_path(),
              "Top-level directory for nova's state (default: /var/lib/nova as root or when writable, "
              "else $XDG_STATE_HOME/nova or ~/.local/state/nova; never the current directory)")
DEFINE_string("host", socket.gethostname(), "Name of this node, used in topics and the services table")
DEFINE_string("my_ip", _guess_my_ip(), "IP address of this host")
DEFINE_string("node_availability_zone", "nova", "Availability zone of this node")
DEFINE_string("region_name", "nova", "Region this cloud reports")
DEFINE_string("sql_connection", "sqlite:///$state_path/nova.sqlite", "SQLAlchemy URL of the database")
DEFINE_integer("sql_idle_timeout", 3600, "Seconds before an idle SQL connection is recycled", lower_bound=1)
DEFINE_integer("sql_max_retries", 10, "Attempts to reach the database at start-up", lower_bound=1)
DEFINE_float("sql_retry_interval", 1.0, "Seconds between database connection attempts", lower_bound=0)
DEFINE_string("ec2_host", "$my_ip", "Address clients use to reach the EC2 API")
DEFINE_string("ec2_dmz_host", "$my_ip", "Address instances use to reach the API (metadata)")
DEFINE_string("ec2_listen", "0.0.0.0", "Address the EC2 API listens on")
DEFINE_integer("ec2_port", 8773, "Port of the EC2 API", lower_bound=0)
DEFINE_string("ec2_scheme", "http", "Scheme of the EC2 API URL")
DEFINE_string("ec2_path", "/services/Cloud", "Path of the EC2 API")
DEFINE_string("osapi_host", "$my_ip", "Address clients use to reach the OpenStack API")
DEFINE_string("osapi_listen", "0.0.0.0", "Address the OpenStack API listens on")
DEFINE_integer("osapi_port", 8774, "Port of the OpenStack API", lower_bound=0)
DEFINE_string("osapi_path", "/v1.1/", "Path of the OpenStack API")
DEFINE_string("s3_host", "$my_ip", "Address clients use to reach the objectstore")
DEFINE_string("s3_listen", "0.0.0.0", "Address the objectstore listens on")
DEFINE_integer("s3_port", 3333, "Port of the objectstore", lower_bound=0)
DEFINE_string("compute_topic", "compute", "Topic compute nodes listen on")
DEFINE_string("network_topic", "network", "Topic network nodes listen on")
DEFINE_string("volume_topic", "volume", "Topic volume nodes listen on")
DEFINE_string("scheduler_topic", "scheduler", "Topic the scheduler listens on")
DEFINE_string("compute_manager", "nova.compute.manager.ComputeManager", "Manager class of nova-compute")
DEFINE_string("network_manager", "nova.network.manager.VlanManager", "Manager class of nova-network")
DEFINE_string("volume_manager", "nova.volume.manager.VolumeManager", "Manager class of nova-volume")
DEFINE_string("scheduler_manager", "nova.scheduler.manager.SchedulerManager", "Manager class of nova-scheduler")
DEFINE_string("default_instance_type", "m1.small", "Flavor used when a request names none")
DEFINE_string("logdir", None, "Directory for log files; standard error when unset")
DEFINE_string("logfile", None, "Log file path; overrides --logdir")
DEFINE_boolean("verbose", False, "Log at DEBUG level")
DEFINE_boolean("use_syslog", False, "Log to syslog")
DEFINE_string("api_paste_config", "api-paste.ini", "Paste deploy configuration of nova-api")
DEFINE_integer("api_workers", 1, "nova-api processes serving all its ports (EC2, metadata, OpenStack, identity, "
               "image, network), each with its own event loop so requests use more than one core; with more than "
               "one, the first process binds the ports, forks them, replaces any that dies and passes SIGTERM on "
               "(nova-combined runs one)", lower_bound=1)

# Modules whose flags every binary must know.  Each import defines its flags.
FLAG_MODULES = (
    "nova.log",
    "nova.utils",
    "nova.rpc",
    "nova.service",
    "nova.servicegroup",
    "nova.db.api",
    "nova.db.sqlalchemy.session",
    "nova.auth.manager",
    "nova.quota",
    "nova.compute.manager",
    "nova.network.manager",
    "nova.network.linux_net",
    "nova.virt.iptables_firewall",
    "nova.volume.manager",
    "nova.volume.api",
    "nova.volume.driver",
    "nova.scheduler.manager",
    "nova.image",
    "nova.image.local",
    "nova.virt.firewall",
    "nova.virt.connection",
    "nova.virt.fake",
    "nova.scheduler.simple",
    "nova.virt.libvirt.driver",
    "nova.combined",
    "nova.wsgi",
    "nova.api.ec2",
    "nova.api.metadata",
    "nova.api.identity",
    "nova.api.image",
    "nova.api.network",
    "nova.objectstore.store",
    "nova.objectstore.auth",
    "nova.objectstore.app",
    "nova.objectstore.handlers.multipart",
    "nova.objectstore.server",
    "nova.image.bundle",
    "nova.image.s3client",
)


_all_modules_loaded = False


def _load_flag_modules() -> None:
    """Import every flag-defining module (slow; the registry spares binaries this)."""
    global _all_modules_loaded
    for module in FLAG_MODULES:
        importlib.import_module(module)
    _all_modules_loaded = True


def _load_registry() -> None:
    """Define every flag of ``nova/flag_registry.py`` not defined yet, without importing its module."""
    from nova import flag_registry

    for kind, name, default, help_text, module, extra in flag_registry.FLAGS:
        if name in FLAGS:
            continue
        if kind == "alias":
            absl_flags.DEFINE_alias(name, default, flag_values=FLAGS)
            continue
        if kind == "enum":
            absl_flags.DEFINE_enum(name, default, list(extra["values"]), help_text, flag_values=FLAGS)
        else:
            getattr(absl_flags, "DEFINE_" + kind)(name, default, help_text, flag_values=FLAGS, **extra)
        _FROM_REGISTRY.add(name)
        DEFINED_IN[name] = module


def registry_entries() -> list[tuple]:
    """Every flag as a registry entry (kind, name, default, help, module, extra), from the loaded modules.

    Aliases come last (their target must exist first); flags of this module
    are left out (they are always defined).  Used by tools/gen_flagfile_sample.py.
    """
    _load_flag_modules()
    entries, aliases = [], []
    for name in sorted(FLAGS):
        flag = FLAGS[name]
        module = DEFINED_IN.get(name, "nova.flags")
        if type(flag).__name__ == "_FlagAlias":
            aliases.append(("alias", name, flag.help.split("--", 1)[1].rstrip("."), flag.help, module, {}))
            continue
        if module == __name__:
            continue
        parser = flag.parser
        kind, extra = type(parser).__name__, {}
        if kind == "EnumParser":
            kind, extra = "enum", {"values": list(parser.enum_values)}
        elif kind in ("IntegerParser", "FloatParser"):
            kind = "integer" if kind == "IntegerParser" else "float"
            if parser.lower_bound is not None:
                extra["lower_bound"] = parser.lower_bound
        elif kind == "BooleanParser":
            kind = "boolean"
        elif kind == "ListParser":
            kind = "list"
        else:
            kind = "string"
        default = None if name in MACHINE_DEPENDENT else flag.default
        entries.append((kind, name, default, flag.help, module, extra))
    return entries + aliases


# Defaults computed on the machine that runs nova: the registry and the sample say so instead.
MACHINE_DEPENDENT = {
    "host": "<host name of this machine>",
    "my_ip": "<my_ip of this machine>",
    "state_path": "</var/lib/nova as root or when writable, else ~/.local/state/nova>",
    "root_helper": "<sudo, or nothing when running as root>",
}


def _flagfiles_first(argv: Sequence[str]) -> list[str]:
    """Move ``--flagfile`` arguments in front so the command line wins."""
    program, rest = argv[0], list(argv[1:])
    files, others, i = [], [], 0
    while i < len(rest):
        arg = rest[i]
        if arg == "--":
            others.extend(rest[i:])
            break
        if arg.startswith("--flagfile="):
            files.append(arg)
        elif arg == "--flagfile" and i + 1 < len(rest):
            files.append("--flagfile=" + rest[i + 1])
            i += 1
        else:
            others.append(arg)
        i += 1
    return [program] + files + others


def default_flagfile(argv: Sequence[str]) -> list[str]:
    """Prepend ``--flagfile=`` for ``$NOVA_FLAGFILE`` or ``/etc/nova/nova.conf`` when none is given."""
    argv = list(argv)
    if any(a == "--flagfile" or a.startswith("--flagfile=") for a in argv[1:]):
        return argv
    for candidate in (os.environ.get("NOVA_FLAGFILE"), "/etc/nova/nova.conf"):
        if candidate and os.path.exists(candidate):
            return [argv[0], "--flagfile=" + candidate] + argv[1:]
    return argv


def parse_args(argv: Sequence[str], use_default_flagfile: bool = True) -> list[str]:
    """Parse ``argv`` into FLAGS and return the positional arguments.

    Raises FlagError with a one-line message for unknown flags, bad values and
    unreadable flagfiles.  ``--help`` prints every flag and exits 0.
    """
    _load_registry()
    argv = list(argv)
    if any(a in ("--help", "-h", "--helpfull", "-?") for a in argv[1:]):
        print(usage(argv[0]))
        sys.exit(0)
    if use_default_flagfile:
        argv = default_flagfile(argv)
    try:
        try:
            return FLAGS(_flagfiles_first(argv))
        except absl_flags.UnrecognizedFlagError:
            if _all_modules_loaded:
                raise
            _load_flag_modules()  # a flag newer than the registry: ask the modules themselves
            return FLAGS(_flagfiles_first(argv))
    except absl_flags.UnrecognizedFlagError as exc:
        close = difflib.get_close_matches(exc.flagname, list(FLAGS), n=1, cutoff=0.75)
        suggestion = f" (did you mean --{close[0]}?)" if close else ""
        raise FlagError(f"unknown flag --{exc.flagname}{suggestion}") from None
    except absl_flags.IllegalFlagValueError as exc:
        raise FlagError(f"bad flag value: {_one_line(exc)}") from None
    except absl_flags.CantOpenFlagFileError as exc:
        raise FlagError(f"cannot read flagfile: {_one_line(exc).replace('ERROR:: ', '')}") from None
    except absl_flags.Error as exc:
        raise FlagError(_one_line(exc)) from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def usage(program: str) -> str:
    lines = [f"usage: {os.path.basename(program)} [--flagfile=FILE] [--flag=value ...]", "", "flags:"]
    for name in sorted(FLAGS):
        flag = FLAGS[name]
        if flag.name != name:
            continue
        lines.append(f"  --{name}: {flag.help} (default: {flag.default!r})")
    return "\n".join(lines)


def reset_for_tests(**overrides: Any) -> None:
    """Mark FLAGS parsed with defaults, then apply overrides (tests only)."""
    _load_flag_modules()
    if not FLAGS.is_parsed():
        FLAGS(["nova-test"])
    for name in list(FLAGS):
        FLAGS[name].unparse()
    FLAGS.mark_as_parsed()
    for name, value in overrides.items():
        setattr(FLAGS, name, value)
