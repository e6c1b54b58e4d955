-- Integrations: bot users, incoming webhooks, slash commands, outgoing webhooks.
-- No secret is stored here: a webhook's URL secret, a command's verification token and an
-- outgoing hook's signing secret are derived from a key file in the data directory
-- (`integrations.key`); only the SHA-256 of a webhook secret is kept, to find the hook.

ALTER TABLE users ADD COLUMN bot INTEGER NOT NULL DEFAULT 0;

-- Where a message came from, when an integration posted it (all NULL otherwise).
ALTER TABLE messages ADD COLUMN via_kind TEXT;
ALTER TABLE messages ADD COLUMN via_id TEXT;
ALTER TABLE messages ADD COLUMN via_name TEXT;

CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    bot_user_id     TEXT NOT NULL REFERENCES users(id),
    secret_hash     BLOB NOT NULL UNIQUE,        -- sha256 of the secret in its URL
    created_by      TEXT NOT NULL REFERENCES users(id),
    created_at      INTEGER NOT NULL
);
CREATE INDEX webhooks_by_conversation ON webhooks(conversation_id, created_at);

CREATE TABLE commands (
    id          TEXT PRIMARY KEY,
    trigger     TEXT NOT NULL UNIQUE,            -- lower-case, without the slash
    url         TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    bot_user_id TEXT NOT NULL REFERENCES users(id),
    created_by  TEXT NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL
);

-- A command's `response_url`: one POST within 30 minutes.
CREATE TABLE command_responses (
    token_hash      BLOB PRIMARY KEY,            -- sha256 of the token in the URL
    command_id      TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX command_responses_by_expiry ON command_responses(expires_at);

CREATE TABLE outgoing_hooks (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    url              TEXT NOT NULL,
    conversation_ids TEXT NOT NULL DEFAULT '[]', -- JSON array; empty: every channel
    trigger_words    TEXT NOT NULL DEFAULT '[]', -- JSON array; empty: every message
    bot_user_id      TEXT NOT NULL REFERENCES users(id),
    created_by       TEXT NOT NULL REFERENCES users(id),
    created_at       INTEGER NOT NULL
);
