"""The database layer: the engine, the schema and migrations."""

from bitnexus.database.schema import BIGINT_MAX, MAX_ID

__all__ = ["BIGINT_MAX", "MAX_ID"]
