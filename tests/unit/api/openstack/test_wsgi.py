"""A long listing's JSON leaves in pieces that join to exactly what json.dumps writes."""

from __future__ import annotations

import json

import webob

from nova.api.openstack import wsgi


def test_json_chunks_are_the_bytes_of_json_dumps():
    bodies = [
        {"servers": [{"id": str(n), "name": "é\"<>", "metadata": {}, "n": None} for n in range(1001)],
         "servers_links": [{"rel": "next", "href": "h"}]},
        {"before": 1, "servers": list(range(wsgi.STREAM_ITEMS + 1)), "after": [1, 2]},
        {"a": [1] * 401, "b": [2] * 999},
        {"servers": list(range(wsgi.STREAM_ITEMS))},
        {"server": {"id": "x"}},
        [1, 2, 3],
        {1: list(range(500))},
    ]
    for body in bodies:
        chunks = list(wsgi.json_chunks(body))
        assert b"".join(chunks) == json.dumps(body).encode("utf-8")
    assert len(list(wsgi.json_chunks(bodies[0]))) > 5
    assert len(list(wsgi.json_chunks(bodies[3]))) == 1


def test_a_short_body_keeps_its_length_and_a_long_one_streams():
    short, long = webob.Response(), webob.Response()
    wsgi.set_json_body(short, {"servers": []})
    wsgi.set_json_body(long, {"servers": list(range(1000))})
    assert short.content_length == len(b'{"servers": []}')
    assert long.content_length is None and json.loads(b"".join(long.app_iter)) == {"servers": list(range(1000))}
