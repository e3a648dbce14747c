"""Tag sets of objects and buckets: the x-amz-tagging header, the Tagging document, S3's limits."""

from __future__ import annotations

import urllib.parse

from nova.objectstore.errors import S3Error, invalid_argument
from nova.objectstore.xmlutil import element, parse

MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50


def invalid_tag(message: str) -> S3Error:
    return S3Error("InvalidTag", message, 400)


def check(tags: list[tuple[str, str]], limit: int) -> dict[str, str]:
    if len(tags) > limit:
        if limit == MAX_OBJECT_TAGS:
            raise S3Error("BadRequest", "Object tags cannot be greater than 10", 400)
        raise invalid_tag(f"Bucket tag count cannot be greater than {limit}")
    result: dict[str, str] = {}
    for key, value in tags:
        if not key or len(key) > 128:
            raise invalid_tag("The TagKey you have provided is invalid")
        if len(value) > 256:
            raise invalid_tag("The TagValue you have provided is invalid")
        if key.startswith("aws:"):
            raise invalid_tag("Your TagKey cannot be prefixed with aws:")
        if key in result:
            raise invalid_tag("Cannot provide multiple Tags with the same key")
        result[key] = value
    return result


def from_header(value: str | None) -> dict[str, str] | None:
    """The x-amz-tagging header (a URL-encoded query string), None when absent."""
    if value is None:
        return None
    try:
        pairs = urllib.parse.parse_qsl(value, keep_blank_values=True, strict_parsing=bool(value))
    except ValueError:
        raise invalid_argument("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query "
                               "parameters without tag name duplicates.", "x-amz-tagging", value[:200]) from None
    return check(pairs, MAX_OBJECT_TAGS)


def from_xml(body: bytes, limit: int) -> dict[str, str]:
    tree = parse(body, "Tagging")
    tag_set = tree.find("TagSet")
    if tag_set is None:
        raise S3Error("MalformedXML", "The XML you provided was not well-formed or did not validate against our "
                      "published schema.", 400)
    pairs = []
    for node in tag_set.findall("Tag"):
        key, value = node.findtext("Key"), node.findtext("Value")
        if key is None or value is None:
            raise S3Error("MalformedXML", "The XML you provided was not well-formed or did not validate against "
                          "our published schema.", 400)
        pairs.append((key, value))
    return check(pairs, limit)


def to_xml(tags: dict[str, str]) -> list[str]:
    return ["<TagSet>" + "".join(f"<Tag>{element('Key', k)}{element('Value', v)}</Tag>" for k, v in tags.items())
            + "</TagSet>"]
