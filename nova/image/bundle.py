"""euca-style image bundles: make them, and turn them back into an image file.

A bundle is the image file in a tar archive, gzipped, encrypted with
AES-128-CBC under a random key and IV, and split into parts.  The manifest
(``NAME.manifest.xml``) lists the parts with their SHA-1 digests and holds the
AES key and IV (as hex strings) encrypted with the cloud's RSA public key,
as ``euca-bundle-image`` writes them.  The cloud's key pair lives under
``--keys_path`` and is generated on first use.

Unbundling checks every part digest, decrypts, gunzips and reads the tar
stream, accepting exactly one regular file whose name is a plain relative
path: the tar member's name is never used as a path, so an archive cannot
write anywhere.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import secrets
import tarfile
import tempfile
import uuid
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass, field
from typing import IO, Callable, Iterable, Iterator

from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from nova import flags

FLAGS = flags.FLAGS

flags.DEFINE_string("keys_path", "$state_path/keys", "Where the cloud's RSA key pair for image bundles is kept")

PART_SIZE = 10 * 1024 * 1024
MAX_PARTS = 10000
MAX_MANIFEST = 1024 * 1024
_CHUNK = 1024 * 1024


class BundleError(Exception):
    """The bundle cannot be turned into an image; the message says why."""


# -- the cloud's key pair ---------------------------------------------------------
def cloud_key_path() -> str:
    return os.path.join(os.path.abspath(FLAGS.keys_path), "cloud-private.pem")


def cloud_private_key() -> rsa.RSAPrivateKey:
    """The cloud's RSA private key, created (mode 0600) the first time it is needed."""
    path = cloud_key_path()
    try:
        with open(path, "rb") as handle:
            return serialization.load_pem_private_key(handle.read(), password=None)
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    tmp = f"{path}.{uuid.uuid4().hex}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(tmp, path)  # the first writer wins; a racing one reads the winner's key
    except FileExistsError:
        os.unlink(tmp)
        return cloud_private_key()
    os.unlink(tmp)
    return key


def cloud_public_key_pem() -> bytes:
    return cloud_private_key().public_key().public_bytes(serialization.Encoding.PEM,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo)


# -- making a bundle ---------------------------------------------------------------
class _PartWriter:
    """Encrypts what it is given and writes it as numbered parts."""

    def __init__(self, directory: str, prefix: str, key: bytes, iv: bytes, part_size: int) -> None:
        self.directory, self.prefix, self.part_size = directory, prefix, part_size
        self._encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        self._padder = padding.PKCS7(128).padder()
        self.parts: list[tuple[str, str]] = []  # (file name, sha1)
        self._file: IO[bytes] | None = None
        self._digest = hashlib.sha1()
        self._in_part = 0
        self.size = 0

    def _emit(self, data: bytes) -> None:
        while data:
            if self._file is None:
                name = f"{self.prefix}.part.{len(self.parts):02d}"
                self._file = open(os.path.join(self.directory, name), "wb")
                self.parts.append((name, ""))
                self._digest, self._in_part = hashlib.sha1(), 0
            take = data[:self.part_size - self._in_part]
            self._file.write(take)
            self._digest.update(take)
            self._in_part += len(take)
            self.size += len(take)
            data = data[len(take):]
            if self._in_part == self.part_size:
                self._close_part()

    def _close_part(self) -> None:
        if self._file is not None:
            self._file.close()
            self.parts[-1] = (self.parts[-1][0], self._digest.hexdigest())
            self._file = None

    def write(self, data: bytes) -> int:
        self._emit(self._encryptor.update(self._padder.update(data)))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self._emit(self._encryptor.update(self._padder.finalize()) + self._encryptor.finalize())
        self._close_part()


