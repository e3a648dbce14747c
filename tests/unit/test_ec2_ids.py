"""nova.ec2_ids: the one place EC2 ids are made and read."""

import pytest

from nova import ec2_ids, exception


def test_ids_are_a_prefix_and_eight_or_more_hex_digits():
    assert ec2_ids.id_to_ec2_id(10) == "i-0000000a"
    assert ec2_ids.id_to_ec2_id("11", "vol") == "vol-0000000b"
    assert ec2_ids.id_to_ec2_id(2**36, "snap") == "snap-1000000000"


def test_image_ids_follow_the_image_type():
    assert ec2_ids.image_ec2_id({"id": 1, "type": "machine"}) == "ami-00000001"
    assert ec2_ids.image_ec2_id({"id": 2, "type": "kernel"}) == "aki-00000002"
    assert ec2_ids.image_ec2_id({"id": 3, "type": "ramdisk"}) == "ari-00000003"
    assert ec2_ids.image_ec2_id({"id": 4, "type": "other"}) == "ami-00000004"


@pytest.mark.parametrize("ec2_id, prefixes, expected", [
    ("i-0000000a", ("i",), 10), ("vol-1000000000", ("vol",), 2**36), ("aki-00000002", ("ami", "aki"), 2),
])
def test_ec2_id_to_id(ec2_id, prefixes, expected):
    assert ec2_ids.ec2_id_to_id(ec2_id, prefixes) == expected
    assert ec2_ids.ec2_id_to_id(ec2_ids.id_to_ec2_id(expected, prefixes[-1]), prefixes) == expected


@pytest.mark.parametrize("ec2_id", ["", None, "i-", "i-xyz", "I-0000000a", "vol-0000000a", "i-0000000a ",
                                    "i-ffffffffffffffff", "i-00000000000000001"])
def test_malformed_ids_are_invalid(ec2_id):
    with pytest.raises(exception.InvalidEc2Id) as err:
        ec2_ids.ec2_id_to_id(ec2_id, ("i",))
    assert str(err.value) == f'Invalid id: "{ec2_id}" (expecting "i-xxxxxxxx")'
    assert err.value.code == 400


def test_image_ids_accept_any_image_prefix_and_none():
    assert ec2_ids.image_ec2_id_to_id(None) is None
    assert [ec2_ids.image_ec2_id_to_id(i) for i in ("ami-00000001", "aki-00000002", "ari-00000003")] == [1, 2, 3]
    with pytest.raises(exception.InvalidEc2Id, match="ami-xxxxxxxx or aki-xxxxxxxx or ari-xxxxxxxx"):
        ec2_ids.image_ec2_id_to_id("i-00000001")
