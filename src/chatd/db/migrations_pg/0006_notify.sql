-- PostgreSQL twin of migrations/0006_notify.sql. Notifications away from the page: per-conversation notify setting, the user's email,
-- Web Push subscriptions, the server's own keys, and email digests waiting to go.

ALTER TABLE members ADD COLUMN notify TEXT NOT NULL DEFAULT 'default'
    CHECK (notify IN ('default', 'all', 'mentions', 'none'));
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN email_notifications INTEGER NOT NULL DEFAULT 1;

-- Secrets made once and kept with the data: the VAPID private key (PEM) and the key that
-- signs one-click unsubscribe links. The first node to start writes them; others read them.
CREATE TABLE notify_keys (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE push_subscriptions (
    endpoint   TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    p256dh     TEXT NOT NULL,
    auth       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX push_subscriptions_by_user ON push_subscriptions(user_id);

-- Notifying messages that reached a user while they were away, waiting for `email.delay_s`.
CREATE TABLE email_pending (
    user_id         TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (user_id, message_id)
);
CREATE INDEX email_pending_by_time ON email_pending(created_at);

-- One row per user who was mailed: no digest before `next_at`. A node claims a digest by
-- moving `next_at` forward with a conditional update, so with several nodes one sends it.
CREATE TABLE email_digests (
    user_id TEXT PRIMARY KEY,
    next_at BIGINT NOT NULL
);
