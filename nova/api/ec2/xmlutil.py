"""EC2 responses as XML, in the namespace of the requested API version.

An action returns plain data; ``render`` writes it the way EC2 does: dict
keys become elements (in the order given; ``None`` values are left out),
lists become ``<item>`` elements, booleans ``true``/``false``, datetimes ISO
8601 in UTC.  ``True`` alone becomes ``<return>true</return>``.
"""

from __future__ import annotations

import datetime
from typing import Any
from xml.etree import ElementTree

from nova.api.ec2 import ec2utils
from nova.api.ec2.faults import xml_safe

DEFAULT_VERSION = "2016-11-15"


def namespace(version: str) -> str:
    return f"http://ec2.amazonaws.com/doc/{version}/"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        return ec2utils.isotime(value) or ""
    if isinstance(value, bytes):
        return xml_safe(value.decode("utf-8", errors="replace"))
    return xml_safe(str(value))


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            if child is None:
                continue
            _fill(ElementTree.SubElement(element, key), child)
    elif isinstance(value, (list, tuple)):
        for child in value:
            _fill(ElementTree.SubElement(element, "item"), child)
    else:
        element.text = _text(value)


def render(action: str, version: str, request_id: str, result: Any) -> bytes:
    root = ElementTree.Element(f"{action}Response", xmlns=namespace(version))
    ElementTree.SubElement(root, "requestId").text = request_id
    if result is True:
        result = {"return": True}
    if result is not None:
        _fill(root, result)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="utf-8")
