"""The metadata service: what an instance reads from 169.254.169.254.

nova-network DNATs ``169.254.169.254:80`` to ``--ec2_dmz_host:--ec2_port``;
nova-api also answers on ``--metadata_listen:--metadata_port``.  The caller
is identified by its source address, which must be an instance's fixed IP.
"""

from nova import flags

flags.DEFINE_string("metadata_listen", "0.0.0.0", "Address the metadata service listens on")
flags.DEFINE_integer("metadata_port", 8775, "Port of the metadata service (0: serve it on the EC2 port only)",
                     lower_bound=0)
