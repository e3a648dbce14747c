"""Typed parsing of EC2 query parameters."""

import base64

import pytest

from nova.api.ec2 import params as p
from nova.api.ec2.faults import EC2APIError

FILTERS = [p.Param("Filter", p.Filters("instance-id", "tag:"), default={}, dest="filters")]


def code_of(call):
    with pytest.raises(EC2APIError) as excinfo:
        call()
    return excinfo.value.code


def test_lists_are_ordered_by_their_numbers_not_as_sent():
    declared = [p.Param("InstanceId", p.ListOf(p.Ec2Id("i")), default=[])]
    kwargs = p.parse({"InstanceId.10": "i-0000000a", "InstanceId.2": "i-00000002", "InstanceId.1": "i-1"}, declared)
    assert kwargs == {"instance_id": [1, 2, 10]}
    assert p.parse({}, declared) == {"instance_id": []}


def test_filters_fold_names_and_values():
    kwargs = p.parse({"Filter.1.Name": "tag:Name", "Filter.1.Value.1": "web", "Filter.1.Value.2": "db",
                      "Filter.2.Name": "instance-id", "Filter.2.Value.1": "i-00000001"}, FILTERS)
    assert kwargs["filters"] == {"tag:Name": ["web", "db"], "instance-id": ["i-00000001"]}
    assert code_of(lambda: p.parse({"Filter.1.Name": "colour", "Filter.1.Value.1": "x"}, FILTERS)) \
        == "InvalidParameterValue"
    assert code_of(lambda: p.parse({"Filter.1.Value.1": "x"}, FILTERS)) == "MissingParameter"


def test_structs_take_snake_case_keywords():
    declared = [p.Param("Placement", p.Struct(p.Param("AvailabilityZone")), default={})]
    assert p.parse({"Placement.AvailabilityZone": "nova"}, declared) == {"placement": {"availability_zone": "nova"}}
    assert code_of(lambda: p.parse({"Placement.Colour": "x"}, declared)) == "UnknownParameter"
    assert code_of(lambda: p.parse({"Placement": "nova"}, declared)) == "InvalidParameterValue"


@pytest.mark.parametrize("raw, code", [
    ({"Count": "ten"}, "InvalidParameterValue"),
    ({"Count": "0"}, "InvalidParameterValue"),
    ({"Count": "99999999999999999999999"}, "InvalidParameterValue"),
    ({"Count": "1001"}, "InvalidParameterValue"),
    ({"Count": "5", "Colour": "red"}, "UnknownParameter"),
    ({}, "MissingParameter"),
    ({"Count": "5", "Flag": "yes"}, "InvalidParameterValue"),
    ({"Count": "5", "Name": "x" * 256}, "InvalidParameterValue"),
    ({"Count": "5", "Name": "a\x01b"}, "InvalidParameterValue"),
    ({"Count": "5", "Data": "!!!notbase64"}, "InvalidParameterValue"),
    ({"Count": "5", "Count.1": "6"}, "InvalidParameterValue"),
    ({"Count": "5", "Ids.x": "i-1"}, "UnknownParameter"),
    ({"Count": "5", "Ids": "i-1"}, "InvalidParameterValue"),
    ({"Count": "5", "Ids.1": "vol-1"}, "InvalidInstanceID.Malformed"),
    ({"Count": "5", "Ids.1": "i-zz"}, "InvalidInstanceID.Malformed"),
    ({"Count": "5", "a..b": "x"}, "UnknownParameter"),
    ({"Count": "5", "Ids." + "9" * 5000: "i-1"}, "UnknownParameter"),  # int() refuses 4,300+ digits: was a 500
    ({"Count": "5", "Ids.\u00b2": "i-1"}, "UnknownParameter"),  # '²'.isdigit() is true, int('²') fails
    ({"Count": "\u00b2"}, "InvalidParameterValue"),
    ({"Count": "5", "Ids.1": "i-1", "Ids.01": "i-2"}, "InvalidParameterValue"),  # one member twice: was a 500
])
def test_bad_values_are_ec2_errors(raw, code):
    declared = [p.Param("Count", p.Integer(1, 1000), required=True), p.Param("Flag", p.Boolean()),
                p.Param("Name"), p.Param("Data", p.Base64Data()), p.Param("Ids", p.ListOf(p.Ec2Id("i")))]
    assert code_of(lambda: p.parse(raw, declared)) == code


def test_typed_values():
    declared = [p.Param("Count", p.Integer(1, 10)), p.Param("Flag", p.Boolean()), p.Param("Data", p.Base64Data())]
    kwargs = p.parse({"Count": "7", "Flag": "TRUE", "Data": base64.b64encode(b"\x00hi").decode()}, declared)
    assert kwargs == {"count": 7, "flag": True, "data": b"\x00hi"}
