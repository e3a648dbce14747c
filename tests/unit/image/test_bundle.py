"""Bundles made by nova.image.bundle come back byte for byte; damaged or hostile ones do not."""

import gzip
import io
import os
import tarfile

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa

from nova.image import bundle


def _fetch(directory):
    return lambda filename: iter([open(os.path.join(directory, filename), "rb").read()])


def test_cloud_key_is_generated_once_and_private(tmp_path):
    first = bundle.cloud_public_key_pem()
    assert bundle.cloud_public_key_pem() == first
    assert os.stat(bundle.cloud_key_path()).st_mode & 0o777 == 0o600


def test_round_trip_in_parts(tmp_path):
    image = tmp_path / "disk.img"
    image.write_bytes(os.urandom(2_500_000))
    manifest_path = bundle.make_bundle(str(image), str(tmp_path / "out"), part_size=1_000_000,
                                       kernel_id="aki-00000001")
    manifest = bundle.parse_manifest(open(manifest_path, "rb").read())
    assert [p[0] for p in manifest.parts] == [f"disk.img.part.0{i}" for i in range(len(manifest.parts))]
    assert len(manifest.parts) >= 2 and manifest.kernel_id == "aki-00000001" and manifest.image_type == "machine"
    out = io.BytesIO()
    assert bundle.unbundle(manifest, _fetch(tmp_path / "out"), out) == image.stat().st_size
    assert out.getvalue() == image.read_bytes()


def test_kernel_bundle_is_marked(tmp_path):
    image = tmp_path / "vmlinuz"
    image.write_bytes(b"kernel")
    manifest = bundle.parse_manifest(open(bundle.make_bundle(str(image), str(tmp_path), image_type="kernel"),
                                          "rb").read())
    assert manifest.image_type == "kernel" and manifest.kernel_id is None


def test_wrong_cloud_key(tmp_path):
    image = tmp_path / "disk.img"
    image.write_bytes(b"x" * 1000)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    manifest = bundle.parse_manifest(open(bundle.make_bundle(str(image), str(tmp_path), pem), "rb").read())
    with pytest.raises(bundle.BundleError, match="cannot decrypt the image key"):
        bundle.unbundle(manifest, _fetch(tmp_path), io.BytesIO())


def test_tampered_part(tmp_path):
    image = tmp_path / "disk.img"
    image.write_bytes(os.urandom(100_000))
    manifest = bundle.parse_manifest(open(bundle.make_bundle(str(image), str(tmp_path / "b")), "rb").read())
    part = tmp_path / "b" / manifest.parts[0][0]
    data = bytearray(part.read_bytes())
    data[5000] ^= 0xFF
    part.write_bytes(bytes(data))
    with pytest.raises(bundle.BundleError, match="does not match its digest"):
        bundle.unbundle(manifest, _fetch(tmp_path / "b"), io.BytesIO())
    # Without part digests the damage is still caught while decrypting or untarring.
    manifest.parts = [(name, None) for name, _ in manifest.parts]
    with pytest.raises(bundle.BundleError):
        bundle.unbundle(manifest, _fetch(tmp_path / "b"), io.BytesIO())


def _hostile_bundle(tmp_path, members):
    """An encrypted bundle of an arbitrary tar, with a manifest for the cloud's key."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    key, iv = os.urandom(16), os.urandom(16)
    writer = bundle._PartWriter(str(tmp_path), "evil", key, iv, bundle.PART_SIZE)
    with gzip.GzipFile(fileobj=writer, mode="wb") as gz:
        gz.write(raw.getvalue())
    writer.close()
    public = serialization.load_pem_public_key(bundle.cloud_public_key_pem())
    encrypt = lambda v: public.encrypt(v.hex().encode(), asym_padding.PKCS1v15()).hex()  # noqa: E731
    return bundle.Manifest("evil", "machine", "x86_64", None, None, encrypt(key), encrypt(iv), None, None,
                           parts=writer.parts)


def _file(name, data=b"data"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


@pytest.mark.parametrize("members,match", [
    ([_file("../../etc/evil")], "unsafe"),
    ([_file("/etc/evil")], "unsafe"),
    ([_link("disk.img", "/etc/shadow")], "unsafe"),
    ([_link("disk.img", "/etc/shadow", tarfile.LNKTYPE)], "unsafe"),
    ([_file("a"), _file("b")], "more than one"),
    ([], "no image file"),
])
def test_hostile_archives(tmp_path, members, match):
    manifest = _hostile_bundle(tmp_path, members)
    out = io.BytesIO()
    with pytest.raises(bundle.BundleError, match=match):
        bundle.unbundle(manifest, _fetch(tmp_path), out)
    assert not (tmp_path.parent / "etc").exists()


_PARTS = (b"<manifest><image><ec2_encrypted_key>00</ec2_encrypted_key><ec2_encrypted_iv>00</ec2_encrypted_iv>"
          b"<parts>%s</parts></image></manifest>")


@pytest.mark.parametrize("xml,match", [
    (b"<manifest>", "well-formed"),
    (b'<!DOCTYPE m [<!ENTITY a "b">]><manifest/>', "DTD"),
    (b"<other/>", "not an image manifest"),
    (b"<manifest><image><ec2_encrypted_key>00</ec2_encrypted_key><ec2_encrypted_iv>00</ec2_encrypted_iv>"
     b"<parts><part index='0'><filename>../x</filename></part></parts></image></manifest>", "unsafe part"),
    (b"<manifest><image><ec2_encrypted_key>00</ec2_encrypted_key><ec2_encrypted_iv>00</ec2_encrypted_iv>"
     b"</image></manifest>", "no parts"),
    (_PARTS % b"<part index='abc'><filename>a</filename></part>", "index 'abc' is not a number"),
    (_PARTS % b"<part><filename>a</filename></part>", "index '' is not a number"),
    (_PARTS % b"<part index='-1'><filename>a</filename></part>", "is not a number"),
    (_PARTS % b"<part index='\xd9\xa1'><filename>a</filename></part>", "is not a number"),
    (_PARTS % (b"<part index='" + b"1" * 5000 + b"'><filename>a</filename></part>"), "is not a number"),
    (_PARTS % b"<part index='1'><filename>a</filename></part>", "not 0..N-1"),
], ids=lambda value: value if isinstance(value, str) else "manifest")
def test_bad_manifests(xml, match):
    with pytest.raises(bundle.BundleError, match=match):
        bundle.parse_manifest(xml)


def test_a_huge_size_is_no_size():
    manifest = bundle.parse_manifest(_PARTS.replace(b"<parts>", b"<size>" + b"9" * 5000 + b"</size><parts>")
                                     % b"<part index='0'><filename>a</filename></part>")
    assert manifest.size is None and manifest.parts == [("a", None)]
