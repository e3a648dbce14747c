"""The SQLAlchemy backend of ``nova.db.api``."""
