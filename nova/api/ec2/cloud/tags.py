"""Tags: CreateTags, DeleteTags, DescribeTags, and the helpers other resource
modules use to accept ``TagSpecification.N`` and ``tag:`` filters and to page
``MaxResults``/``NextToken`` listings.

The tags themselves live behind ``nova.tag.api``; this module maps EC2 ids
(``i-``, ``key-``, ``sg-``, ``ami-``...) to resource types and back.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Callable, Iterable

from nova import context, utils
from nova.api.ec2 import ec2utils
from nova.api.ec2.actions import ALL, ActionSet
from nova.api.ec2.faults import EC2APIError
from nova.api.ec2.params import Filters, Integer, ListOf, Param, String, Struct
from nova.tag import api as tag_api

actions = ActionSet()
MAX_TAGS_PER_RESOURCE = tag_api.MAX_TAGS_PER_RESOURCE

TAG = Struct(Param("Key", String(max_length=127, min_length=1), required=True),
             Param("Value", String(max_length=255), default=""))
TAG_SPECIFICATIONS = ListOf(Struct(Param("ResourceType", String(min_length=1), required=True),
                                   Param("Tag", ListOf(TAG, max_items=MAX_TAGS_PER_RESOURCE), default=[])),
                            max_items=10)

# EC2 id prefix -> resource type
_PREFIXES: dict[str, str] = {"i": "instance", "key": "key-pair", "sg": "security-group", "ami": "image",
                             "aki": "image", "ari": "image", "vol": "volume", "snap": "snapshot",
                             "eipalloc": "elastic-ip"}
_IMAGE_PREFIXES = {"machine": "ami", "kernel": "aki", "ramdisk": "ari"}


def _api() -> tag_api.API:
    return tag_api.API()


def _prefix_of(resource_type: str) -> str:
    for prefix, kind in _PREFIXES.items():
        if kind == resource_type:
            return prefix
    return resource_type


def resolve(resource_id: str) -> tuple[str, int]:
    """(resource type, db id) of an EC2 id; the tag API checks that the caller may see it."""
    prefix = resource_id.partition("-")[0]
    if prefix not in _PREFIXES or _PREFIXES[prefix] not in tag_api.taggable_types():
        raise EC2APIError("InvalidID", f"The ID '{resource_id[:100]}' is not valid")
    return _PREFIXES[prefix], ec2utils.ec2_id_to_id(resource_id, (prefix,))


def tags_for(specifications: list[dict[str, Any]], resource_type: str) -> dict[str, str]:
    """The tags that ``TagSpecification.N`` asks for on ``resource_type``."""
    return tags_by_type(specifications, (resource_type,))[resource_type]


def tags_by_type(specifications: list[dict[str, Any]], resource_types: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """``{resource type: tags}`` that ``TagSpecification.N`` asks for, each type one of ``resource_types``."""
    result: dict[str, dict[str, str]] = {kind: {} for kind in resource_types}
    for spec in specifications:
        if spec["resource_type"] not in result:
            raise EC2APIError("InvalidParameterValue",
                              f"'{spec['resource_type'][:60]}' is not a valid taggable resource type for this "
                              f"operation; use {' or '.join(resource_types)}")
        for tag in spec["tag"]:
            tag_api.check_key(tag["key"])
            result[spec["resource_type"]][tag["key"]] = tag["value"]
    return result


def apply(ctxt: context.RequestContext, resource_type: str, db_id: int, pairs: dict[str, str]) -> None:
    """Tags a new resource with what its TagSpecification asked for."""
    _api().apply(ctxt, resource_type, db_id, pairs)


def get_by_resources(ctxt: context.RequestContext, resource_type: str,
                     db_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    return _api().get_by_resources(ctxt, resource_type, db_ids)


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


def paginate(rows: list[Any], max_results: int | None, next_token: str | None) -> tuple[list[Any], str | None]:
    """One page of ``rows`` (``MaxResults``/``NextToken``) and the next page's token.

    Tokens are offsets (DescribeInstances, DescribeTags, DescribeImages, DescribeSecurityGroups);
    an offset past the end is refused.
    """
    start = 0
    if next_token:
        start = utils.decimal(next_token, 18)
        if start is None or start > len(rows):
            raise EC2APIError("InvalidParameterValue", "The NextToken is not valid")
    end = start + max_results if max_results else len(rows)
    return rows[start:end], (str(end) if end < len(rows) else None)


def after_id(next_token: str | None) -> int | None:
    """The last id of the previous page, which an id-based NextToken names (DescribeInstances,
    DescribeImages, DescribeSecurityGroups, DescribeVolumes, DescribeSnapshots)."""
    if next_token is None:
        return None
    token = utils.decimal(next_token, 18)
    if token is None:
        raise EC2APIError("InvalidParameterValue", "The NextToken is not valid")
    return token


def sql_page(fetch: Callable[[int | None, int], list[Any]], after: int | None, max_results: int) -> list[Any]:
    """Up to ``max_results + 1`` rows after the token's id (the one more tells whether another page
    follows) from ``fetch(after_id, limit)``, which pages by id in SQL.  The token's own row is read
    too: a token with neither it nor any row after it is refused, as an offset past the end was."""
    if after is None:
        return fetch(None, max_results + 1)
    rows = fetch(after - 1, max_results + 2)
    if not rows:
        raise EC2APIError("InvalidParameterValue", "The NextToken is not valid")
    return rows[1:] if rows[0]["id"] == after else rows[:max_results + 1]


def listed(fetch_all: Callable[[], list[Any]], fetch_page: Callable[[int | None, int], list[Any]], narrowed: bool,
           max_results: int | None, next_token: str | None) -> list[Any]:
    """The rows a paging Describe call renders: when nothing narrows the listing (ids, names,
    owners, filters), ``fetch_page(after_id, limit)`` cuts the page in SQL; otherwise ``fetch_all()``
    gives the rows and those after the token are kept, in id order when paged."""
    after = after_id(next_token)
    if max_results and not narrowed:
        return sql_page(fetch_page, after, max_results)
    rows = fetch_all()
    if max_results or after is not None:
        rows = sorted((r for r in rows if after is None or r["id"] > after), key=lambda r: r["id"])
    return rows


def id_page(rows: list[Any], max_results: int | None) -> tuple[list[Any], str | None]:
    """The first ``max_results`` of ``rows`` (ordered by id) and, when more follow, the NextToken:
    the last id shown."""
    if not max_results or len(rows) <= max_results:
        return rows, None
    shown = rows[:max_results]
    return shown, str(shown[-1]["id"])


@actions.register("CreateTags", roles=ALL, params=[
    Param("ResourceId", ListOf(String(min_length=1), max_items=1000), required=True),
    Param("Tag", ListOf(TAG, max_items=MAX_TAGS_PER_RESOURCE), required=True),
])
def create_tags(ctxt: context.RequestContext, resource_id: list[str], tag: list[dict[str, str]]) -> bool:
    for item in tag:
        tag_api.check_key(item["key"])
    targets = [resolve(rid) for rid in resource_id]
    _api().create(ctxt, targets, {item["key"]: item["value"] for item in tag})
    return True


@actions.register("DeleteTags", roles=ALL, params=[
    Param("ResourceId", ListOf(String(min_length=1), max_items=1000), required=True),
    Param("Tag", ListOf(Struct(Param("Key", String(max_length=127, min_length=1), required=True),
                               Param("Value", String(max_length=255))),
                        max_items=MAX_TAGS_PER_RESOURCE), default=[]),
])
def delete_tags(ctxt: context.RequestContext, resource_id: list[str], tag: list[dict[str, Any]]) -> bool:
    targets = [resolve(rid) for rid in resource_id]
    _api().delete(ctxt, targets, [(item["key"], item["value"]) for item in tag] or None)
    return True


@actions.register("DescribeTags", roles=ALL, params=[
    Param("Filter", Filters("key", "value", "resource-id", "resource-type"), default={}, dest="filters"),
    Param("MaxResults", Integer(5, 1000)),
    Param("NextToken", String(max_length=64)),
])
def describe_tags(ctxt: context.RequestContext, filters: dict[str, list[str]], max_results: int | None,
                  next_token: str | None) -> dict[str, Any]:
    rows = _api().get_all(ctxt, filters["resource-type"] if "resource-type" in filters else None)
    values = {
        "key": lambda r: [r["key"]],
        "value": lambda r: [r["value"]],
        "resource-id": lambda r: [ec2utils.id_to_ec2_id(r["resource_id"], _prefix_of(r["resource_type"]))],
        "resource-type": lambda r: [r["resource_type"]],
    }
    rows = [r for r in rows if matches(filters, values, r, {})]
    page, token = paginate(rows, max_results, next_token)
    return {
        "tagSet": [{"resourceId": ec2utils.id_to_ec2_id(r["resource_id"], _prefix_of(r["resource_type"])),
                    "resourceType": r["resource_type"], "key": r["key"], "value": r["value"] or ""} for r in page],
        "nextToken": token,
    }


def delete_all(ctxt: context.RequestContext, resource_type: str, db_id: int) -> None:
    """Forget a deleted resource's tags."""
    _api().delete_all(ctxt, resource_type, db_id)
