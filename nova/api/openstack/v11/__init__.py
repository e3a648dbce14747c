"""The OpenStack compute API v1.0 and v1.1 as the first Nova served them.

Built on the v2.1 base (``nova.api.openstack.wsgi``'s Router, the resource
controllers and the fault table); this package adds the ``X-Auth-User``
handshake, the per-user rate limits, XML bodies and the era's views.
"""
