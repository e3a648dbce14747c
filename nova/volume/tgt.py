"""iSCSI targets through tgt's ``tgtadm --lld iscsi``: one target per volume.

A volume's target has tid ``target_num`` (allocated by the manager), the
volume's IQN, LUN 1 backed by the volume's local path (LUN 0 is tgt's
controller), the initiator ACL ``ALL`` and, with CHAP, one incoming account
of its own.  tgtd keeps all of this in memory only, so ``ensure`` reads
``tgtadm --op show --mode target`` and adds whatever is missing: after a
restart of tgtd it rebuilds the whole export.  ``remove`` deletes only what
``show`` lists, so both are idempotent.

``--tgtadm_control_port`` (``tgtadm -C N``) talks to a tgtd started with
``--control-port N``, so several tgtd can run side by side (tests).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import secrets
import string
from typing import Callable

from nova import exception, flags

FLAGS = flags.FLAGS
LOG = logging.getLogger(__name__)

flags.DEFINE_string("iscsi_ip_address", "$my_ip", "Address compute hosts use to reach this host's iSCSI targets")
flags.DEFINE_integer("iscsi_port", 3260, "Port of this host's iSCSI portal (tgtd)", lower_bound=1)
flags.DEFINE_string("iscsi_target_prefix", "iqn.2010-10.org.openstack:",
                    "Prefix of a volume's iSCSI target name; the volume's name follows it")
flags.DEFINE_integer("tgtadm_control_port", 0,
                     "tgtd control port (up to 32767) tgtadm talks to (tgtadm -C N, for a tgtd started with "
                     "--control-port N); 0 for tgtadm's default", lower_bound=0)
flags.DEFINE_boolean("iscsi_use_chap", False,
                     "Protect each new export with its own CHAP user and secret (kept in the volume's provider_auth)")

Execute = Callable[..., "tuple[str, str]"]
CHAP_ALPHABET = string.ascii_letters + string.digits


@dataclasses.dataclass
class Target:
    """One target as ``tgtadm --op show --mode target`` lists it."""

    tid: int
    iqn: str
    luns: dict[int, str] = dataclasses.field(default_factory=dict)  # LUN -> backing store path ("None" for 0)
    accounts: list[str] = dataclasses.field(default_factory=list)
    acls: list[str] = dataclasses.field(default_factory=list)


def parse_targets(text: str) -> dict[int, Target]:
    """Targets by tid from the text of ``tgtadm --op show --mode target``."""
    targets: dict[int, Target] = {}
    current: Target | None = None
    section, lun = "", None
    for line in text.splitlines():
        stripped = line.strip()
        head = re.match(r"Target (\d+): (\S+)$", line)
        if head:
            current = Target(int(head.group(1)), head.group(2))
            targets[current.tid] = current
            section, lun = "", None
            continue
        if current is None or not stripped:
            continue
        indent = len(line) - len(line.lstrip())
        if indent == 4:
            section = stripped.rstrip(":")
        elif section == "LUN information":
            match = re.match(r"LUN: (\d+)$", stripped)
            if match:
                lun = int(match.group(1))
                current.luns[lun] = ""
            elif lun is not None and stripped.startswith("Backing store path:"):
                current.luns[lun] = stripped.split(":", 1)[1].strip()
        elif section == "Account information" and indent == 8:
            if not stripped.endswith("(outgoing)"):
                current.accounts.append(stripped)
        elif section == "ACL information" and indent == 8:
            current.acls.append(stripped)
    return targets


def parse_accounts(text: str) -> list[str]:
    """User names from ``tgtadm --op show --mode account`` ("Account list:" then one name a line)."""
    return [line.strip() for line in text.splitlines()[1:] if line.strip()]


def generate_chap() -> tuple[str, str]:
    """A fresh CHAP user and secret: letters and digits only, so they fit in an ``iscsi://user%secret@`` URL."""
    user = "".join(secrets.choice(CHAP_ALPHABET) for _ in range(20))
    secret = "".join(secrets.choice(CHAP_ALPHABET) for _ in range(16))
    return user, secret


