"""The ``openstack`` command line, many invocations in one Python process.

Each ``openstack`` process spends about a second importing openstackclient
before it sends its first request; a test that runs thirty commands pays half
a minute for that alone.  ``CliRunner`` starts one worker that imports the
client once and then runs each command as the ``openstack`` script does
(``openstackclient.shell.main(argv)``: a new shell, its own environment, a new
token, its own stdout, stderr and exit status; the API clients openstackclient
caches per process are dropped before each command).  One difference, for speed
only: ``--wait`` polls the server's status every half second instead of every
five.  tests/functional/test_openstack_clients.py still runs the real
``openstack`` executable once (``_openstack_command``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

WORKER = r"""
import contextlib, functools, io, json, logging, os, sys
from osc_lib import clientmanager, utils
from openstackclient import shell
utils.wait_for_status = functools.partial(utils.wait_for_status, sleep_time=0.5)
replies = sys.stdout
for line in sys.stdin:
    request = json.loads(line)
    # openstackclient caches each API's client on the ClientManager class, i.e. once per process
    for attribute in vars(clientmanager.ClientManager).values():
        if isinstance(attribute, clientmanager.ClientCache):
            attribute._handle = None
    os.environ.clear()
    os.environ.update(request["env"])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = shell.main(request["argv"])
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:
            print(f"worker: {type(exc).__name__}: {exc}", file=err)
            status = 1
    for handler in logging.getLogger().handlers[:]:
        logging.getLogger().removeHandler(handler)
    replies.write(json.dumps({"status": status, "stdout": out.getvalue(), "stderr": err.getvalue()}) + "\n")
    replies.flush()
"""


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


class CliRunner:
    """One worker process; ``run(argv, env)`` is ``subprocess.run(["openstack", *argv], env=env)``."""

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None

    def run(self, argv: list[str], env: dict[str, str]) -> CliResult:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, text=True)
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps({"argv": argv, "env": env}) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise AssertionError(f"the openstack CLI worker died running {argv}")
        reply = json.loads(line)
        return CliResult(reply["status"], reply["stdout"], reply["stderr"])

    def close(self) -> None:
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
