"""Registering images from the objectstore: bundles and plain files, good and bad."""

import os

import pytest

from nova import context, exception, flags
from nova.image import bundle, get_default_image_service
from nova.image.s3 import S3ImageRegistrar
from tests.fixtures.objectstore import client_for

FLAGS = flags.FLAGS


@pytest.fixture
def env(objectstore, tmp_path):
    FLAGS.s3_host = "127.0.0.1"
    FLAGS.s3_port = objectstore.port
    s3 = client_for(objectstore)
    s3.create_bucket(Bucket="images")
    ctxt = context.RequestContext("alice", "proj-a")
    return s3, ctxt, S3ImageRegistrar()


def _upload_bundle(s3, tmp_path, image, prefix="bundles/", **kwargs):
    out = tmp_path / "bundle-out"
    manifest = bundle.make_bundle(str(image), str(out), part_size=400_000, **kwargs)
    for name in os.listdir(out):
        s3.upload_file(str(out / name), "images", prefix + name)
    return f"images/{prefix}{os.path.basename(manifest)}", out


def _image_files():
    root = os.path.abspath(FLAGS.images_path)
    return sorted(os.listdir(root)) if os.path.isdir(root) else []


def test_bundle_becomes_available_with_the_same_bytes(env, tmp_path):
    s3, ctxt, registrar = env
    image = tmp_path / "disk.img"
    image.write_bytes(os.urandom(1_000_000))
    location, _ = _upload_bundle(s3, tmp_path, image)
    registered = registrar.register(ctxt, location, wait=True)
    assert registered["state"] == "available" and registered["type"] == "machine"
    assert registered["properties"]["image_location"] == location and registered["owner"] == "proj-a"
    target = tmp_path / "fetched"
    get_default_image_service().download(ctxt, registered["id"], str(target))
    assert target.read_bytes() == image.read_bytes()
    assert not any(name.startswith(".") for name in _image_files())


def test_kernel_bundle_and_machine_referencing_it(env, tmp_path):
    s3, ctxt, registrar = env
    kernel = tmp_path / "vmlinuz"
    kernel.write_bytes(b"kernel bytes")
    location, _ = _upload_bundle(s3, tmp_path, kernel, prefix="k/", image_type="kernel")
    aki = registrar.register(ctxt, location, wait=True)
    assert aki["type"] == "kernel" and aki["disk_format"] == "aki" and aki["state"] == "available"
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"disk")
    location, _ = _upload_bundle(s3, tmp_path, disk, prefix="m/", kernel_id="aki-%08x" % aki["id"])
    ami = registrar.register(ctxt, location, wait=True)
    assert ami["kernel_id"] == aki["id"]


def test_tampered_bundle_fails_and_leaves_nothing(env, tmp_path):
    s3, ctxt, registrar = env
    image = tmp_path / "disk.img"
    image.write_bytes(os.urandom(900_000))
    location, out = _upload_bundle(s3, tmp_path, image)
    part = sorted(n for n in os.listdir(out) if ".part." in n)[1]
    data = bytearray((out / part).read_bytes())
    data[100] ^= 1
    s3.put_object(Bucket="images", Key="bundles/" + part, Body=bytes(data))
    failed = registrar.register(ctxt, location, wait=True)
    assert failed["state"] == "failed" and "digest" in failed["properties"]["failure_reason"]
    assert failed["location"] is None and _image_files() == []


def test_wrong_key_fails(env, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    s3, ctxt, registrar = env
    image = tmp_path / "disk.img"
    image.write_bytes(b"x" * 5000)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = other.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    location, _ = _upload_bundle(s3, tmp_path, image, public_key_pem=pem)
    failed = registrar.register(ctxt, location, wait=True)
    assert failed["state"] == "failed" and "cannot decrypt" in failed["properties"]["failure_reason"]
    assert _image_files() == []


def test_plain_raw_and_qcow2(env, tmp_path):
    s3, ctxt, registrar = env
    raw = os.urandom(70_000)
    s3.put_object(Bucket="images", Key="plain/disk.raw", Body=raw)
    image = registrar.register(ctxt, "images/plain/disk.raw", name="raw disk", wait=True)
    assert image["state"] == "available" and image["disk_format"] == "raw" and image["name"] == "raw disk"
    qcow = b"QFI\xfb" + (3).to_bytes(4, "big") + bytes(8) + bytes(100)
    s3.put_object(Bucket="images", Key="plain/disk.qcow2", Body=qcow)
    assert registrar.register(ctxt, "images/plain/disk.qcow2", wait=True)["disk_format"] == "qcow2"
    backed = b"QFI\xfb" + (3).to_bytes(4, "big") + (512).to_bytes(8, "big") + bytes(600)
    s3.put_object(Bucket="images", Key="plain/backed.qcow2", Body=backed)
    with pytest.raises(exception.InvalidImageLocation, match="backing file"):
        registrar.register(ctxt, "images/plain/backed.qcow2", wait=True)


def test_bad_locations(env, objectstore):
    s3, ctxt, registrar = env
    for location in ("images/../etc/passwd", "../x", "images", "NOPE/x"):
        with pytest.raises(exception.InvalidImageLocation):
            registrar.register(ctxt, location)
    with pytest.raises(exception.InvalidImageLocation, match="NoSuchKey"):
        registrar.register(ctxt, "images/missing.manifest.xml")
    s3.put_object(Bucket="images", Key="junk.manifest.xml", Body=b"<not-a-manifest/>")
    with pytest.raises(exception.InvalidImageLocation, match="not an image manifest"):
        registrar.register(ctxt, "images/junk.manifest.xml")
    bob = context.RequestContext("bob", "proj-b")
    s3.put_object(Bucket="images", Key="alices.raw", Body=b"private")
    with pytest.raises(exception.ImageLocationForbidden):
        registrar.register(bob, "images/alices.raw")
    assert get_default_image_service().index(ctxt) == []


def test_background_registration_reaches_available(env, tmp_path):
    from tests.fixtures.daemons import wait_for

    s3, ctxt, registrar = env
    image = tmp_path / "disk.img"
    image.write_bytes(os.urandom(300_000))
    location, _ = _upload_bundle(s3, tmp_path, image)
    pending = registrar.register(ctxt, location)
    assert pending["state"] == "pending"
    service = get_default_image_service()
    wait_for(lambda: service.show(ctxt, pending["id"])["state"] == "available", 30, what="image available")
