"""Small helpers shared by every layer: imports, time, running commands."""

from __future__ import annotations

import datetime
import importlib
import logging
import os
import shlex
import subprocess
from typing import Any, Sequence

from nova import exception, flags

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_string("root_helper", "" if os.geteuid() == 0 else "sudo",
                    "Command prefixed to commands that need root (default: sudo, or nothing when running as root)")
flags.DEFINE_string("netns", None, "Run host commands inside this network namespace (tests)")
flags.DEFINE_integer("execute_timeout", 120, "Seconds before an external command is killed", lower_bound=1)


def import_class(path: str) -> Any:
    """Import ``package.module.Name`` and return ``Name``."""
    module_name, _, class_name = path.rpartition(".")
    if not module_name:
        raise ImportError(f"{path!r} is not a dotted class path")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, class_name)
    except AttributeError:
        raise ImportError(f"module {module_name} has no attribute {class_name}") from None


def import_object(path: str) -> Any:
    """Import a module, or a class and instantiate it."""
    try:
        return importlib.import_module(path)
    except ImportError:
        return import_class(path)()


def decimal(text: Any, max_digits: int) -> int | None:
    """``text`` as an int if it is 1 to ``max_digits`` ASCII digits, else None.  ``str.isdigit`` alone
    also passes '²' and thousands of digits, which ``int()`` refuses (a 500 where a 400 belongs)."""
    if isinstance(text, str) and 0 < len(text) <= max_digits and text.isascii() and text.isdigit():
        return int(text)
    return None


def utcnow() -> datetime.datetime:
    """Naive UTC now, as stored in the database."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def isotime(at: datetime.datetime | None = None) -> str:
    return (at or utcnow()).strftime("%Y-%m-%dT%H:%M:%SZ")


SECRET_OPTIONS = frozenset({"--password", "--secret"})


def _masked(argv: list[str]) -> list[str]:
    """``argv`` as logs and errors show it: the value after --password (tgtadm's CHAP secret) is ***."""
    return ["***" if i and argv[i - 1] in SECRET_OPTIONS else a for i, a in enumerate(argv)]


def execute(
    *cmd: str,
    run_as_root: bool = False,
    process_input: str | bytes | None = None,
    check_exit_code: bool | Sequence[int] = True,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
) -> tuple[str, str]:
    """Run an external command and return (stdout, stderr).

    Commands that change the host go through here so that ``--root_helper``
    and ``--netns`` apply to all of them and each is logged.
    """
    argv = [str(c) for c in cmd]
    if FLAGS.netns:
        argv = ["ip", "netns", "exec", FLAGS.netns] + argv
    if run_as_root and FLAGS.root_helper:
        argv = shlex.split(FLAGS.root_helper) + argv
    printable = " ".join(shlex.quote(a) for a in _masked(argv))
    LOG.debug("Running: %s", printable)
    data = process_input.encode() if isinstance(process_input, str) else process_input
    try:
        result = subprocess.run(
            argv,
            input=data,
            capture_output=True,
            timeout=timeout or FLAGS.execute_timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise exception.ProcessExecutionError(cmd=printable, exit_code=None, stderr=f"timed out after {exc.timeout}s")
    except OSError as exc:
        raise exception.ProcessExecutionError(cmd=printable, exit_code=None, stderr=str(exc))
    stdout = result.stdout.decode(errors="replace")
    stderr = result.stderr.decode(errors="replace")
    allowed = [0] if check_exit_code is True else list(check_exit_code or [])
    if check_exit_code is not False and result.returncode not in allowed:
        raise exception.ProcessExecutionError(cmd=printable, exit_code=result.returncode, stdout=stdout, stderr=stderr)
    return stdout, stderr
