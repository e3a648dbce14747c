"""Alembic scripts of nova's schema; ``nova.db.migration`` drives them."""
