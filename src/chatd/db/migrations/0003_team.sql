-- Team features: reactions, pins, full-text search.

CREATE TABLE reactions (
    id         INTEGER PRIMARY KEY,               -- order of first use
    message_id TEXT NOT NULL,
    emoji      TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    UNIQUE (message_id, emoji, user_id)
);

CREATE INDEX messages_pinned ON messages(conversation_id, pinned_at) WHERE pinned_at IS NOT NULL;

-- Search: substrings of 3+ characters in any script through the trigram tokenizer, and
-- 2-character runs of Chinese, Japanese and Korean through a bigram column. Both are
-- contentless (the text lives in `messages`) and written in the transaction that writes the
-- message; a deleted message is removed from both.
CREATE VIRTUAL TABLE search_trigram USING fts5(body, content='', tokenize='trigram');
CREATE VIRTUAL TABLE search_cjk USING fts5(bigrams, content='', tokenize='unicode61');

INSERT INTO search_trigram (rowid, body) SELECT rowid, body FROM messages WHERE deleted = 0;
-- (No database predates this migration with messages in it: the bigram column needs no backfill.)
