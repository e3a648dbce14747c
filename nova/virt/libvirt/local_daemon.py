"""virtlogd and libvirtd started by nova itself, inside a network namespace.

libvirt puts a guest's tap on a bridge of its own network namespace, so the
libvirtd of a cloud whose bridge lives in a namespace (nova-combined's
``--combined_netns``, the real-guest tests) must run in that namespace.
There is one ``qemu:///system`` daemon per machine (fixed socket paths): a
libvirtd already running in the same namespace is used as it is, one running
anywhere else is refused.  Only the daemons started here are stopped, by PID.

libvirtd runs with ``/dev/kvm`` hidden (a private mount namespace binds an
empty file over it).  Where the KVM device exists but cannot run the guests
(or only root may open it), libvirt's capability probe finds KVM and its
cache check does not, so it probes QEMU again on every lookup, about 4 s each
and 50 s for one defineXML.  Without the device both agree on TCG and the
probe is done once (and cached).  The same mount namespace gives libvirtd a
``qemu.conf`` of its own with ``namespaces = []`` (a domain's private /dev
would otherwise try to move that bind mount, and fail) and whatever lines the
caller adds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Iterable

from nova import exception

URI = "qemu:///system"
PIDFILE = "/run/libvirtd.pid"
VIRTLOGD_PIDFILE = "/run/virtlogd.pid"
TOOLS = ("qemu-system-x86_64", "qemu-img", "libvirtd", "virtlogd", "ip", "unshare")


def missing_tools(extra: Iterable[str] = ()) -> list[str]:
    """The programs a local libvirtd with QEMU guests needs that are not on PATH."""
    return [tool for tool in (*TOOLS, *extra) if shutil.which(tool) is None]


def running_pid(pidfile: str) -> int | None:
    """The pid in ``pidfile`` if that process runs, else None."""
    try:
        with open(pidfile) as handle:
            pid = int(handle.read().split()[0])
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError, IndexError):
        return None


def same_netns(pid: int, netns: str) -> bool:
    """Whether process ``pid`` runs in the named network namespace."""
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{netns}").st_ino
    except OSError:
        return False


def _open(uri: str):
    import libvirt

    libvirt.registerErrorHandler(lambda *args: None, None)
    return libvirt, libvirt.open(uri)


class LocalLibvirtd:
    """virtlogd and libvirtd in ``netns``; ``stop()`` ends what ``start()`` started.

    ``qemu_conf`` lines go into libvirtd's own ``qemu.conf`` (after
    ``namespaces = []``), e.g. ``user = "root"`` so QEMU reads disks under a
    folder only root may enter.
    """

    def __init__(self, netns: str, log_dir: str, qemu_conf: Iterable[str] = ()) -> None:
        self.netns, self.log_dir = netns, log_dir
        self.qemu_conf = list(qemu_conf)
        self.procs: list[subprocess.Popen] = []
        self.reused: int | None = None  # pid of a libvirtd that already ran in the namespace

    def command(self, name: str) -> list[str]:
        """The command line that starts daemon ``name`` in the namespace."""
        command = [name]
        if name == "libvirtd" and (os.path.exists("/dev/kvm") or self.qemu_conf):
            no_kvm, qemu_conf = os.path.join(self.log_dir, "no-kvm"), os.path.join(self.log_dir, "qemu.conf")
            binds = ""
            if os.path.exists("/dev/kvm"):
                open(no_kvm, "w").close()
                os.chmod(no_kvm, 0o600)
                binds = 'mount --bind "$0" /dev/kvm && '
            with open(qemu_conf, "w") as handle:
                handle.write("\n".join(["namespaces = []", *self.qemu_conf]) + "\n")
            command = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                       binds + 'mount --bind "$1" /etc/libvirt/qemu.conf && exec libvirtd', no_kvm, qemu_conf]
        return ["ip", "netns", "exec", self.netns, *command]

    def _spawn(self, name: str) -> subprocess.Popen:
        log = open(os.path.join(self.log_dir, f"{name}.log"), "ab")
        try:
            proc = subprocess.Popen(self.command(name), stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        finally:
            log.close()
        self.procs.append(proc)
        return proc

    def start(self, timeout: float = 90) -> None:
        """Start the daemons (or use the libvirtd already in the namespace) and wait until ``URI`` answers.

        Raises LibvirtdUnavailable with one line saying why it cannot.
        """
        import libvirt

        libvirt.registerErrorHandler(lambda *args: None, None)
        other = running_pid(PIDFILE)
        if other is not None and not same_netns(other, self.netns):
            raise exception.LibvirtdUnavailable(
                reason=f"a libvirtd not started here runs (pid {other}) outside the namespace {self.netns}; "
                       "stop it first (systemctl stop libvirtd.service libvirtd.socket libvirtd-ro.socket "
                       "libvirtd-admin.socket)")
        daemon = None
        if other is None:
            os.makedirs(self.log_dir, exist_ok=True)
            if running_pid(VIRTLOGD_PIDFILE) is None:
                self._spawn("virtlogd")
            daemon = self._spawn("libvirtd")
        else:
            self.reused = other
        deadline = time.monotonic() + timeout
        while True:
            try:
                libvirt.open(URI).close()
                return
            except libvirt.libvirtError as exc:
                if daemon is not None and daemon.poll() is not None:
                    self.stop_daemons()
                    raise exception.LibvirtdUnavailable(
                        reason=f"libvirtd exited ({daemon.returncode}); see {self.log_dir}/libvirtd.log") from None
                if time.monotonic() > deadline:
                    self.stop_daemons()
                    raise exception.LibvirtdUnavailable(
                        reason=f"libvirtd not ready after {timeout:.0f}s: {exc}") from None
            time.sleep(0.3)

    def stop_daemons(self) -> None:
        """SIGTERM (then SIGKILL) to the daemons ``start()`` started, by PID."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        self.procs = []

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in self.procs if proc.poll() is None]


def remove_domains(uri: str = URI, prefix: str = "instance-") -> None:
    """Destroy and undefine every domain named ``prefix...`` (libvirt keeps definitions across restarts)."""
    try:
        libvirt, conn = _open(uri)
    except Exception:  # libvirt missing or not answering: nothing to remove
        return
    try:
        for domain in conn.listAllDomains(0):
            if not domain.name().startswith(prefix):
                continue
            try:
                if domain.isActive():
                    domain.destroy()
                domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
            except libvirt.libvirtError:
                pass
    finally:
        conn.close()


def power_off_domains(names: Iterable[str], uri: str = URI, timeout: float = 10) -> list[str]:
    """Press the ACPI power button of the running domains ``names``, destroy those still running after
    ``timeout`` seconds; their definitions and disks stay.  Returns the names powered off."""
    wanted = set(names)
    try:
        libvirt, conn = _open(uri)
    except Exception:
        return []
    try:
        running = [d for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE) if d.name() in wanted]
        for domain in running:
            try:
                domain.shutdown()
            except libvirt.libvirtError:
                pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(_active(libvirt, d) for d in running):
            time.sleep(0.2)
        for domain in running:
            if _active(libvirt, domain):
                try:
                    domain.destroy()
                except libvirt.libvirtError:
                    pass
        return sorted(d.name() for d in running)
    finally:
        conn.close()


def _active(libvirt, domain) -> bool:
    try:
        return bool(domain.isActive())
    except libvirt.libvirtError:
        return False
