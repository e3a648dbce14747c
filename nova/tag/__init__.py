"""Tags on resources (EC2 CreateTags; later the OpenStack API's server tags)."""
