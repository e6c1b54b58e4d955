-- PostgreSQL twin of migrations/0004_search_catch_up.sql. On SQLite search indexing moved out
-- of the send transaction; here the indexes of 0003 are kept by PostgreSQL in the send
-- transaction itself (several nodes commit in no rowid order, so a "indexed through" mark
-- could not work), and there is nothing to catch up. The number is kept so that a version
-- means the same on both engines.
SELECT 1;
