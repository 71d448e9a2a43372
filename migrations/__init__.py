"""Alembic migrations; applied by `bitnexus migrate` (see bitnexus/migrate.py)."""
