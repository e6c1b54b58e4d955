-- PostgreSQL twin of migrations/0009_search_file.sql. On SQLite the search index moved to a
-- file of its own, with a queue of edits and deletes for its writer; here the engine keeps
-- its indexes on messages.body in the writing transaction, and there is nothing to move or
-- queue. The number is kept so that a version means the same on both engines.
SELECT 1;
