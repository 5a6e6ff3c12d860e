"""Alembic environment and versions: the one way Baton's schema changes."""
