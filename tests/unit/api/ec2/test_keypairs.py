"""Key pairs with real keys and AWS-style fingerprints, per user."""

import base64
import hashlib

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from tests.unit.api.conftest import error_of


def test_create_rsa_returns_a_usable_private_key_with_its_fingerprint(ec2_env):
    created = ec2_env.client().create_key_pair(KeyName="web")
    private = serialization.load_pem_private_key(created["KeyMaterial"].encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == 2048
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    assert created["KeyFingerprint"] == ":".join(f"{b:02x}" for b in hashlib.sha1(der).digest())
    listed = ec2_env.client().describe_key_pairs()["KeyPairs"]
    assert [(k["KeyName"], k["KeyFingerprint"], k["KeyType"]) for k in listed] == [
        ("web", created["KeyFingerprint"], "rsa")]


def test_create_ed25519(ec2_env):
    created = ec2_env.client().create_key_pair(KeyName="ed", KeyType="ed25519")
    private = serialization.load_ssh_private_key(created["KeyMaterial"].encode(), password=None)
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    blob = base64.b64decode(public.split()[1])
    assert created["KeyFingerprint"] == base64.b64encode(hashlib.sha256(blob).digest()).decode()


def test_import_rsa_and_ed25519(ec2_env):
    client = ec2_env.client()
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    line = rsa_key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    imported = client.import_key_pair(KeyName="mine", PublicKeyMaterial=line + b" me@laptop")
    der = rsa_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert imported["KeyFingerprint"] == ":".join(f"{b:02x}" for b in hashlib.md5(der).digest())
    ed = ed25519.Ed25519PrivateKey.generate().public_key()
    client.import_key_pair(KeyName="ed", PublicKeyMaterial=ed.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH))
    assert sorted(k["KeyName"] for k in client.describe_key_pairs()["KeyPairs"]) == ["ed", "mine"]
    with pytest.raises(ClientError) as excinfo:
        client.import_key_pair(KeyName="junk", PublicKeyMaterial=b"ssh-rsa not-a-key")
    assert error_of(excinfo) == ("InvalidKey.Format", 400)


def test_duplicates_missing_and_delete(ec2_env):
    client = ec2_env.client()
    client.create_key_pair(KeyName="k")
    with pytest.raises(ClientError) as excinfo:
        client.create_key_pair(KeyName="k")
    assert error_of(excinfo) == ("InvalidKeyPair.Duplicate", 400)
    with pytest.raises(ClientError) as excinfo:
        client.describe_key_pairs(KeyNames=["nope"])
    assert error_of(excinfo) == ("InvalidKeyPair.NotFound", 400)
    client.delete_key_pair(KeyName="k")
    assert client.describe_key_pairs()["KeyPairs"] == []
    with pytest.raises(ClientError) as excinfo:
        client.create_key_pair(KeyName="")
    assert error_of(excinfo)[1] == 400


def test_key_pairs_are_private_to_their_user(ec2_env):
    ec2_env.client().create_key_pair(KeyName="alices")
    bob = ec2_env.client("AK-BOB", "SK-BOB")
    assert bob.describe_key_pairs()["KeyPairs"] == []
    with pytest.raises(ClientError) as excinfo:
        bob.describe_key_pairs(KeyNames=["alices"])
    assert error_of(excinfo) == ("InvalidKeyPair.NotFound", 400)
    bob.delete_key_pair(KeyName="alices")
    assert [k["KeyName"] for k in ec2_env.client().describe_key_pairs()["KeyPairs"]] == ["alices"]


@pytest.mark.parametrize("material", [b"", b"   \n"])
def test_import_of_an_empty_key_is_a_missing_parameter(ec2_env, material):
    client = ec2_env.client()
    with pytest.raises(ClientError) as excinfo:
        client.import_key_pair(KeyName="empty", PublicKeyMaterial=material)
    assert error_of(excinfo) == ("MissingParameter", 400)
    assert client.describe_key_pairs()["KeyPairs"] == []
