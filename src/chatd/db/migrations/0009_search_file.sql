-- The search index moves to a file of its own beside this one (search.db, with its own
-- writer: db/indexfile.py), so that FTS5's merges never hold the lock sends commit under.
-- The server rebuilds it there from the messages at its next start.
DROP TABLE search_trigram;
DROP TABLE search_cjk;
DELETE FROM meta WHERE key = 'search_indexed_through';
-- Edits and deletes, queued by the transaction that makes them for the index writer, which
-- replaces `old_body` (the text it indexed) with the message's body then. AUTOINCREMENT:
-- a seq is never used twice, even after the queue is emptied, so the index's mark holds.
CREATE TABLE search_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_rowid INTEGER NOT NULL,
    old_body TEXT NOT NULL
);