class TgtAdm:
    """The tgtadm commands of one tgtd (see the module docstring)."""

    def __init__(self, execute: Execute) -> None:
        self._execute = execute

    def _tgtadm(self, *args: str | int) -> str:
        cmd: list[str | int] = ["tgtadm"]
        if FLAGS.tgtadm_control_port:
            cmd += ["-C", FLAGS.tgtadm_control_port]
        cmd += ["--lld", "iscsi", *args]
        try:
            return self._execute(*[str(c) for c in cmd], run_as_root=True)[0]
        except exception.ProcessExecutionError as exc:
            if exc.exit_code == 107 or "not connected" in (exc.stderr or "") or "No such file" in (exc.stderr or ""):
                port = f" on control port {FLAGS.tgtadm_control_port}" if FLAGS.tgtadm_control_port else ""
                raise exception.VolumeDriverError(
                    reason=f"tgtd is not running{port}: start tgtd (Debian package tgt) or set --tgtadm_control_port "
                           f"to the --control-port of the tgtd to use ({exc.stderr.strip()})") from None
            raise

    def show(self) -> dict[int, Target]:
        return parse_targets(self._tgtadm("--op", "show", "--mode", "target"))

    def accounts(self) -> list[str]:
        return parse_accounts(self._tgtadm("--op", "show", "--mode", "account"))

    def ensure(self, tid: int, iqn: str, path: str, chap: tuple[str, str] | None = None) -> None:
        """Make target ``tid`` export ``path`` as LUN 1 under ``iqn`` to everyone (with ``chap``: to that user)."""
        target = self.show().get(tid)
        if target is not None and target.iqn != iqn:
            raise exception.VolumeDriverError(
                reason=f"iSCSI target {tid} already exports {target.iqn}, not {iqn}: the target numbers of this "
                       f"host's volumes disagree with tgtd")
        if target is None:
            LOG.info("Creating iSCSI target %s (%s)", tid, iqn)
            self._tgtadm("--op", "new", "--mode", "target", "--tid", tid, "-T", iqn)
            target = Target(tid, iqn)
        if 1 in target.luns and target.luns[1] != path:
            LOG.warning("iSCSI target %s exported %s instead of %s; replacing its LUN 1", tid, target.luns[1], path)
            self._tgtadm("--op", "delete", "--mode", "logicalunit", "--tid", tid, "--lun", 1)
            del target.luns[1]
        if 1 not in target.luns:
            self._tgtadm("--op", "new", "--mode", "logicalunit", "--tid", tid, "--lun", 1, "-b", path)
        if chap is not None:
            user, secret = chap
            if user not in self.accounts():
                self._tgtadm("--op", "new", "--mode", "account", "--user", user, "--password", secret)
            if user not in target.accounts:
                self._tgtadm("--op", "bind", "--mode", "account", "--tid", tid, "--user", user)
        if "ALL" not in target.acls:
            self._tgtadm("--op", "bind", "--mode", "target", "--tid", tid, "-I", "ALL")

    def remove(self, tid: int, iqn: str) -> None:
        """Delete target ``tid`` with its LUNs, ACLs and accounts, if it is ``iqn``'s; nothing when it is gone."""
        target = self.show().get(tid)
        if target is None:
            return
        if target.iqn != iqn:
            LOG.warning("iSCSI target %s exports %s, not %s: left alone", tid, target.iqn, iqn)
            return
        LOG.info("Removing iSCSI target %s (%s)", tid, iqn)
        for acl in target.acls:
            self._tgtadm("--op", "unbind", "--mode", "target", "--tid", tid, "-I", acl)
        for user in target.accounts:
            self._tgtadm("--op", "unbind", "--mode", "account", "--tid", tid, "--user", user)
            self._tgtadm("--op", "delete", "--mode", "account", "--user", user)
        for lun in sorted(target.luns):
            if lun != 0:
                self._tgtadm("--op", "delete", "--mode", "logicalunit", "--tid", tid, "--lun", lun)
        try:
            self._tgtadm("--op", "delete", "--mode", "target", "--tid", tid)
        except exception.ProcessExecutionError as exc:
            if "still active" not in (exc.stderr or ""):
                raise
            # An initiator is still logged in: the ACL and LUN are gone already, so end its session too.
            self._tgtadm("--op", "delete", "--mode", "target", "--tid", tid, "--force")
