-- The web client's second round: avatars, thread replies, the mentions view, listable invites.

-- Avatars: the square, re-encoded image lives in the database (a few KiB each), so backups,
-- exports and several nodes on one database all carry it; `users.avatar_key` names the
-- current one and changes with it, which is what lets clients cache it for good.
ALTER TABLE users ADD COLUMN avatar_key TEXT;
CREATE TABLE avatars (
    user_id      TEXT PRIMARY KEY REFERENCES users(id),
    avatar_key   TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data         BLOB NOT NULL
);

-- 1: a reply that lives in its root's thread (reply_to names the root); 0: a quote reply.
ALTER TABLE messages ADD COLUMN thread INTEGER NOT NULL DEFAULT 0;

-- The mentions view pages a user's mentions newest first across conversations.
ALTER TABLE mentions ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
UPDATE mentions SET created_at = (
    SELECT m.created_at FROM messages m WHERE m.id = mentions.message_id
);
CREATE INDEX mentions_by_user ON mentions(user_id, created_at, message_id);

-- Invites are listed to admins with their code from now on; codes made before this
-- migration were kept only as hashes and stay usable but unlisted.
ALTER TABLE invites ADD COLUMN code TEXT;

-- Bumped by another process (`chatd user add`) that put an account in the default channels,
-- so a running server adds the new memberships to its routing.
INSERT INTO meta (key, value) VALUES ('members_epoch', 0);
