"""Key pairs: CreateKeyPair, ImportKeyPair, DeleteKeyPair, DescribeKeyPairs.

Keys are real (``cryptography``): RSA 2048 or ED25519 made here, or an
imported OpenSSH/PEM public key.  Fingerprints follow AWS: an RSA key made
here is the SHA-1 of its DER PKCS#8 private key, an imported RSA key the MD5
of its DER public key, an ED25519 key the base64 SHA-256 of its OpenSSH
public key blob.  Key pairs belong to the user, not the project.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from nova import context, exception, quota
from nova.api.ec2 import ec2utils
from nova.api.ec2.actions import ALL, ActionSet
from nova.api.ec2.cloud import tags as tagging
from nova.api.ec2.faults import EC2APIError
from nova.api.ec2.params import Base64Data, Boolean, Filters, ListOf, Param, String
from nova.db import api as db
from nova.keypair import api as keypair_api  # noqa: F401 - registers key pairs as taggable

actions = ActionSet()
KEY_NAME = String(max_length=255, min_length=1, pattern=r"[\x20-\x7e]+")


def _colon_hex(digest: bytes) -> str:
    return ":".join(f"{b:02x}" for b in digest)


def _openssh_line(public_key: Any) -> str:
    return public_key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def _ed25519_fingerprint(public_key: Any) -> str:
    blob = base64.b64decode(_openssh_line(public_key).split()[1])
    return base64.b64encode(hashlib.sha256(blob).digest()).decode()


def generate(key_type: str) -> tuple[str, str, str]:
    """(private key PEM, OpenSSH public key, fingerprint) of a new key."""
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


def load_public_key(data: bytes) -> tuple[str, str, str]:
    """(key type, OpenSSH public key, fingerprint) of an imported public key."""
    text = data.strip()
    key: Any = None
    for loader in (serialization.load_ssh_public_key, serialization.load_pem_public_key,
                   serialization.load_der_public_key):
        try:
            key = loader(text if loader is not serialization.load_der_public_key else data)
            break
        except (ValueError, UnsupportedAlgorithm, TypeError):
            continue
    if key is None:
        raise EC2APIError("InvalidKey.Format", "Key is not in valid OpenSSH public key format")
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519", _openssh_line(key), _ed25519_fingerprint(key)
    if isinstance(key, rsa.RSAPublicKey):
        if not 1024 <= key.key_size <= 16384:
            raise EC2APIError("InvalidKey.Format", f"RSA keys must have 1024 to 16384 bits, not {key.key_size}")
        der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return "rsa", _openssh_line(key), _colon_hex(hashlib.md5(der, usedforsecurity=False).digest())
    raise EC2APIError("InvalidKey.Format", "Only RSA and ED25519 keys are supported")


def _key_type(row: Any) -> str:
    return "ed25519" if (row["public_key"] or "").startswith("ssh-ed25519") else "rsa"


def _check_quota(ctxt: context.RequestContext) -> None:
    in_use = db.key_pair_count_by_user(ctxt, ctxt.user_id)
    if quota.allowed(ctxt, ctxt.project_id, "key_pairs", in_use, 1) < 1:
        raise exception.QuotaError(reason=f"at most {in_use} key pairs per user")


def _store(ctxt: context.RequestContext, name: str, public_key: str, fingerprint: str) -> Any:
    _check_quota(ctxt)
    return db.key_pair_create(ctxt, {"name": name, "user_id": ctxt.user_id, "public_key": public_key,
                                     "fingerprint": fingerprint})


def _tag_set(pairs: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": v or ""} for k, v in sorted(pairs.items())]


@actions.register("CreateKeyPair", roles=ALL, params=[
    Param("KeyName", KEY_NAME, required=True),
    Param("KeyType", String(choices=("rsa", "ed25519")), default="rsa"),
    Param("KeyFormat", String(choices=("pem", "ppk")), default="pem"),
    Param("TagSpecification", tagging.TAG_SPECIFICATIONS, default=[], dest="tag_specifications"),
])
def create_key_pair(ctxt: context.RequestContext, key_name: str, key_type: str, key_format: str,
                    tag_specifications: list[dict[str, Any]]) -> dict[str, Any]:
    if key_format != "pem":
        raise exception.UnsupportedOperation(reason="only the pem key format is supported")
    new_tags = tagging.tags_for(tag_specifications, "key-pair")
    material, public_key, fingerprint = generate(key_type)
    row = _store(ctxt, key_name, public_key, fingerprint)
    tagging.apply(ctxt, "key-pair", row["id"], new_tags)
    return {"keyName": key_name, "keyFingerprint": fingerprint, "keyMaterial": material,
            "keyPairId": ec2utils.id_to_ec2_id(row["id"], "key"), "tagSet": _tag_set(new_tags)}


@actions.register("ImportKeyPair", roles=ALL, params=[
    Param("KeyName", KEY_NAME, required=True),
    Param("PublicKeyMaterial", Base64Data(max_bytes=16384), required=True),
    Param("TagSpecification", tagging.TAG_SPECIFICATIONS, default=[], dest="tag_specifications"),
])
def import_key_pair(ctxt: context.RequestContext, key_name: str, public_key_material: bytes,
                    tag_specifications: list[dict[str, Any]]) -> dict[str, Any]:
    new_tags = tagging.tags_for(tag_specifications, "key-pair")
    _key_type_name, public_key, fingerprint = load_public_key(public_key_material)
    row = _store(ctxt, key_name, public_key, fingerprint)
    tagging.apply(ctxt, "key-pair", row["id"], new_tags)
    return {"keyName": key_name, "keyFingerprint": fingerprint,
            "keyPairId": ec2utils.id_to_ec2_id(row["id"], "key"), "tagSet": _tag_set(new_tags)}


@actions.register("DeleteKeyPair", roles=ALL, params=[
    Param("KeyName", KEY_NAME),
    Param("KeyPairId", String()),
])
def delete_key_pair(ctxt: context.RequestContext, key_name: str | None, key_pair_id: str | None) -> bool:
    if not key_name and not key_pair_id:
        raise EC2APIError("MissingParameter", "The request must contain the parameter KeyName or KeyPairId")
    rows = db.key_pair_get_all_by_user(ctxt, ctxt.user_id)
    if key_pair_id:
        db_id = ec2utils.ec2_id_to_id(key_pair_id, ("key",))
        rows = [r for r in rows if r["id"] == db_id]
    if key_name:
        rows = [r for r in rows if r["name"] == key_name]
    for row in rows:
        db.key_pair_destroy(ctxt, ctxt.user_id, row["name"])
        db.tag_delete_all_for_resource(ctxt, "key-pair", row["id"])
    return True


@actions.register("DescribeKeyPairs", roles=ALL, params=[
    Param("KeyName", ListOf(String()), default=[]),
    Param("KeyPairId", ListOf(String()), default=[]),
    Param("Filter", Filters("key-name", "fingerprint", "key-pair-id", "key-type", "tag:"), default={},
          dest="filters"),
    Param("IncludePublicKey", Boolean(), default=False),
])
def describe_key_pairs(ctxt: context.RequestContext, key_name: list[str], key_pair_id: list[str],
                       filters: dict[str, list[str]], include_public_key: bool) -> dict[str, Any]:
    rows = db.key_pair_get_all_by_user(ctxt, ctxt.user_id)
    for name in key_name:
        if not any(r["name"] == name for r in rows):
            raise exception.KeypairNotFound(name=name, user_id=ctxt.user_id)
    wanted_ids = [ec2utils.ec2_id_to_id(kid, ("key",)) for kid in key_pair_id]
    for kid, db_id in zip(key_pair_id, wanted_ids):
        if not any(r["id"] == db_id for r in rows):
            raise EC2APIError("InvalidKeyPair.NotFound", f"The key pair '{kid}' does not exist")
    if key_name:
        rows = [r for r in rows if r["name"] in key_name]
    if wanted_ids:
        rows = [r for r in rows if r["id"] in wanted_ids]
    all_tags = db.tag_get_by_resources(ctxt, "key-pair", [r["id"] for r in rows])
    values = {
        "key-name": lambda r: [r["name"]],
        "fingerprint": lambda r: [r["fingerprint"]],
        "key-pair-id": lambda r: [ec2utils.id_to_ec2_id(r["id"], "key")],
        "key-type": lambda r: [_key_type(r)],
    }
    rows = [r for r in rows if tagging.matches(filters, values, r, all_tags.get(r["id"], {}))]
    return {"keySet": [{
        "keyPairId": ec2utils.id_to_ec2_id(r["id"], "key"),
        "keyName": r["name"],
        "keyFingerprint": r["fingerprint"],
        "keyType": _key_type(r),
        "publicKey": r["public_key"] if include_public_key else None,
        "createTime": r["created_at"],
        "tagSet": _tag_set(all_tags.get(r["id"], {})),
    } for r in rows]}
