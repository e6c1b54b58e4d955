-- The node registry (see the SQLite migration of the same number): one row per node name,
-- its heartbeat renewed every few seconds while it runs.
CREATE TABLE nodes (
    name TEXT PRIMARY KEY,
    instance TEXT NOT NULL,
    bus TEXT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);
