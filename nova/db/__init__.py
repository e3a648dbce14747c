"""Persistence: ``nova.db.api`` is the only door to the database."""
