"""The EC2 query API, as the pipeline of ``etc/nova/api-paste.ini`` builds it.

    RequestId -> Authenticate -> Requestify -> Authorizer -> Executor

- ``authenticate.Authenticate`` reads the parameters (query string and form
  body), checks a Signature Version 4 (header or presigned query) or 2
  signature against the user's secret, checks the timestamp (``nova.auth``'s
  one clock-skew rule), and puts a ``RequestContext`` for
  ``ACCESS[:PROJECT]`` (from ``AuthManager``) in ``environ["nova.context"]``.
- ``requestify.Requestify`` finds the ``Action`` in the ``CloudController``
  and turns the parameters into typed keyword arguments.
- ``requestify.Authorizer`` checks the action's roles.
- ``requestify.Executor`` calls the action and renders its result as XML in
  the namespace of the requested ``Version``; every failure becomes an EC2
  error response in ``faults``.

Actions live in ``nova.api.ec2.cloud``, one module per resource; its
docstring says how to add one (the address, image and volume actions arrive
that way).
"""

from nova import flags

flags.DEFINE_integer("ec2_max_request_bytes", 1024 * 1024, "Largest EC2 request body accepted", lower_bound=1024)
flags.DEFINE_boolean("use_forwarded_for", False,
                     "Take the client address from X-Forwarded-For (only behind a trusted proxy)")
flags.DEFINE_list("region_list", [], "Regions DescribeRegions lists, as NAME=ENDPOINT (default: this one)")
