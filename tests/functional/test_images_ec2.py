"""The first Nova's image flow with real processes and real clients.

``nova-manage image bundle`` makes a bundle, ``aws s3 cp`` uploads it to
nova-objectstore, ``aws ec2 register-image`` registers it through nova-api,
it becomes ``available``, and an instance launched from it on a
nova-compute with libvirt's test driver has a disk that reads back as the
image's bytes.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys

import pytest

from tests.fixtures.daemons import free_port, wait_for
from tests.functional.test_ec2 import Ec2Cloud
from tests.functional.test_objectstore import _listening

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def image_cloud(cloud, rabbit_vhost, tmp_path):
    s3_port = free_port()
    with open(cloud.flagfile, "a") as handle:
        handle.write(f"--s3_host=127.0.0.1\n--s3_port={s3_port}\n--s3_listen=127.0.0.1\n")
    # A compute host on libvirt's test driver; the fake one is disabled so instances land here.
    libvirt_compute = ("nova-compute", "--host=lv1", "--connection_type=libvirt", "--libvirt_uri=test:///default")
    ec2 = Ec2Cloud(cloud, tmp_path, also=(("nova-objectstore",), libvirt_compute))
    store = next(daemon for daemon in cloud.daemons if daemon.binary == "nova-objectstore")
    wait_for(lambda: _listening(s3_port), 30, what="nova-objectstore")
    wait_for(lambda: cloud.services_up(("lv1", "nova-compute")), 60, what="libvirt compute")
    cloud.manage("service", "disable", "c1", "nova-compute")
    yield ec2, store, s3_port


def _aws(ec2, user: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") or k == "AWS_DATA_PATH"}
    env.update(ec2.env(user))
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    return subprocess.run([sys.executable, "-m", "awscli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_bundle_upload_register_and_boot(image_cloud, cloud, tmp_path):
    ec2, store, s3_port = image_cloud
    image = tmp_path / "guest.img"
    image.write_bytes(os.urandom(3 * 1024 * 1024))
    manifest = cloud.manage("image", "bundle", str(image), str(tmp_path / "bundle")).stdout.strip()
    assert os.path.exists(manifest)
    env = ec2.env("alice")
    assert env["S3_URL"] == f"http://127.0.0.1:{s3_port}"
    for args in (("s3", "mb", "s3://alice-bundles"),
                 ("s3", "cp", "--recursive", str(tmp_path / "bundle"), "s3://alice-bundles/guest/")):
        result = _aws(ec2, "alice", *args)
        assert result.returncode == 0, result.stderr
    result = _aws(ec2, "alice", "ec2", "register-image", "--image-location",
                  "alice-bundles/guest/guest.img.manifest.xml", "--name", "guest", "--output", "json")
    assert result.returncode == 0, result.stderr + ec2.api.log()[-2000:]
    image_id = __import__("json").loads(result.stdout)["ImageId"]
    client = ec2.client("alice")
    shown = wait_for(lambda: (i := client.describe_images(ImageIds=[image_id])["Images"][0])["State"] != "pending"
                     and i, 60, what="image registered")
    assert shown["State"] == "available", shown

    # Another project cannot register alice's bundle.
    denied = _aws(ec2, "bob", "ec2", "register-image", "--image-location",
                  "alice-bundles/guest/guest.img.manifest.xml", "--name", "stolen")
    assert denied.returncode != 0 and "AuthFailure" in denied.stderr

    instance_id = client.run_instances(ImageId=image_id, MinCount=1, MaxCount=1,
                                       InstanceType="m1.tiny")["Instances"][0]["InstanceId"]
    client.get_waiter("instance_running").wait(InstanceIds=[instance_id],
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 90})
    disks = glob.glob(str(tmp_path / "instances" / "*" / "disk"))
    assert len(disks) == 1
    readback = tmp_path / "readback.raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", disks[0], str(readback)], check=True, timeout=120)
    assert readback.read_bytes() == image.read_bytes()
    client.terminate_instances(InstanceIds=[instance_id])
    assert "Traceback" not in store.log()
