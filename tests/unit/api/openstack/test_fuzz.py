"""Hypothesis over the routes' paths and JSON bodies: whatever a client sends, never a 500."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROUTES = [
    ("POST", "/servers"), ("GET", "/servers"), ("GET", "/servers/detail"), ("GET", "/servers/{id}"),
    ("PUT", "/servers/{id}"), ("DELETE", "/servers/{id}"), ("POST", "/servers/{id}/action"),
    ("GET", "/servers/{id}/ips"), ("GET", "/flavors/{id}"), ("POST", "/flavors"), ("GET", "/images/{id}"),
    ("POST", "/os-keypairs"), ("GET", "/os-keypairs/{id}"), ("DELETE", "/os-keypairs/{id}"),
    ("POST", "/os-security-groups"), ("GET", "/os-security-groups/{id}"), ("POST", "/os-security-group-rules"),
    ("DELETE", "/os-security-group-rules/{id}"), ("POST", "/os-floating-ips"), ("GET", "/os-floating-ips/{id}"),
    ("GET", "/os-quota-sets/{id}"), ("PUT", "/os-quota-sets/{id}"), ("PUT", "/os-services/enable"),
    ("GET", "/os-hypervisors/{id}"), ("GET", "/limits"), ("GET", "/os-availability-zone/detail"),
]
ROOTS = ["server", "flavor", "keypair", "security_group", "security_group_rule", "quota_set", "reboot",
         "os-start", "createImage", "addFloatingIp", "os-getConsoleOutput", "pool", "host", "binary"]
FIELDS = ["name", "imageRef", "flavorRef", "min_count", "max_count", "metadata", "user_data", "key_name",
          "security_groups", "type", "public_key", "parent_group_id", "ip_protocol", "from_port", "to_port",
          "cidr", "group_id", "ram", "vcpus", "disk", "id", "instances", "address", "length", "description"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=False),
                    st.text(max_size=20), st.sampled_from(["1", "-1", "m1.tiny", "tcp", "SOFT", "0.0.0.0/0", "1"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4)),
                      max_leaves=8)
bodies = st.one_of(st.dictionaries(st.sampled_from(ROOTS), st.dictionaries(st.sampled_from(FIELDS), values,
                                                                           max_size=6), max_size=2), values)
ids = st.one_of(st.text(alphabet=st.characters(blacklist_characters="/?#%", blacklist_categories=("Cs",)),
                        min_size=1, max_size=40), st.sampled_from(["1", "0", "-1", "99999999999999999999"]))


def test_no_500(cloud):
    osapi = cloud
    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(route=st.sampled_from(ROUTES), item=ids, body=bodies, user=st.sampled_from(["alice", "root"]),
           raw=st.booleans())
    def check(route, item, body, user, raw):
        method, path = route
        data = json.dumps(body).encode() if not raw else json.dumps(body).encode()[:-1]
        response = osapi.request(method, path.replace("{id}", item), data=data, user=user,
                                 headers={"Content-Type": "application/json"})
        assert response.status_code < 500, (method, path, item, body, response.text)
        if response.status_code >= 400:
            (_name, fault), = response.json().items()
            assert fault["code"] == response.status_code

    check()
