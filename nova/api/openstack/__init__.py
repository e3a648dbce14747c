"""The OpenStack compute API front end.

The base is shared by every version: ``wsgi`` (requests, JSON bodies, the
serializer hook, the controller dispatch), ``faults`` (the one table from
``nova.exception`` to OpenStack faults), ``auth`` (``X-Auth-Token`` to a
RequestContext), ``versions`` (the version documents) and ``router`` (Routes
mapper per version).  One small module per resource turns HTTP into calls of
the service APIs and renders their answers; none reaches the database or
the quota code itself (tests/unit/test_layers.py checks the imports).
"""
