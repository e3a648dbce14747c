"""nova-api driven by the real OpenStack clients: the ``openstack`` command line and openstacksdk, with
nothing but the environment ``nova-manage project environment`` writes.

The daemons are started once for the module (``os_cloud``) on a private
RabbitMQ virtual host, so more flows (compute, once the OpenStack compute API
is served) can be added here without paying for another start.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

import openstack
import pytest

from tests.fixtures import services
from tests.fixtures.daemons import Cloud, ROOT, free_port, read_novarc, wait_for
from tests.functional.osc_runner import CliResult, CliRunner

PORTS = ("ec2_port", "osapi_port", "identity_port", "image_api_port", "network_api_port")


def _openstack_command() -> list[str]:
    found = shutil.which("openstack")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from openstackclient.shell import main; sys.exit(main())"]


class OpenStackCloud:
    """nova-api on RabbitMQ from a flagfile, with users alice (proj-a) and bob (proj-b) and their novarcs."""

    def __init__(self, tmp_path, rabbit_url: str, compute: bool = False) -> None:
        """``compute``: also nova-scheduler, nova-compute (fake driver) and nova-network (--fake_network),
        a network for them and a floating pool."""
        self.tmp_path = tmp_path
        self.cli = CliRunner()
        self.cloud = Cloud(tmp_path, rabbit_url)
        self.ports = {name: free_port() for name in PORTS}
        with open(self.cloud.flagfile, "a") as handle:
            handle.write("\n".join([
                "--network_manager=nova.network.manager.FlatManager", "--root_helper=", "--metadata_port=0",
                "--ec2_listen=127.0.0.1", "--osapi_listen=127.0.0.1", "--identity_listen=127.0.0.1",
                "--image_api_listen=127.0.0.1", "--network_api_listen=127.0.0.1", "--ec2_host=127.0.0.1",
                "--osapi_host=127.0.0.1", "--network_api_host=127.0.0.1",
                "--identity_host=127.0.0.1", "--image_api_host=127.0.0.1", "--s3_host=127.0.0.1",
                *[f"--{name}={port}" for name, port in self.ports.items()],
                f"--api_paste_config={os.path.join(ROOT, 'etc', 'nova', 'api-paste.ini')}",
            ]) + "\n")
        self.cloud.sync_db()
        if compute:
            self.cloud.manage("network", "create", "10.0.0.0/24", "1", "256")
            self.cloud.manage("floating", "create", "net", "172.24.4.0/29")
            for binary, host in (("nova-scheduler", "sched"), ("nova-network", "net"), ("nova-compute", "c1")):
                self.cloud.start(binary, f"--host={host}")
        self.api = self.cloud.start("nova-api", "--host=api")
        # the daemons start meanwhile
        self.cloud.create_users(("alice", "proj-a"), ("bob", "proj-b"), netadmin=compute)
        for user, project in (("alice", "proj-a"), ("bob", "proj-b")):
            self.cloud.manage("project", "environment", project, user, str(tmp_path / f"novarc-{user}"))
        if compute:
            wanted = {("sched", "nova-scheduler"), ("net", "nova-network"), ("c1", "nova-compute")}
            wait_for(lambda: self.cloud.services_up(*wanted), timeout=60, what="services up")
        for name in ("osapi_port", "identity_port", "image_api_port", "network_api_port"):
            wait_for(lambda: self._listening(self.ports[name]), timeout=30, what=f"nova-api on --{name}")

    @staticmethod
    def _listening(port: int) -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    def env(self, user: str) -> dict[str, str]:
        return read_novarc(str(self.tmp_path / f"novarc-{user}"))

    def cli_env(self, user: str) -> dict[str, str]:
        """The environment of ``source novarc-<user>``, with no other OpenStack configuration."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update(self.env(user), HOME=str(self.tmp_path), OS_CLIENT_CONFIG_FILE=os.devnull)
        return env

    def run_cli(self, user: str, *args: str) -> CliResult:
        """``openstack <args>`` as the user (in the shared worker, see tests/functional/osc_runner.py)."""
        return self.cli.run(list(args), self.cli_env(user))

    def openstack(self, user: str, *args: str, parse: bool = True):
        """Run the ``openstack`` CLI expecting success; its parsed JSON output (or its text)."""
        result = self.run_cli(user, *args, *(["-f", "json"] if parse else []))
        assert result.returncode == 0, f"openstack {' '.join(args)}: {result.stderr}\n{self.api.log()[-3000:]}"
        return json.loads(result.stdout) if parse else result.stdout

    def close(self) -> None:
        self.cli.close()
        self.cloud.cleanup()

    def connect(self, user: str, monkeypatch) -> openstack.connection.Connection:
        """``openstack.connect()`` from the novarc's environment, as a script after ``source novarc``."""
        for name in [k for k in os.environ if k.startswith("OS_")]:
            monkeypatch.delenv(name)
        for name, value in self.env(user).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", os.devnull)
        return openstack.connect()


