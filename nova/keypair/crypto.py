"""SSH key material for key pairs: generation, public-key parsing, fingerprints.

Fingerprints follow AWS: an RSA key made here is the SHA-1 of its DER PKCS#8
private key, an imported RSA key the MD5 of its DER public key, an ED25519 key
the base64 SHA-256 of its OpenSSH public key blob.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from nova import exception

KEY_TYPES = ("rsa", "ed25519")
MIN_RSA_BITS, MAX_RSA_BITS = 1024, 16384


def _colon_hex(digest: bytes) -> str:
    return ":".join(f"{b:02x}" for b in digest)


def _openssh_line(public_key: Any) -> str:
    return public_key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def _ed25519_fingerprint(public_key: Any) -> str:
    blob = base64.b64decode(_openssh_line(public_key).split()[1])
    return base64.b64encode(hashlib.sha256(blob).digest()).decode()


def generate(key_type: str) -> tuple[str, str, str]:
    """(private key PEM, OpenSSH public key, fingerprint) of a new key."""
    if key_type not in KEY_TYPES:
        raise exception.InvalidKeyFormat(reason=f"Key type must be rsa or ed25519, not {key_type[:20]}")
    if key_type == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
        material = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                          serialization.NoEncryption()).decode()
        return material, _openssh_line(private.public_key()), _ed25519_fingerprint(private.public_key())
    private_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    material = private_rsa.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                         serialization.NoEncryption()).decode()
    pkcs8 = private_rsa.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
    return material, _openssh_line(private_rsa.public_key()), _colon_hex(hashlib.sha1(pkcs8).digest())


def _load(data: bytes) -> Any:
    text = data.strip()
    for loader, raw in ((serialization.load_ssh_public_key, text), (serialization.load_pem_public_key, text),
                        (serialization.load_der_public_key, data)):
        try:
            return loader(raw)
        except (ValueError, UnsupportedAlgorithm, TypeError):
            continue
    raise exception.InvalidKeyFormat(reason="Key is not in valid OpenSSH public key format")


def load_public_key(data: bytes) -> tuple[str, str, str]:
    """(key type, OpenSSH public key, fingerprint) of an imported public key; InvalidKeyFormat otherwise."""
    key = _load(data)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519", _openssh_line(key), _ed25519_fingerprint(key)
    if isinstance(key, rsa.RSAPublicKey):
        if not MIN_RSA_BITS <= key.key_size <= MAX_RSA_BITS:
            raise exception.InvalidKeyFormat(
                reason=f"RSA keys must have {MIN_RSA_BITS} to {MAX_RSA_BITS} bits, not {key.key_size}")
        der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return "rsa", _openssh_line(key), _colon_hex(hashlib.md5(der, usedforsecurity=False).digest())
    raise exception.InvalidKeyFormat(reason="Only RSA and ED25519 keys are supported")


def key_type_of(public_key: str | None) -> str:
    """The type of a stored OpenSSH public key line."""
    return "ed25519" if (public_key or "").startswith("ssh-ed25519") else "rsa"
