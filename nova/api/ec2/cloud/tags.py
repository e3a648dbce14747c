"""Tags: CreateTags, DeleteTags, DescribeTags, and the helpers other resource
modules use to accept ``TagSpecification.N`` and ``tag:`` filters.

A resource can be tagged once its module registers its id prefix with
``register_taggable`` and a function that raises the resource's NotFound
error when the caller cannot see it (another project's resource is
"not found", never "forbidden").
"""

from __future__ import annotations

import fnmatch
from typing import Any, Callable, Iterable

from nova import context, exception
from nova.api.ec2 import ec2utils
from nova.api.ec2.actions import ALL, ActionSet
from nova.api.ec2.faults import EC2APIError
from nova.api.ec2.params import Filters, Integer, ListOf, Param, String, Struct
from nova.db import api as db

actions = ActionSet()
MAX_TAGS_PER_RESOURCE = 50

TAG = Struct(Param("Key", String(max_length=127, min_length=1), required=True),
             Param("Value", String(max_length=255), default=""))
TAG_SPECIFICATIONS = ListOf(Struct(Param("ResourceType", String(min_length=1), required=True),
                                   Param("Tag", ListOf(TAG, max_items=MAX_TAGS_PER_RESOURCE), default=[])),
                            max_items=10)

Checker = Callable[[context.RequestContext, int], Any]
# id prefix -> (EC2 resource type, checker)
_TAGGABLE: dict[str, tuple[str, Checker]] = {}


def register_taggable(prefix: str, resource_type: str, check: Checker) -> None:
    _TAGGABLE[prefix] = (resource_type, check)


def _check_instance(ctxt: context.RequestContext, db_id: int) -> None:
    db.instance_get(ctxt, db_id)


def _check_key_pair(ctxt: context.RequestContext, db_id: int) -> None:
    if not any(row["id"] == db_id for row in db.key_pair_get_all_by_user(ctxt, ctxt.user_id)):
        raise EC2APIError("InvalidKeyPair.NotFound", f"The key pair '{ec2utils.id_to_ec2_id(db_id, 'key')}' "
                          "does not exist")


register_taggable("i", "instance", _check_instance)
register_taggable("key", "key-pair", _check_key_pair)


def _prefix_of(resource_type: str) -> str:
    for prefix, (kind, _check) in _TAGGABLE.items():
        if kind == resource_type:
            return prefix
    return resource_type


def resolve(ctxt: context.RequestContext, resource_id: str) -> tuple[str, int]:
    """(resource type, db id) of an EC2 id the caller may tag; NotFound otherwise."""
    prefix = resource_id.partition("-")[0]
    if prefix not in _TAGGABLE:
        raise EC2APIError("InvalidID", f"The ID '{resource_id[:100]}' is not valid")
    resource_type, check = _TAGGABLE[prefix]
    db_id = ec2utils.ec2_id_to_id(resource_id, (prefix,))
    check(ctxt, db_id)
    return resource_type, db_id


def _check_key(key: str) -> None:
    if key.lower().startswith("aws:"):
        raise EC2APIError("InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")


def tags_for(specifications: list[dict[str, Any]], resource_type: str) -> dict[str, str]:
    """The tags that ``TagSpecification.N`` asks for on ``resource_type``."""
    result: dict[str, str] = {}
    for spec in specifications:
        if spec["resource_type"] != resource_type:
            raise EC2APIError("InvalidParameterValue",
                              f"'{spec['resource_type'][:60]}' is not a valid taggable resource type here")
        for tag in spec["tag"]:
            _check_key(tag["key"])
            result[tag["key"]] = tag["value"]
    return result


def apply(ctxt: context.RequestContext, resource_type: str, db_id: int, pairs: dict[str, str]) -> None:
    for key, value in pairs.items():
        db.tag_create_or_update(ctxt, resource_type, db_id, key, value)


def _like(value: Any, patterns: Iterable[str]) -> bool:
    text = "" if value is None else str(value)
    return any(fnmatch.fnmatchcase(text, pattern) for pattern in patterns)


