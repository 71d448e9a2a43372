"""The database layer: the engine, the schema and migrations."""