class _Sha1Tee:
    """Passes writes through while hashing them (the manifest's digest is of the tar)."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target, self.sha1, self.size = target, hashlib.sha1(), 0

    def write(self, data: bytes) -> int:
        self.sha1.update(data)
        self.size += len(data)
        return self.target.write(data)

    def flush(self) -> None:
        pass


def make_bundle(image_path: str, directory: str, public_key_pem: bytes | None = None, name: str | None = None,
                image_type: str = "machine", architecture: str = "x86_64", kernel_id: str | None = None,
                ramdisk_id: str | None = None, user: str = "", part_size: int = PART_SIZE) -> str:
    """Bundle ``image_path`` into ``directory``; returns the manifest's path."""
    name = name or os.path.basename(image_path)
    if not name or "/" in name or name in (".", ".."):
        raise BundleError(f"bad image name {name!r}")
    public_key = serialization.load_pem_public_key(public_key_pem or cloud_public_key_pem())
    key, iv = secrets.token_bytes(16), secrets.token_bytes(16)
    os.makedirs(directory, exist_ok=True)
    parts = _PartWriter(directory, name, key, iv, part_size)
    gz = gzip.GzipFile(filename="", mode="wb", fileobj=parts, mtime=0)
    tee = _Sha1Tee(gz)
    with tarfile.open(fileobj=tee, mode="w|", format=tarfile.GNU_FORMAT) as tar:
        info = tar.gettarinfo(image_path, arcname=name)
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        with open(image_path, "rb") as source:
            tar.addfile(info, source)
    gz.close()
    parts.close()

    def encrypt(value: bytes) -> str:
        return public_key.encrypt(value.hex().encode(), asym_padding.PKCS1v15()).hex()

    root = ET.Element("manifest")
    ET.SubElement(root, "version").text = "2007-10-10"
    bundler = ET.SubElement(root, "bundler")
    ET.SubElement(bundler, "name").text = "nova-bundle"
    ET.SubElement(bundler, "version").text = "1.0"
    ET.SubElement(bundler, "release").text = "1"
    machine = ET.SubElement(root, "machine_configuration")
    ET.SubElement(machine, "architecture").text = architecture
    if image_type == "kernel":
        ET.SubElement(machine, "kernel_id").text = "true"
    elif image_type == "ramdisk":
        ET.SubElement(machine, "ramdisk_id").text = "true"
    else:
        if kernel_id:
            ET.SubElement(machine, "kernel_id").text = kernel_id
        if ramdisk_id:
            ET.SubElement(machine, "ramdisk_id").text = ramdisk_id
    image = ET.SubElement(root, "image")
    ET.SubElement(image, "name").text = name
    ET.SubElement(image, "user").text = user
    ET.SubElement(image, "type").text = image_type
    ET.SubElement(image, "digest", algorithm="SHA1").text = tee.sha1.hexdigest()
    ET.SubElement(image, "size").text = str(os.path.getsize(image_path))
    ET.SubElement(image, "bundled_size").text = str(parts.size)
    ET.SubElement(image, "ec2_encrypted_key", algorithm="AES-128-CBC").text = encrypt(key)
    ET.SubElement(image, "ec2_encrypted_iv").text = encrypt(iv)
    listing = ET.SubElement(image, "parts", count=str(len(parts.parts)))
    for index, (filename, digest) in enumerate(parts.parts):
        part = ET.SubElement(listing, "part", index=str(index))
        ET.SubElement(part, "filename").text = filename
        ET.SubElement(part, "digest", algorithm="SHA1").text = digest
    path = os.path.join(directory, f"{name}.manifest.xml")
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


# -- reading a bundle ---------------------------------------------------------------
@dataclass
class Manifest:
    name: str
    image_type: str  # machine, kernel or ramdisk
    architecture: str
    kernel_id: str | None
    ramdisk_id: str | None
    encrypted_key: str
    encrypted_iv: str
    tar_sha1: str | None
    size: int | None
    parts: list[tuple[str, str | None]] = field(default_factory=list)


def parse_manifest(data: bytes) -> Manifest:
    """Read a manifest; BundleError on anything malformed or unsafe."""
    if len(data) > MAX_MANIFEST:
        raise BundleError("manifest is too large")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise BundleError("manifest must not contain a DTD")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise BundleError(f"manifest is not well-formed XML: {exc}") from None
    if root.tag != "manifest":
        raise BundleError("not an image manifest")

    def text(path: str) -> str | None:
        value = root.findtext(path)
        return value.strip() if value is not None else None

    key, iv = text("image/ec2_encrypted_key"), text("image/ec2_encrypted_iv")
    if not key or not iv:
        raise BundleError("manifest lacks ec2_encrypted_key or ec2_encrypted_iv")
    kernel, ramdisk = text("machine_configuration/kernel_id"), text("machine_configuration/ramdisk_id")
    image_type = text("image/type") or "machine"
    if kernel == "true":
        image_type, kernel = "kernel", None
    elif ramdisk == "true":
        image_type, ramdisk = "ramdisk", None
    if image_type not in ("machine", "kernel", "ramdisk"):
        raise BundleError(f"unknown image type {image_type!r}")
    parts = []
    nodes = root.findall("image/parts/part")
    if not nodes or len(nodes) > MAX_PARTS:
        raise BundleError("manifest lists no parts (or too many)")
    indexes = []
    for node in nodes:
        index = (node.get("index") or "").strip()
        if not index.isascii() or not index.isdigit() or len(index) > 9:
            raise BundleError(f"manifest part index {index[:20]!r} is not a number")
        indexes.append((int(index), node))
    for expected_index, (index, node) in enumerate(sorted(indexes, key=lambda pair: pair[0])):
        filename = (node.findtext("filename") or "").strip()
        if index != expected_index:
            raise BundleError("manifest part indexes are not 0..N-1")
        if not filename or "/" in filename or "\\" in filename or filename in (".", "..") or "\0" in filename:
            raise BundleError(f"unsafe part file name {filename!r}")
        digest = node.findtext("digest")
        parts.append((filename, digest.strip().lower() if digest else None))
    size_text = text("image/size") or ""
    size = int(size_text) if size_text.isascii() and size_text.isdigit() and len(size_text) < 20 else None
    return Manifest(
        name=text("image/name") or "", image_type=image_type,
        architecture=text("machine_configuration/architecture") or "x86_64", kernel_id=kernel,
        ramdisk_id=ramdisk, encrypted_key=key, encrypted_iv=iv, tar_sha1=(text("image/digest") or None),
        size=size, parts=parts)


