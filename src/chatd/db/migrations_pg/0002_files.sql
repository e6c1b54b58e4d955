-- PostgreSQL twin of migrations/0002_files.sql: uploaded files, stored once per sha256.

CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size   BIGINT NOT NULL,
    refs   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE files (
    id           TEXT PRIMARY KEY,
    uploader_id  TEXT NOT NULL REFERENCES users(id),
    name         TEXT NOT NULL,
    size         BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    sha256       TEXT NOT NULL REFERENCES blobs(sha256),
    created_at   BIGINT NOT NULL
);
CREATE INDEX files_by_uploader ON files(uploader_id);
CREATE INDEX files_by_age ON files(created_at);

CREATE TABLE message_files (
    message_id TEXT NOT NULL,
    file_id    TEXT NOT NULL REFERENCES files(id),
    position   INTEGER NOT NULL,
    PRIMARY KEY (message_id, file_id)
);
CREATE INDEX message_files_by_file ON message_files(file_id);