@pytest.fixture(scope="module")
def os_cloud(tmp_path_factory, vhost_pool):
    vhost, url = vhost_pool.take(services.rabbit_url())
    cloud = None
    try:
        cloud = OpenStackCloud(tmp_path_factory.mktemp("openstack"), url)
        yield cloud
    finally:
        if cloud is not None:
            cloud.close()
        vhost_pool.give_back(vhost)


def test_novarc_names_the_endpoints(os_cloud):
    env = os_cloud.env("alice")
    assert env["OS_AUTH_URL"] == f"http://127.0.0.1:{os_cloud.ports['identity_port']}/v3"
    assert env["NOVA_URL"] == f"http://127.0.0.1:{os_cloud.ports['osapi_port']}/v2.1"
    assert (env["OS_USERNAME"], env["OS_PASSWORD"], env["OS_PROJECT_NAME"]) == ("alice", "SK-alice", "proj-a")


@pytest.mark.timeout(300)
def test_token_catalog_and_images_with_the_cli(os_cloud):
    token = os_cloud.openstack("alice", "token", "issue")
    assert (token["project_id"], token["user_id"]) == ("proj-a", "alice")
    catalog = {entry["Type"]: entry for entry in os_cloud.openstack("alice", "catalog", "list")}
    assert set(catalog) == {"compute", "image", "identity", "network"}
    assert f":{os_cloud.ports['network_api_port']}" in json.dumps(catalog["network"]["Endpoints"])
    assert f":{os_cloud.ports['image_api_port']}" in json.dumps(catalog["image"]["Endpoints"])

    disk = os_cloud.tmp_path / "disk.raw"
    disk.write_bytes(b"\0" * 4096 + b"a small disk")
    created = os_cloud.openstack("alice", "image", "create", "--file", str(disk), "--disk-format", "raw",
                                 "--container-format", "bare", "cli-image")
    assert created["status"] == "active" and created["size"] == disk.stat().st_size
    listed = os_cloud.openstack("alice", "image", "list")
    assert [(i["Name"], i["Status"]) for i in listed] == [("cli-image", "active")]
    shown = os_cloud.openstack("alice", "image", "show", "cli-image")
    assert (shown["id"], shown["disk_format"], shown["owner"]) == (created["id"], "raw", "proj-a")
    assert os_cloud.openstack("bob", "image", "list") == []
    os_cloud.openstack("alice", "image", "delete", "cli-image", parse=False)
    assert os_cloud.openstack("alice", "image", "list") == []


@pytest.mark.timeout(300)
def test_images_with_openstacksdk(os_cloud, monkeypatch):
    conn = os_cloud.connect("alice", monkeypatch)
    data = os.urandom(300_000)
    image = conn.image.create_image("sdk-image", data=data, disk_format="raw", container_format="bare",
                                    allow_duplicates=True)
    assert [i.name for i in conn.image.images()] == ["sdk-image"]
    found = conn.image.find_image("sdk-image")
    assert found.id == image.id and found.status == "active"
    assert conn.image.download_image(found).content == data
    bob = os_cloud.connect("bob", monkeypatch)
    assert list(bob.image.images()) == []
    assert bob.image.find_image(image.id) is None
    conn.image.delete_image(found)
    assert list(conn.image.images()) == []


@pytest.mark.timeout(300)
def test_a_password_set_with_nova_manage(os_cloud):
    os_cloud.cloud.manage("user", "create", "carol", "AK-carol", "SK-carol")
    os_cloud.cloud.manage("project", "add", "proj-a", "carol")
    result = subprocess.run([sys.executable, os.path.join(ROOT, "bin", "nova-manage"),
                             f"--flagfile={os_cloud.cloud.flagfile}", "user", "password", "carol"],
                            input="horse battery staple\n", capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rc = os_cloud.tmp_path / "novarc-carol"
    os_cloud.cloud.manage("project", "environment", "proj-a", "carol", str(rc))
    assert "OS_PASSWORD" not in os_cloud.env("carol") and "# OS_PASSWORD is not written" in rc.read_text()
    with open(rc, "a") as handle:
        handle.write('export OS_PASSWORD="horse battery staple"\n')
    assert os_cloud.openstack("carol", "token", "issue")["user_id"] == "carol"
    with open(rc, "a") as handle:
        handle.write('export OS_PASSWORD="SK-carol"\n')
    # the real ``openstack`` executable, once (the other commands run in the shared worker)
    refused = subprocess.run([*_openstack_command(), "token", "issue"], capture_output=True, text=True,
                             env=os_cloud.cli_env("carol"), timeout=120)
    assert refused.returncode != 0 and "401" in refused.stderr
