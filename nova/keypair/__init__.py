"""Key pairs: per-user SSH keys injected into instances."""