def decrypt_key_iv(manifest: Manifest, private_key: rsa.RSAPrivateKey | None = None) -> tuple[bytes, bytes]:
    key = private_key or cloud_private_key()
    try:
        aes_key = bytes.fromhex(key.decrypt(bytes.fromhex(manifest.encrypted_key), asym_padding.PKCS1v15()).decode())
        aes_iv = bytes.fromhex(key.decrypt(bytes.fromhex(manifest.encrypted_iv), asym_padding.PKCS1v15()).decode())
    except ValueError:
        raise BundleError("cannot decrypt the image key: the bundle was not made for this cloud's key") from None
    if len(aes_key) != 16 or len(aes_iv) != 16:
        raise BundleError("the image key or IV has the wrong length")
    return aes_key, aes_iv


class _Plaintext:
    """A read()-able stream of the decrypted, gunzipped tar, from the encrypted parts."""

    def __init__(self, chunks: Iterator[bytes], key: bytes, iv: bytes) -> None:
        self._chunks = chunks
        self._decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        self._unpadder = padding.PKCS7(128).unpadder()
        self._gunzip = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._buffer = bytearray()
        self._finished = False
        self.sha1 = hashlib.sha1()

    def _more(self) -> bool:
        if self._finished:
            return False
        try:
            chunk = next(self._chunks)
            plain = self._unpadder.update(self._decryptor.update(chunk))
        except StopIteration:
            self._finished = True
            try:
                plain = self._unpadder.update(self._decryptor.finalize()) + self._unpadder.finalize()
            except ValueError:
                raise BundleError("the image does not decrypt: wrong key or damaged parts") from None
        try:
            data = self._gunzip.decompress(plain)
            if self._finished:
                data += self._gunzip.flush()
                if not self._gunzip.eof:
                    raise BundleError("the image's gzip stream is truncated")
        except zlib.error:
            raise BundleError("the decrypted image is not gzip data: wrong key or damaged parts") from None
        self.sha1.update(data)
        self._buffer += data
        return True

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self._buffer) < size) and self._more():
            pass
        if size < 0:
            size = len(self._buffer)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def drain(self) -> None:
        while self._more():
            pass
        self._buffer.clear()


def _checked_parts(manifest: Manifest, fetch: Callable[[str], Iterable[bytes]]) -> Iterator[bytes]:
    """Each part's bytes, released only once the whole part matched its digest.

    A part is spooled (in memory up to a few MiB, then in a temporary file)
    so that nothing of a tampered part is ever decrypted.
    """
    for index, (filename, digest) in enumerate(manifest.parts):
        sha1 = hashlib.sha1()
        with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as spool:
            for chunk in fetch(filename):
                sha1.update(chunk)
                spool.write(chunk)
            if digest and sha1.hexdigest() != digest:
                raise BundleError(f"part {index} ({filename}) does not match its digest: "
                                  "the bundle was tampered with")
            spool.seek(0)
            while data := spool.read(_CHUNK):
                yield data


def unbundle(manifest: Manifest, fetch: Callable[[str], Iterable[bytes]], out: IO[bytes],
             private_key: rsa.RSAPrivateKey | None = None) -> int:
    """Write the bundled image file to ``out``; returns its size.  Raises BundleError."""
    key, iv = decrypt_key_iv(manifest, private_key)
    stream = _Plaintext(_checked_parts(manifest, fetch), key, iv)
    written = 0
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            found = False
            for member in tar:
                name = member.name
                if (not member.isfile() or name.startswith("/") or any(p in ("..", "") for p in name.split("/"))
                        or "\0" in name):
                    raise BundleError(f"unsafe or unexpected tar member {name!r} (type {member.type!r})")
                if found:
                    raise BundleError("the bundle holds more than one file")
                found = True
                source = tar.extractfile(member)
                while data := source.read(_CHUNK):
                    out.write(data)
                    written += len(data)
            if not found:
                raise BundleError("the bundle holds no image file")
    except tarfile.TarError as exc:
        raise BundleError(f"the decrypted image is not a valid tar archive: {exc}") from None
    stream.drain()
    if manifest.tar_sha1 and stream.sha1.hexdigest() != manifest.tar_sha1.lower():
        raise BundleError("the image archive does not match the manifest's digest")
    return written
