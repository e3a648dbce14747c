"""JSON or XML for v1.0/v1.1: which format a request wants, the XML writer and
the XML reader (defusedxml), and faults in either format.

The format is the URL's ``.json``/``.xml`` suffix, else the ``Accept``
header, else JSON.  XML follows the era's shape: a dict's scalars are
attributes, its dicts and lists child elements; ``metadata`` is a list of
``<meta key="...">value</meta>``, ``links`` are ``atom:link`` elements.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from xml.dom import minidom

import webob
from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from nova.api.openstack import faults

FORMAT_KEY = "nova.v11.format"
VERSION_KEY = "nova.v11.version"
NAMESPACES = {"v1.0": "http://docs.rackspacecloud.com/servers/api/v1.0",
              "v1.1": "http://docs.openstack.org/compute/api/v1.1"}
ATOM = "http://www.w3.org/2005/Atom"
CONTENT_TYPES = {"json": "application/json", "xml": "application/xml"}
# Fault statuses named as the first Nova named them (the rest as in faults.FAULT_NAMES).
V1_FAULT_NAMES = {**faults.FAULT_NAMES, 403: "resizeNotAllowed", 409: "inProgress",
                  500: "cloudServersFault"}
# A list's items are named by the list (servers -> server); these are not plain plurals.
_ITEM_NAMES = {"addresses": "ip", "public": "ip", "private": "ip", "ip": "ip", "values": "value",
               "security_groups": "security_group", "keypairs": "keypair", "rate": "limit",
               "limit": "limit", "rules": "rule", "floating_ips": "floating_ip", "personality": "file"}
# Members that are text children rather than attributes.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TEXT_MEMBERS = {"message", "details", "description", "public_key", "private_key", "output"}


def choose(req: webob.Request) -> str:
    """Strip a ``.json``/``.xml`` suffix from the path; 'json' or 'xml' for the response."""
    path = req.path_info
    for fmt in ("json", "xml"):
        if path.endswith("." + fmt):
            req.path_info = path[: -len(fmt) - 1]
            return fmt
    accept = req.headers.get("Accept", "")
    if "application/xml" in accept and "application/json" not in accept.split(",")[0]:
        return "xml"
    return "json"


def format_of(req: webob.Request) -> str:
    return req.environ.get(FORMAT_KEY, "json")


def namespace_of(req: webob.Request) -> str:
    return NAMESPACES[req.environ.get(VERSION_KEY, "v1.1")]


# -- writing -----------------------------------------------------------------------


def _item_name(plural: str) -> str:
    if plural in _ITEM_NAMES:
        return _ITEM_NAMES[plural]
    return plural[:-1] if plural.endswith("s") else plural


def _scalar(value: Any) -> str:
    """Text for XML; characters XML 1.0 cannot carry (control characters) become '?'."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else _NOT_XML.sub("?", str(value))


def _fill(doc: minidom.Document, node: minidom.Element, name: str, value: Any) -> None:
    if name == "metadata" and isinstance(value, dict):
        for key, item in value.items():
            meta = doc.createElement("meta")
            meta.setAttribute("key", str(key))
            meta.appendChild(doc.createTextNode(_scalar(item)))
            node.appendChild(meta)
        return
    if isinstance(value, dict):
        if name == "addresses" and all(isinstance(v, list) for v in value.values()):
            for label, ips in value.items():
                network = doc.createElement("network")
                network.setAttribute("id", str(label))
                _fill(doc, network, "ip", ips)
                node.appendChild(network)
            return
        for key, item in value.items():
            if key == "links" and isinstance(item, list):
                for link in item:
                    element = doc.createElement("atom:link")
                    for attr, text in link.items():
                        element.setAttribute(attr, _scalar(text))
                    node.appendChild(element)
            elif isinstance(item, (dict, list)):
                child = doc.createElement(str(key))
                _fill(doc, child, str(key), item)
                node.appendChild(child)
            elif key in _TEXT_MEMBERS:
                child = doc.createElement(str(key))
                child.appendChild(doc.createTextNode(_scalar(item)))
                node.appendChild(child)
            else:
                node.setAttribute(str(key), _scalar(item))
        return
    if isinstance(value, list):
        for item in value:
            child = doc.createElement(_item_name(name))
            if isinstance(item, (dict, list)):
                _fill(doc, child, _item_name(name), item)
            elif name in ("addresses", "public", "private", "ip"):
                child.setAttribute("addr", _scalar(item))
            else:
                child.appendChild(doc.createTextNode(_scalar(item)))
            node.appendChild(child)
        return
    node.appendChild(doc.createTextNode(_scalar(value)))


