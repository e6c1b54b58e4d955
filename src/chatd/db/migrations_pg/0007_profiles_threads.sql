-- The web client's second round (as migrations/0007_profiles_threads.sql for SQLite).
ALTER TABLE users ADD COLUMN avatar_key TEXT;
CREATE TABLE avatars (
    user_id      TEXT PRIMARY KEY REFERENCES users(id),
    avatar_key   TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data         BYTEA NOT NULL
);
ALTER TABLE messages ADD COLUMN thread INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mentions ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
UPDATE mentions SET created_at = (
    SELECT m.created_at FROM messages m WHERE m.id = mentions.message_id
);
CREATE INDEX mentions_by_user ON mentions(user_id, created_at, message_id);
ALTER TABLE invites ADD COLUMN code TEXT;
INSERT INTO meta (key, value) VALUES ('members_epoch', 0);
