-- Users, sessions, invites, conversations, members and messages.
-- Times are integer milliseconds since the epoch (UTC).

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,          -- stored lower-case
    display_name  TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    active        INTEGER NOT NULL DEFAULT 1,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER                        -- when the user last had a socket
);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    token_hash   BLOB NOT NULL UNIQUE,           -- sha256 of the bearer token
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    user_agent   TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_user ON sessions(user_id);

CREATE TABLE invites (
    code_hash  BLOB PRIMARY KEY,                 -- sha256 of the invite code
    created_by TEXT REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER,                          -- NULL: never
    max_uses   INTEGER,                          -- NULL: unlimited
    uses       INTEGER NOT NULL DEFAULT 0
);

-- A counter other processes (the admin CLI) bump when they revoke access, so a running
-- server notices and closes the affected sockets without polling every session.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO meta (key, value) VALUES ('auth_epoch', 0);

CREATE TABLE conversations (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('direct', 'group', 'channel')),
    name             TEXT NOT NULL DEFAULT '',
    channel_key      TEXT UNIQUE,                -- lower-case channel name; NULL otherwise
    direct_key       TEXT UNIQUE,                -- "<user id>:<user id>" sorted; NULL otherwise
    topic            TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    created_by       TEXT REFERENCES users(id),
    archived         INTEGER NOT NULL DEFAULT 0,
    last_seq         INTEGER NOT NULL DEFAULT 0, -- bumped in the transaction that adds a message
    last_activity_at INTEGER NOT NULL
);

CREATE TABLE members (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    user_id         TEXT NOT NULL REFERENCES users(id),
    joined_at       INTEGER NOT NULL,
    read_seq        INTEGER NOT NULL DEFAULT 0,
    own_unread      INTEGER NOT NULL DEFAULT 0,  -- own live messages after read_seq
    muted           INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
CREATE INDEX members_by_user ON members(user_id, conversation_id);

CREATE TABLE messages (
    rowid           INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    seq             INTEGER NOT NULL,
    author_id       TEXT NOT NULL REFERENCES users(id),
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    edited_at       INTEGER,
    deleted         INTEGER NOT NULL DEFAULT 0,
    reply_to        TEXT,
    client_id       TEXT,
    pinned_at       INTEGER,                     -- NULL: not pinned
    UNIQUE (conversation_id, seq)
);
CREATE UNIQUE INDEX messages_by_client_id
    ON messages(conversation_id, author_id, client_id) WHERE client_id IS NOT NULL;
-- Unread counts subtract the caller's own live messages after the marker (kept as a counter,
-- members.own_unread) and the deleted ones (a short range count on the partial index).
CREATE INDEX messages_own_live ON messages(conversation_id, author_id, seq) WHERE deleted = 0;
CREATE INDEX messages_deleted ON messages(conversation_id, seq) WHERE deleted = 1;
CREATE INDEX messages_replies ON messages(reply_to, seq) WHERE reply_to IS NOT NULL;

-- Who a message mentions; rows go when the message is deleted or edited, so
-- `mention_count` is a short range count after the reader's marker.
CREATE TABLE mentions (
    user_id         TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    message_id      TEXT NOT NULL,
    by_self         INTEGER NOT NULL DEFAULT 0,  -- the author named themselves
    PRIMARY KEY (conversation_id, user_id, seq)
) WITHOUT ROWID;
CREATE INDEX mentions_by_message ON mentions(message_id);
