"""Alembic revisions, oldest first (0001_…); the only way the schema changes."""
