"""Images end to end with processes: nova-manage image, and a bundle registered from nova-objectstore."""

import os
import re

import boto3
import pytest

from tests.fixtures.daemons import Cloud, free_port, wait_for
from tests.functional.test_objectstore import _listening

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def cloud(tmp_path):
    c = Cloud(tmp_path, rabbit_url=None)
    c.sync_db()
    c.manage("user", "create", "demo", "demo-key", "demo-secret")
    c.manage("project", "create", "proj", "demo")
    c.manage("credentials", "create", "demo", "proj", "demo-proj-key", "demo-proj-secret")  # what boto3 signs with
    yield c
    c.cleanup()


def test_manage_image_register_list_and_errors(cloud, tmp_path):
    kernel = tmp_path / "vmlinuz"
    kernel.write_bytes(os.urandom(3 * 1024 * 1024))
    result = cloud.manage("image", "kernel_register", str(kernel), "proj")
    aki = result.stdout.strip()
    assert re.fullmatch(r"aki-[0-9a-f]{8}", aki)
    assert "100%" in result.stderr and "3.0/3.0 MiB" in result.stderr  # the progress bar
    ramdisk = tmp_path / "initrd"
    ramdisk.write_bytes(b"ramdisk")
    ari = cloud.manage("image", "ramdisk_register", str(ramdisk), "proj").stdout.strip()
    assert ari.startswith("ari-")
    disk = tmp_path / "disk.img"
    disk.write_bytes(os.urandom(100_000))
    ami = cloud.manage("image", "image_register", str(disk), "proj", "my disk", "F", "x86_64", aki, ari).stdout.strip()
    assert ami.startswith("ami-")
    listing = cloud.manage("image", "list").stdout
    assert re.search(rf"{ami}\s+my disk\s+machine\s+available\s+proj\s+private", listing)
    assert re.search(rf"{aki}\s+vmlinuz\s+kernel\s+available\s+proj\s+public", listing)
    stored = [f for f in os.listdir(tmp_path / "images") if not f.startswith(".")]
    assert len(stored) == 3
    # Mistakes: one line, no traceback, nothing registered.
    backed = tmp_path / "backed.qcow2"
    backed.write_bytes(b"QFI\xfb" + (3).to_bytes(4, "big") + (512).to_bytes(8, "big") + bytes(600))
    for args in (("image_register", str(backed), "proj"), ("image_register", str(tmp_path / "missing"), "proj"),
                 ("image_register", str(disk), "no-such-project"), ("kernel_register", str(kernel), "proj", "k", "X")):
        result = cloud.manage("image", *args, check=False)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.startswith("nova-manage: error: ")
    assert len(cloud.manage("image", "list").stdout.strip().splitlines()) == 4


def test_bundle_tool_upload_and_register_from_the_objectstore(cloud, tmp_path):
    """The first Nova's flow: bundle, upload the parts, register the manifest."""
    from nova import context, flags
    from nova.image import get_default_image_service
    from nova.image.s3 import S3ImageRegistrar
    from tests.fixtures.database import use_database

    image = tmp_path / "guest.img"
    image.write_bytes(os.urandom(25 * 1024 * 1024))
    manifest = cloud.manage("image", "bundle", str(image), str(tmp_path / "bundle")).stdout.strip()
    assert manifest.endswith("guest.img.manifest.xml")
    parts = sorted(n for n in os.listdir(tmp_path / "bundle") if ".part." in n)
    assert len(parts) == 3  # 10 MiB parts of random (incompressible) data
    port = free_port()
    daemon = cloud.start("nova-objectstore", f"--s3_port={port}", "--s3_listen=127.0.0.1")
    wait_for(lambda: _listening(port), 30, what="nova-objectstore to listen")
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="nova",
                      aws_access_key_id="demo-proj-key", aws_secret_access_key="demo-proj-secret")
    s3.create_bucket(Bucket="bundles")
    for name in os.listdir(tmp_path / "bundle"):
        s3.upload_file(str(tmp_path / "bundle" / name), "bundles", "guest/" + name)
    # Register in this process against the same database and state (as nova-api would).
    flags.FLAGS.state_path = str(tmp_path)
    flags.FLAGS.s3_host, flags.FLAGS.s3_port = "127.0.0.1", port
    use_database(f"sqlite:///{tmp_path}/nova.sqlite")
    ctxt = context.RequestContext("demo", "proj")
    registered = S3ImageRegistrar().register(ctxt, "bundles/guest/guest.img.manifest.xml", wait=True)
    assert registered["state"] == "available", registered["properties"]
    fetched = tmp_path / "fetched.img"
    get_default_image_service().download(ctxt, registered["id"], str(fetched))
    assert fetched.read_bytes() == image.read_bytes()
    assert f"ami-{registered['id']:08x}" in cloud.manage("image", "list").stdout
    assert "Traceback" not in daemon.log()
    from nova.db.sqlalchemy import session

    session.reset()
