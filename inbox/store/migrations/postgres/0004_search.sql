-- Journal search (GET /api/v1/journal?q=): the words of every message and
-- of every conversation title in GIN indexes of PostgreSQL's built-in full
-- text search, so no extension (and no superuser) is needed. The 'simple'
-- configuration lower-cases and splits words without stemming or stop
-- words: a search finds the words as typed, in any language. Queries must
-- use the very same expressions for the planner to pick these indexes.
--
-- Building them locks writes to the tables for the build (minutes at ten
-- million messages). On a large live database, build them beforehand with
-- CREATE INDEX CONCURRENTLY and these names: IF NOT EXISTS keeps them.
CREATE INDEX IF NOT EXISTS messages_search ON messages USING gin (to_tsvector('simple', text));
CREATE INDEX IF NOT EXISTS conversations_search ON conversations USING gin (to_tsvector('simple', title));
