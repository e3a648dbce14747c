"""Key pairs: CreateKeyPair, ImportKeyPair, DeleteKeyPair, DescribeKeyPairs.

The key pairs, their key material and quota live behind ``nova.keypair.api``;
this module parses parameters and renders.  Key pairs belong to the user,
not the project.
"""

from __future__ import annotations

from typing import Any

from nova import context, exception
from nova.api.ec2 import ec2utils
from nova.api.ec2.actions import ALL, ActionSet
from nova.api.ec2.cloud import tags as tagging
from nova.api.ec2.faults import EC2APIError
from nova.api.ec2.params import Base64Data, Boolean, Filters, ListOf, Param, String
from nova.keypair import api as keypair_api

actions = ActionSet()
KEY_NAME = String(max_length=255, min_length=1, pattern=r"[\x20-\x7e]+")


def _api() -> keypair_api.API:
    return keypair_api.API()


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
    new_tags = tagging.tags_for(tag_specifications, keypair_api.RESOURCE_TYPE)
    row, material = _api().create(ctxt, key_name, key_type, new_tags)
    return {"keyName": key_name, "keyFingerprint": row["fingerprint"], "keyMaterial": material,
            "keyPairId": ec2utils.id_to_ec2_id(row["id"], "key"), "tagSet": _tag_set(new_tags)}


@actions.register("ImportKeyPair", roles=ALL, params=[
    Param("KeyName", KEY_NAME, required=True),
    Param("PublicKeyMaterial", Base64Data(max_bytes=16384), required=True),
    Param("TagSpecification", tagging.TAG_SPECIFICATIONS, default=[], dest="tag_specifications"),
])
def import_key_pair(ctxt: context.RequestContext, key_name: str, public_key_material: bytes,
                    tag_specifications: list[dict[str, Any]]) -> dict[str, Any]:
    new_tags = tagging.tags_for(tag_specifications, keypair_api.RESOURCE_TYPE)
    row = _api().import_key(ctxt, key_name, public_key_material, new_tags)
    return {"keyName": key_name, "keyFingerprint": row["fingerprint"],
            "keyPairId": ec2utils.id_to_ec2_id(row["id"], "key"), "tagSet": _tag_set(new_tags)}


@actions.register("DeleteKeyPair", roles=ALL, params=[
    Param("KeyName", KEY_NAME),
    Param("KeyPairId", String()),
])
def delete_key_pair(ctxt: context.RequestContext, key_name: str | None, key_pair_id: str | None) -> bool:
    if not key_name and not key_pair_id:
        raise EC2APIError("MissingParameter", "The request must contain the parameter KeyName or KeyPairId")
    db_id = ec2utils.ec2_id_to_id(key_pair_id, ("key",)) if key_pair_id else None
    _api().delete(ctxt, name=key_name, key_pair_id=db_id)
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
    wanted_ids = [ec2utils.ec2_id_to_id(kid, ("key",)) for kid in key_pair_id]
    rows = _api().get_all(ctxt, names=key_name, ids=wanted_ids)
    all_tags = tagging.get_by_resources(ctxt, keypair_api.RESOURCE_TYPE, [r["id"] for r in rows])
    values = {
        "key-name": lambda r: [r["name"]],
        "fingerprint": lambda r: [r["fingerprint"]],
        "key-pair-id": lambda r: [ec2utils.id_to_ec2_id(r["id"], "key")],
        "key-type": lambda r: [keypair_api.API.key_type(r)],
    }
    rows = [r for r in rows if tagging.matches(filters, values, r, all_tags.get(r["id"], {}))]
    return {"keySet": [{
        "keyPairId": ec2utils.id_to_ec2_id(r["id"], "key"),
        "keyName": r["name"],
        "keyFingerprint": r["fingerprint"],
        "keyType": keypair_api.API.key_type(r),
        "publicKey": r["public_key"] if include_public_key else None,
        "createTime": r["created_at"],
        "tagSet": _tag_set(all_tags.get(r["id"], {})),
    } for r in rows]}
