"""The key-pair service API: per-user key pairs, quota, delete with tags."""

import pytest

from nova import context, exception, quota
from nova.keypair import api as keypair_api
from nova.keypair import crypto
from nova.tag import api as tag_api

ALICE = context.RequestContext("alice", "proj-a")
CAROL = context.RequestContext("carol", "proj-a")


def test_create_import_list_and_delete(db_url):
    api = keypair_api.API()
    row, material = api.create(ALICE, "web", "ed25519", {"Name": "web"})
    assert "PRIVATE KEY" in material and api.key_type(row) == "ed25519"
    assert tag_api.API().get_by_resources(ALICE, "key-pair", [row["id"]]) == {row["id"]: {"Name": "web"}}
    _private, public, _fp = crypto.generate("rsa")
    imported = api.import_key(ALICE, "mine", public.encode())
    assert [r["name"] for r in api.get_all(ALICE)] == ["mine", "web"]
    assert [r["name"] for r in api.get_all(ALICE, ids=[imported["id"]])] == ["mine"]
    assert api.get_all(CAROL) == []
    with pytest.raises(exception.KeypairNotFound):
        api.get_all(CAROL, names=["web"])
    with pytest.raises(exception.KeypairIdNotFound):
        api.get_by_id(CAROL, row["id"])
    with pytest.raises(exception.KeyPairExists):
        api.create(ALICE, "web")
    api.delete(ALICE, key_pair_id=row["id"])
    api.delete(ALICE, name="nothing-by-that-name")
    assert [r["name"] for r in api.get_all(ALICE)] == ["mine"]
    assert tag_api.API().get_by_resources(ALICE, "key-pair", [row["id"]]) == {}


def test_key_pair_quota_is_per_user(db_url):
    quota.set_project_quota(context.get_admin_context(), "proj-a", "key_pairs", 1)
    api = keypair_api.API()
    api.create(ALICE, "one")
    with pytest.raises(exception.QuotaError):
        api.create(ALICE, "two")
    api.create(CAROL, "one")


def test_bad_public_key(db_url):
    with pytest.raises(exception.InvalidKeyFormat):
        keypair_api.API().import_key(ALICE, "junk", b"ssh-rsa AAAA")
