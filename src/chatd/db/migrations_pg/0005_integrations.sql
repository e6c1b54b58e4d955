-- PostgreSQL twin of migrations/0005_integrations.sql: bot users, incoming webhooks, slash
-- commands, outgoing webhooks. No secret is stored here (see the SQLite migration).

ALTER TABLE users ADD COLUMN bot INTEGER NOT NULL DEFAULT 0;

ALTER TABLE messages ADD COLUMN via_kind TEXT;
ALTER TABLE messages ADD COLUMN via_id TEXT;
ALTER TABLE messages ADD COLUMN via_name TEXT;

CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    bot_user_id     TEXT NOT NULL REFERENCES users(id),
    secret_hash     BYTEA NOT NULL UNIQUE,
    created_by      TEXT NOT NULL REFERENCES users(id),
    created_at      BIGINT NOT NULL
);
CREATE INDEX webhooks_by_conversation ON webhooks(conversation_id, created_at);

CREATE TABLE commands (
    id          TEXT PRIMARY KEY,
    trigger     TEXT NOT NULL UNIQUE,
    url         TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    bot_user_id TEXT NOT NULL REFERENCES users(id),
    created_by  TEXT NOT NULL REFERENCES users(id),
    created_at  BIGINT NOT NULL
);

CREATE TABLE command_responses (
    token_hash      BYTEA PRIMARY KEY,
    command_id      TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX command_responses_by_expiry ON command_responses(expires_at);

CREATE TABLE outgoing_hooks (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    url              TEXT NOT NULL,
    conversation_ids TEXT NOT NULL DEFAULT '[]',
    trigger_words    TEXT NOT NULL DEFAULT '[]',
    bot_user_id      TEXT NOT NULL REFERENCES users(id),
    created_by       TEXT NOT NULL REFERENCES users(id),
    created_at       BIGINT NOT NULL
);