def matches(filters: dict[str, list[str]], values: dict[str, Callable[[Any], list[Any]]], row: Any,
            row_tags: dict[str, Any]) -> bool:
    """Whether ``row`` passes every filter: values OR-ed within a filter, filters AND-ed (EC2's rule)."""
    for name, wanted in filters.items():
        if name.startswith("tag:"):
            key = name[4:]
            if key not in row_tags or not _like(row_tags[key], wanted):
                return False
        elif name == "tag-key":
            if not any(_like(key, wanted) for key in row_tags):
                return False
        elif name == "tag-value":
            if not any(_like(value, wanted) for value in row_tags.values()):
                return False
        elif name in values:
            if not any(_like(value, wanted) for value in values[name](row)):
                return False
    return True


@actions.register("CreateTags", roles=ALL, params=[
    Param("ResourceId", ListOf(String(min_length=1), max_items=1000), required=True),
    Param("Tag", ListOf(TAG, max_items=MAX_TAGS_PER_RESOURCE), required=True),
])
def create_tags(ctxt: context.RequestContext, resource_id: list[str], tag: list[dict[str, str]]) -> bool:
    for item in tag:
        _check_key(item["key"])
    targets = [resolve(ctxt, rid) for rid in resource_id]
    for resource_type, db_id in targets:
        existing = db.tag_get_by_resources(ctxt, resource_type, [db_id]).get(db_id, {})
        if len(set(existing) | {item["key"] for item in tag}) > MAX_TAGS_PER_RESOURCE:
            raise EC2APIError("TagLimitExceeded", f"A resource may have at most {MAX_TAGS_PER_RESOURCE} tags")
    for resource_type, db_id in targets:
        for item in tag:
            db.tag_create_or_update(ctxt, resource_type, db_id, item["key"], item["value"])
    return True


@actions.register("DeleteTags", roles=ALL, params=[
    Param("ResourceId", ListOf(String(min_length=1), max_items=1000), required=True),
    Param("Tag", ListOf(Struct(Param("Key", String(max_length=127, min_length=1), required=True),
                               Param("Value", String(max_length=255))),
                        max_items=MAX_TAGS_PER_RESOURCE), default=[]),
])
def delete_tags(ctxt: context.RequestContext, resource_id: list[str], tag: list[dict[str, Any]]) -> bool:
    targets = [resolve(ctxt, rid) for rid in resource_id]
    for resource_type, db_id in targets:
        if not tag:
            db.tag_delete_all_for_resource(ctxt, resource_type, db_id)
        for item in tag:
            db.tag_delete(ctxt, resource_type, db_id, item["key"], item["value"])
    return True


@actions.register("DescribeTags", roles=ALL, params=[
    Param("Filter", Filters("key", "value", "resource-id", "resource-type"), default={}, dest="filters"),
    Param("MaxResults", Integer(5, 1000)),
    Param("NextToken", String(max_length=64)),
])
def describe_tags(ctxt: context.RequestContext, filters: dict[str, list[str]], max_results: int | None,
                  next_token: str | None) -> dict[str, Any]:
    rows = db.tag_get_all(ctxt, {"resource_type": filters["resource-type"]} if "resource-type" in filters else {})
    values = {
        "key": lambda r: [r["key"]],
        "value": lambda r: [r["value"]],
        "resource-id": lambda r: [ec2utils.id_to_ec2_id(r["resource_id"], _prefix_of(r["resource_type"]))],
        "resource-type": lambda r: [r["resource_type"]],
    }
    rows = [r for r in rows if matches(filters, values, r, {})]
    start = 0
    if next_token:
        if not next_token.isdigit() or int(next_token) > len(rows):
            raise EC2APIError("InvalidParameterValue", "The NextToken is not valid")
        start = int(next_token)
    end = start + max_results if max_results else len(rows)
    page = rows[start:end]
    return {
        "tagSet": [{"resourceId": ec2utils.id_to_ec2_id(r["resource_id"], _prefix_of(r["resource_type"])),
                    "resourceType": r["resource_type"], "key": r["key"], "value": r["value"] or ""} for r in page],
        "nextToken": str(end) if end < len(rows) else None,
    }


def delete_all(ctxt: context.RequestContext, resource_type: str, db_id: int) -> None:
    """Forget a deleted resource's tags."""
    try:
        db.tag_delete_all_for_resource(ctxt, resource_type, db_id)
    except exception.NotFound:
        pass
