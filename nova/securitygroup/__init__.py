"""Security groups: per-project firewall rules that nova-network enforces."""
