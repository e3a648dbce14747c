"""Just enough of the network API v2.0 (Neutron) for the ``openstack`` CLI's security-group and floating-IP
commands, over nova's service APIs (``nova.securitygroup.api``, ``nova.network.api``).

nova-api serves it on ``--network_api_listen:--network_api_port`` (the
``network`` pipeline of api-paste.ini), authenticated by the identity API's
tokens (``X-Auth-Token``).  Ids are nova's: security groups, rules and
floating IPs by their integer ids written as strings (the compute API's
``os-security-groups`` and ``os-floating-ips`` show the same numbers); the
floating pool ``nova`` is an external network and each fixed network a
network, both named by uuids derived from their name; an instance's NIC is a
port named ``<instance uuid>_<fixed address>``.
"""

from nova import flags

flags.DEFINE_string("network_api_listen", "0.0.0.0", "Address the network API (v2.0) listens on")
