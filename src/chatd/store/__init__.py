"""Raw SQL, one module per entity. Functions take a sqlite3 connection and return models."""
