"""Just enough of the identity API v3 for the OpenStack clients, backed by nova's users and projects.

nova-api serves it on ``--identity_listen:--identity_port`` (the ``identity``
pipeline of api-paste.ini): version documents, password authentication
scoped to a project, token validation and revocation, the service catalog
and the caller's projects.  Users and projects live in the one domain
``Default``; a user's password is the one ``nova-manage user password`` set,
or else its EC2 secret key.  The endpoints of the catalog come from
``nova.auth.catalog``.
"""

from nova import flags

flags.DEFINE_string("identity_listen", "0.0.0.0", "Address the identity API listens on")
