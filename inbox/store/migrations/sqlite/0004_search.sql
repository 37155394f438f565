-- Journal search (GET /api/v1/journal?q=): FTS5 indexes of message texts
-- and conversation titles. External content: the index holds only the
-- words, the text stays in its table, and triggers keep the two in step
-- (FTS5 needs the old text to remove a row's words, hence the 'delete'
-- inserts). unicode61 folds case for every script; diacritics are kept,
-- as PostgreSQL's 'simple' configuration keeps them ("ääni" is not "aani").
-- Trigger bodies stay on one line each: migrations split on ";" at line ends.
CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 0');
CREATE VIRTUAL TABLE conversations_fts USING fts5(title, content='conversations', content_rowid='id', tokenize='unicode61 remove_diacritics 0');
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
INSERT INTO conversations_fts(conversations_fts) VALUES ('rebuild');
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages WHEN old.text IS NOT new.text BEGIN INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END;
CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN INSERT INTO conversations_fts(rowid, title) VALUES (new.id, new.title); END;
CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN INSERT INTO conversations_fts(conversations_fts, rowid, title) VALUES ('delete', old.id, old.title); END;
CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title ON conversations WHEN old.title IS NOT new.title BEGIN INSERT INTO conversations_fts(conversations_fts, rowid, title) VALUES ('delete', old.id, old.title); INSERT INTO conversations_fts(rowid, title) VALUES (new.id, new.title); END;
