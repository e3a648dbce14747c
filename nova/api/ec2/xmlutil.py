"""EC2 responses as XML, in the namespace of the requested API version.

An action returns plain data; ``render`` writes it the way EC2 does: dict
keys become elements (in the order given; ``None`` values are left out),
lists become ``<item>`` elements, booleans ``true``/``false``, datetimes ISO
8601 in UTC.  ``True`` alone becomes ``<return>true</return>``.

The document is built as a list of strings joined once, text escaped here:
an ElementTree of a 10,000-instance DescribeInstances took seconds to build
and serialize, most of it per-element overhead.  Keys are the actions' own
element names, never client input.

A large listing hands its rows over as ``Fragments``: an iterable of XML
strings, each a whole ``<item>`` its action wrote (and escaped) itself, taken
lazily while ``render_chunks`` streams the document in pieces of about
``CHUNK`` bytes, so the first bytes leave before the last rows are written.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Iterable, Iterator

from nova import gc_pause
from nova.api.ec2 import ec2utils
from nova.api.ec2.faults import xml_safe

DEFAULT_VERSION = "2016-11-15"


def namespace(version: str) -> str:
    return f"http://ec2.amazonaws.com/doc/{version}/"


# What XML 1.0 cannot carry (see faults.xml_safe) and what character data must escape: most text
# has neither, and one search tells.
_SPECIAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff&<>]")


def escape(text: str) -> str:
    """``text`` as XML character data (what XML 1.0 cannot carry shown as in ``faults.xml_safe``)."""
    if _SPECIAL.search(text) is None:
        return text
    return xml_safe(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_escape = escape


class Fragments:
    """Members of a list element already written as XML (each a whole ``<item>...</item>``, text
    escaped), produced lazily: ``render_chunks`` streams them as they come."""

    __slots__ = ("items",)

    def __init__(self, items: Iterable[str]) -> None:
        self.items = items


CHUNK = 64 * 1024


def items(values: Iterable[Any]) -> Fragments:
    """A list of plain data (built already: nothing can fail once the response streams) written
    ``<item>`` by ``<item>`` by the rules above as the response leaves."""

    def written() -> Iterator[str]:
        for value in values:
            out: list[str] = []
            _write(out, "item", value)
            yield "".join(out)

    return Fragments(written())


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
    elif kind is Fragments:
        start = len(out)
        out.append(f"<{tag}>")
        out.extend(value.items)
        if len(out) == start + 1:
            out[start] = f"<{tag} />"
        else:
            out.append(f"</{tag}>")
        return
    else:
        text = _text(value)
    out.append(f"<{tag}>{text}</{tag}>" if text else f"<{tag} />")


write = _write  # ``write(out, tag, value)``: one element of plain data appended to ``out``


def render(action: str, version: str, request_id: str, result: Any) -> bytes:
    return b"".join(render_chunks(action, version, request_id, result))


def render_chunks(action: str, version: str, request_id: str, result: Any) -> Iterator[bytes]:
    """The document in pieces: everything up to the first ``Fragments`` of ``result``'s top level
    at once, then about ``CHUNK`` bytes at a time.  A result without ``Fragments`` is one piece."""
    if result is True:
        result = {"return": True}
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<{action}Response xmlns="{_escape(namespace(version))}">',
           f"<requestId>{_escape(request_id)}</requestId>"]
    if isinstance(result, dict):
        for key, child in result.items():
            if type(child) is Fragments:
                items = iter(child.items)
                first = next(items, None)
                if first is None:
                    out.append(f"<{key} />")
                    continue
                out.append(f"<{key}>")
                out.append(first)
                size = 0
                for text in items:
                    out.append(text)
                    size += len(text)
                    if size >= CHUNK:
                        yield "".join(out).encode("utf-8")
                        out.clear()
                        size = 0
                out.append(f"</{key}>")
            elif child is not None:
                with gc_pause.collection_paused():
                    _write(out, key, child)
    elif isinstance(result, (list, tuple)):
        with gc_pause.collection_paused():
            for child in result:
                _write(out, "item", child)
    elif result is not None:
        out.append(_text(result))
    out.append(f"</{action}Response>")
    yield "".join(out).encode("utf-8")
