-- Search indexing moves out of the send transaction: messages with a rowid above this mark
-- are not in the search tables yet, and a batch indexes them a moment later (or at start-up,
-- after a crash). Everything stored before this migration is already indexed.
INSERT INTO meta (key, value)
    SELECT 'search_indexed_through', coalesce(max(rowid), 0) FROM messages;
