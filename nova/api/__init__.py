"""nova-api's front ends: ``ec2`` (the EC2 query API) and ``metadata`` (what
instances read from 169.254.169.254).  ``etc/nova/api-paste.ini`` composes
them into pipelines; ``nova.cmd.api`` serves them."""
