"""Alembic migrations; applied by `bitnexus migrate` (see bitnexus/database/migrate.py)."""
