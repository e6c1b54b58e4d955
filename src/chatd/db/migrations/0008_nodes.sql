-- The node registry: each chatd node on a shared PostgreSQL database upserts its row every
-- few seconds, so a node can tell whether another one is alive (cluster.bus = local is then
-- refused). The embedded SQLite service is one node and leaves the table empty; it exists
-- here only so that a schema version means the same tables on both engines.
CREATE TABLE nodes (
    name TEXT PRIMARY KEY,
    instance TEXT NOT NULL,
    bus TEXT NOT NULL,
    heartbeat_at INTEGER NOT NULL
);