def to_xml(body: Any, namespace: str) -> bytes:
    """``{"server": {...}}`` as ``<server xmlns="...">``; a body with several members gets a wrapper."""
    doc = minidom.Document()
    if isinstance(body, dict) and len(body) == 1:
        (name, value), = body.items()
    else:
        name, value = "response", body
    root = doc.createElement(str(name))
    root.setAttribute("xmlns", namespace)
    root.setAttribute("xmlns:atom", ATOM)
    if name == "meta" and isinstance(value, dict) and len(value) == 1:
        (key, item), = value.items()
        root.setAttribute("key", str(key))
        root.appendChild(doc.createTextNode(_scalar(item)))
    else:
        _fill(doc, root, str(name), value)
    doc.appendChild(root)
    return doc.toxml(encoding="UTF-8")


def serialize(body: Any, fmt: str, namespace: str) -> bytes:
    if fmt == "xml":
        return to_xml(body, namespace)
    return json.dumps(body).encode("utf-8")


def fault_response(req: webob.Request, status: int, message: str, headers: dict[str, str] | None = None,
                   extra: dict[str, Any] | None = None) -> webob.Response:
    """A fault in the request's format, with the era's names (``cloudServersFault`` for the rest)."""
    name = V1_FAULT_NAMES.get(status, "cloudServersFault")
    content: dict[str, Any] = {"code": status, "message": message}
    content.update(extra or {})
    fmt = format_of(req)
    response = webob.Response(status=status, content_type=CONTENT_TYPES[fmt], charset="UTF-8")
    response.body = serialize({name: content}, fmt, namespace_of(req))
    if status == 503:
        response.headers["Retry-After"] = faults.RETRY_AFTER
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


# -- reading -----------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _element(node: Any) -> Any:
    """An element as a dict: attributes, then children (metadata/personality by their own rules)."""
    value: dict[str, Any] = dict(node.attrib)
    for child in node:
        name = _local(child.tag)
        if name == "metadata":
            value["metadata"] = {meta.get("key", ""): (meta.text or "") for meta in child
                                 if _local(meta.tag) == "meta"}
        elif name == "personality":
            value["personality"] = [{"path": item.get("path"), "contents": (item.text or "").strip()}
                                    for item in child if _local(item.tag) == "file"]
        elif len(child) or child.attrib:
            value[name] = _element(child)
        else:
            value[name] = (child.text or "").strip()
    return value


def from_xml(raw: bytes) -> dict[str, Any]:
    """An XML request body as the JSON body it stands for (``<meta key="k">v</meta>`` is ``{"meta": {k: v}}``)."""
    try:
        root = SafeET.fromstring(raw)
    except (SafeET.ParseError, DefusedXmlException, ValueError):
        raise faults.Fault(400, "Malformed request body: it is not well-formed XML.") from None
    name = _local(root.tag)
    if name == "meta":
        return {"meta": {root.get("key", ""): root.text or ""}}
    if name == "metadata":
        return _element(_wrap(root))
    return {name: _element(root)}


def _wrap(root: Any) -> Any:
    wrapper = SafeET.fromstring(b"<body/>")
    wrapper.append(root)
    return wrapper


def decode_personality(files: Any) -> list[tuple[str, bytes]]:
    """Check a ``personality`` list (path and base64 contents); 400 when malformed."""
    if files is None:
        return []
    if not isinstance(files, list):
        raise faults.Fault(400, "'personality' must be a list of {\"path\", \"contents\"} objects.")
    decoded = []
    for item in files:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str) or not item["path"]:
            raise faults.Fault(400, "Each personality file needs a 'path'.")
        try:
            contents = base64.b64decode(item.get("contents") or "", validate=True)
        except (TypeError, ValueError):
            raise faults.Fault(400, f"Personality content for {item['path'][:64]} cannot be decoded.") from None
        decoded.append((item["path"], contents))
    return decoded
