"""EC2 responses as XML, in the namespace of the requested API version.

An action returns plain data; ``render`` writes it the way EC2 does: dict
keys become elements (in the order given; ``None`` values are left out),
lists become ``<item>`` elements, booleans ``true``/``false``, datetimes ISO
8601 in UTC.  ``True`` alone becomes ``<return>true</return>``.

The document is built as a list of strings joined once, text escaped here:
an ElementTree of a 10,000-instance DescribeInstances took seconds to build
and serialize, most of it per-element overhead.  Keys are the actions' own
element names, never client input.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from nova import gc_pause
from nova.api.ec2 import ec2utils
from nova.api.ec2.faults import xml_safe

DEFAULT_VERSION = "2016-11-15"


def namespace(version: str) -> str:
    return f"http://ec2.amazonaws.com/doc/{version}/"


# What XML 1.0 cannot carry (see faults.xml_safe) and what character data must escape: most text
# has neither, and one search tells.
_SPECIAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff&<>]")


def _escape(text: str) -> str:
    if _SPECIAL.search(text) is None:
        return text
    return xml_safe(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime.datetime):
        return ec2utils.isotime(value) or ""
    if isinstance(value, bytes):
        return _escape(value.decode("utf-8", errors="replace"))
    return _escape(str(value))


def _write(out: list[str], tag: str, value: Any) -> None:
    kind = type(value)
    if kind is str:
        text = _escape(value) if value else ""
    elif kind is dict or kind is list or kind is tuple:
        start = len(out)
        out.append(f"<{tag}>")
        if kind is dict:
            for key, child in value.items():
                if child is not None:
                    _write(out, key, child)
        else:
            for child in value:
                _write(out, "item", child)
        if len(out) == start + 1:
            out[start] = f"<{tag} />"
        else:
            out.append(f"</{tag}>")
        return
    else:
        text = _text(value)
    out.append(f"<{tag}>{text}</{tag}>" if text else f"<{tag} />")


def render(action: str, version: str, request_id: str, result: Any) -> bytes:
    if result is True:
        result = {"return": True}
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<{action}Response xmlns="{_escape(namespace(version))}">',
           f"<requestId>{_escape(request_id)}</requestId>"]
    with gc_pause.collection_paused():
        if isinstance(result, dict):
            for key, child in result.items():
                if child is not None:
                    _write(out, key, child)
        elif isinstance(result, (list, tuple)):
            for child in result:
                _write(out, "item", child)
        elif result is not None:
            out.append(_text(result))
    out.append(f"</{action}Response>")
    return "".join(out).encode("utf-8")
