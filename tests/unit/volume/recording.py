"""Executors for volume driver unit tests: one records command lines and answers
from a script; one also plays tgtd, keeping targets the way ``tgtadm`` reports them."""

from __future__ import annotations

import shlex
from typing import Any, Callable

from nova import exception


class RecordingExecutor:
    """Records every command (``shlex.join`` of it) with its keyword arguments; answers scripted output.

    ``on(prefix, stdout)`` answers commands starting with ``prefix`` (the newest rule wins); ``stdout`` may be
    a callable taking the argv, or an exception to raise.
    """

    def __init__(self) -> None:
        self.commands: list[str] = []
        self.kwargs: list[dict[str, Any]] = []
        self._rules: list[tuple[str, Any]] = []

    def on(self, prefix: str, stdout: Any) -> None:
        self._rules.append((prefix, stdout))

    def __call__(self, *cmd: str, **kwargs: Any) -> tuple[str, str]:
        assert all(isinstance(c, str) for c in cmd), cmd
        line = shlex.join(cmd)
        self.commands.append(line)
        self.kwargs.append(kwargs)
        for prefix, answer in reversed(self._rules):
            if line.startswith(prefix):
                try:
                    if isinstance(answer, Exception):
                        raise answer
                    return (answer(cmd) if callable(answer) else answer), ""
                except exception.ProcessExecutionError as exc:
                    allowed = kwargs.get("check_exit_code", True)
                    if allowed is False or (allowed is not True and exc.exit_code in allowed):
                        return exc.stdout, exc.stderr
                    raise
        return "", ""

    def matching(self, word: str) -> list[str]:
        return [c for c in self.commands if c.split()[0] == word]


def failure(cmd: str, exit_code: int, stderr: str) -> exception.ProcessExecutionError:
    return exception.ProcessExecutionError(cmd=cmd, exit_code=exit_code, stderr=stderr)


class FakeTgtd:
    """Interprets tgtadm commands into targets and accounts, and shows them in tgtadm's own layout."""

    def __init__(self) -> None:
        self.targets: dict[int, dict[str, Any]] = {}
        self.accounts: dict[str, str] = {}

    def restart(self) -> None:
        self.targets.clear()
        self.accounts.clear()

    def __call__(self, argv: tuple[str, ...]) -> str:
        args = list(argv[1:])
        if args[0] == "-C":
            args = args[2:]
        opts: dict[str, str] = {}
        flags = set()
        i = 2  # past --lld iscsi
        while i < len(args):
            if i + 1 < len(args) and not args[i + 1].startswith("-"):
                opts[args[i]] = args[i + 1]
                i += 2
            else:
                flags.add(args[i])
                i += 1
        op, mode = opts["--op"], opts["--mode"]
        handler: Callable[..., str] = getattr(self, f"_{op}_{mode}")
        return handler(opts, flags)

    def _missing(self, what: str) -> exception.ProcessExecutionError:
        return failure("tgtadm", 22, f"tgtadm: can't find the {what}")

    def _target(self, opts: dict[str, str]) -> dict[str, Any]:
        tid = int(opts["--tid"])
        if tid not in self.targets:
            raise self._missing("target")
        return self.targets[tid]

    def _new_target(self, opts, flags) -> str:
        tid = int(opts["--tid"])
        if tid in self.targets:
            raise failure("tgtadm", 22, "tgtadm: this target already exists")
        self.targets[tid] = {"iqn": opts["-T"], "luns": {}, "accounts": [], "acls": [], "sessions": 0}
        return ""

    def _delete_target(self, opts, flags) -> str:
        target = self._target(opts)
        if target["sessions"] and "--force" not in flags:
            raise failure("tgtadm", 22, "tgtadm: this target is still active")
        del self.targets[int(opts["--tid"])]
        return ""

    def _new_logicalunit(self, opts, flags) -> str:
        self._target(opts)["luns"][int(opts["--lun"])] = opts["-b"]
        return ""

    def _delete_logicalunit(self, opts, flags) -> str:
        luns = self._target(opts)["luns"]
        if int(opts["--lun"]) not in luns:
            raise self._missing("logical unit")
        del luns[int(opts["--lun"])]
        return ""

    def _bind_target(self, opts, flags) -> str:
        self._target(opts)["acls"].append(opts["-I"])
        return ""

    def _unbind_target(self, opts, flags) -> str:
        acls = self._target(opts)["acls"]
        if opts["-I"] not in acls:
            raise failure("tgtadm", 22, "tgtadm: this access control rule does not exist")
        acls.remove(opts["-I"])
        return ""

    def _new_account(self, opts, flags) -> str:
        self.accounts[opts["--user"]] = opts["--password"]
        return ""

    def _delete_account(self, opts, flags) -> str:
        if opts["--user"] not in self.accounts:
            raise self._missing("account")
        del self.accounts[opts["--user"]]
        return ""

    def _bind_account(self, opts, flags) -> str:
        if opts["--user"] not in self.accounts:
            raise self._missing("account")
        self._target(opts)["accounts"].append(opts["--user"])
        return ""

    def _unbind_account(self, opts, flags) -> str:
        self._target(opts)["accounts"].remove(opts["--user"])
        return ""

    def _show_account(self, opts, flags) -> str:
        return "Account list:\n" + "".join(f"    {user}\n" for user in self.accounts)

    def _show_target(self, opts, flags) -> str:
        out = []
        for tid, target in sorted(self.targets.items()):
            out.append(f"Target {tid}: {target['iqn']}\n    System information:\n        Driver: iscsi\n"
                       f"        State: ready\n    I_T nexus information:\n    LUN information:\n")
            for lun, path in sorted({0: "None", **target["luns"]}.items()):
                out.append(f"        LUN: {lun}\n            Type: {'controller' if lun == 0 else 'disk'}\n"
                           f"            Backing store path: {path}\n            Backing store flags: \n")
            out.append("    Account information:\n" + "".join(f"        {u}\n" for u in target["accounts"]))
            out.append("    ACL information:\n" + "".join(f"        {a}\n" for a in target["acls"]))
        return "".join(out)
