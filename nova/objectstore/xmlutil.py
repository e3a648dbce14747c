"""Small helpers to render and parse S3's XML documents."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Callable, Iterable
from xml.sax.saxutils import escape

import webob
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from nova.objectstore.errors import malformed_xml

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def element(name: str, value: object) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def document(root: str, children: Iterable[str]) -> bytes:
    body = "".join(children)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{S3_NS}">{body}</{root}>'.encode("utf-8")


def xml_response(root: str, children: Iterable[str], status: int = 200) -> webob.Response:
    return webob.Response(body=document(root, children), status=status, content_type="application/xml",
                          charset=None)


def owner(project_id: str) -> str:
    return f"<Owner>{element('ID', project_id)}{element('DisplayName', project_id)}</Owner>"


def parse(body: bytes, root: str, error: Callable[[], Exception] = malformed_xml) -> ET.Element:
    """Parse a client's XML document (with defusedxml), ignoring namespaces; ``error()`` on anything odd."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise error()
    try:
        tree = SafeET.fromstring(body)
    except (ET.ParseError, DefusedXmlException):
        raise error() from None
    for node in tree.iter():
        if isinstance(node.tag, str) and "}" in node.tag:
            node.tag = node.tag.split("}", 1)[1]
    if tree.tag != root:
        raise error()
    return tree
