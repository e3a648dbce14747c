"""Hypothesis over v1.0/v1.1 paths and JSON or XML bodies: never a 500, every fault in the asked format."""

import json
from xml.dom import minidom
from xml.sax.saxutils import quoteattr

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova.api.openstack.v11 import ratelimit
from tests.unit.api.openstack.test_v11 import Era

ROUTES = [
    ("POST", "/servers"), ("GET", "/servers"), ("GET", "/servers/detail"), ("GET", "/servers/{id}"),
    ("PUT", "/servers/{id}"), ("DELETE", "/servers/{id}"), ("POST", "/servers/{id}/action"),
    ("GET", "/servers/{id}/ips/{id}"), ("GET", "/servers/{id}/meta/{id}"), ("PUT", "/servers/{id}/meta/{id}"),
    ("POST", "/servers/{id}/meta"), ("PUT", "/servers/{id}/meta"), ("DELETE", "/servers/{id}/meta/{id}"),
    ("GET", "/flavors/{id}"), ("GET", "/images/{id}"), ("POST", "/images"), ("DELETE", "/images/{id}"),
    ("POST", "/images/{id}/meta"), ("PUT", "/images/{id}/meta/{id}"), ("GET", "/extensions/{id}"),
    ("GET", "/servers?changes-since={id}"), ("GET", "/servers/detail?limit={id}&marker={id}"), ("GET", "/limits"),
]
ROOTS = ["server", "image", "meta", "metadata", "reboot", "rebuild", "resize", "changePassword", "createImage"]
FIELDS = ["name", "imageRef", "flavorRef", "imageId", "flavorId", "metadata", "personality", "type", "serverRef",
          "serverId", "adminPass", "1", "path", "contents"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.text(max_size=12),
                    st.sampled_from(["1", "HARD", "SOFT", "aGk=", "http://x/images/1"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(FIELDS), inner, max_size=3)),
                      max_leaves=6)
bodies = st.one_of(st.dictionaries(st.sampled_from(ROOTS), st.dictionaries(st.sampled_from(FIELDS), values,
                                                                           max_size=5), max_size=2), values)
ids = st.one_of(st.text(alphabet=st.characters(blacklist_characters="/?#%&.", blacklist_categories=("Cs",)),
                        min_size=1, max_size=30), st.sampled_from(["1", "0", "-1", "99999999999999999999"]))


def as_xml(body):
    """The same body as an era client's XML (root attributes, <meta> items), or nothing sensible."""
    if not isinstance(body, dict) or not body:
        return b"<" + json.dumps(body).encode()
    root, fields = next(iter(body.items()))
    fields = fields if isinstance(fields, dict) else {}
    attrs = "".join(f" {k if k[0].isalpha() else 'k' + k}={quoteattr(str(v))}" for k, v in fields.items()
                    if not isinstance(v, (dict, list)))
    meta = "".join(f"<meta key={quoteattr(str(k))}>{v}</meta>" for k, v in (fields.get("metadata") or {}).items()) \
        if isinstance(fields.get("metadata"), dict) else ""
    return f'<{root} xmlns="http://docs.openstack.org/compute/api/v1.1"{attrs}><metadata>{meta}</metadata>' \
           f"</{root}>".encode("utf-8", "replace")


def test_no_500(cloud, monkeypatch):
    # The limits have their own tests; here they would only turn most requests into 413s.
    monkeypatch.setattr(ratelimit.Limiter, "check", lambda self, user, verb, url: None)
    eras = {"v1.1": Era(cloud), "v1.0": Era(cloud, version="v1.0")}
    server_id = eras["v1.1"].call("POST", "/servers", {"server": {"name": "f", "imageRef": cloud.image_id,
                                                                  "flavorRef": "1"}}).json()["server"]["id"]
    known = st.sampled_from([server_id, cloud.image_id, "1", "os-keypairs", "a"])

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(route=st.sampled_from(ROUTES), item=st.one_of(known, ids), body=bodies, version=st.sampled_from(sorted(eras)),
           xml=st.booleans())
    def check(route, item, body, version, xml):
        method, path = route
        data = as_xml(body) if xml else json.dumps(body).encode()
        response = eras[version].call(method, path.replace("{id}", item), data, xml=xml,
                                      headers={"Content-Type": "application/xml" if xml else "application/json"})
        assert response.status_code < 500, (method, path, item, body, response.text)
        if response.status_code >= 400:
            if xml:
                root = minidom.parseString(response.content).documentElement
                assert root.getAttribute("code") == str(response.status_code)
            else:
                (_name, fault), = response.json().items()
                assert fault["code"] == response.status_code

    check()
