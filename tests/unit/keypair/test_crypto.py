"""Key material: generation, public-key parsing and AWS-style fingerprints."""

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from nova import exception
from nova.keypair import crypto


def test_generated_rsa_fingerprint_is_sha1_of_pkcs8():
    material, public, fingerprint = crypto.generate("rsa")
    private = serialization.load_pem_private_key(material.encode(), password=None)
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    assert fingerprint == ":".join(f"{b:02x}" for b in hashlib.sha1(der).digest())
    assert public.startswith("ssh-rsa ") and crypto.key_type_of(public) == "rsa"


def test_generated_ed25519():
    material, public, fingerprint = crypto.generate("ed25519")
    serialization.load_ssh_private_key(material.encode(), password=None)
    blob = base64.b64decode(public.split()[1])
    assert fingerprint == base64.b64encode(hashlib.sha256(blob).digest()).decode()
    assert crypto.key_type_of(public) == "ed25519"


def test_imported_keys_in_each_format():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    expected = ":".join(f"{b:02x}" for b in hashlib.md5(der).digest())
    for data in (line + b" me@host\n", pem, der):
        assert crypto.load_public_key(data) == ("rsa", line.decode(), expected)
    ed = ed25519.Ed25519PrivateKey.generate().public_key()
    assert crypto.load_public_key(ed.public_bytes(serialization.Encoding.OpenSSH,
                                                  serialization.PublicFormat.OpenSSH))[0] == "ed25519"


@pytest.mark.parametrize("data", [
    b"ssh-rsa not-a-key",
    b"",
    ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
])
def test_bad_keys_are_invalid_key_format(data):
    with pytest.raises(exception.InvalidKeyFormat):
        crypto.load_public_key(data)
