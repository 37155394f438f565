-- The customer's history (GET /api/v1/contacts, /api/v1/contacts/{id},
-- POST|DELETE /api/v1/contacts/{id}/merge).
--
-- person_id links contacts that are the same person on several channels:
-- NULL for a contact on its own; else the id of the group's root contact,
-- which keeps NULL itself. Groups are flat (a member never points at a
-- member), so a group is one indexed lookup: id = root OR person_id = root.
ALTER TABLE contacts ADD COLUMN person_id INTEGER;
CREATE INDEX contacts_person ON contacts(person_id);
-- An agent's contact list: the contacts of its queues' channels, newest first.
CREATE INDEX contacts_channel ON contacts(channel_id, id);
-- A person's conversations, newest first, whatever their thread key.
CREATE INDEX conversations_contact_id ON conversations(contact_id, id);
-- Contact search (q): FTS5 over one text per contact holding its name,
-- username, email, phone (as written, and without its spaces, dashes, dots,
-- parentheses, plus and slashes) and id on the
-- channel. Contentless (the text is built from the row), kept in step by
-- triggers; the 'delete' command needs the text as it was inserted.
-- prefix='2 3' indexes short prefixes, so a search typed letter by letter
-- does not merge every word starting with "ab".
-- Trigger bodies stay on one line each: migrations split on ";" at line ends.
CREATE VIRTUAL TABLE contacts_fts USING fts5(words, content='', tokenize='unicode61 remove_diacritics 0', prefix='2 3');
INSERT INTO contacts_fts(rowid, words) SELECT id, name || ' ' || username || ' ' || email || ' ' || phone || ' ' || replace(replace(replace(replace(replace(replace(replace(phone, ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''), '+', ''), '/', '') || ' ' || external_id FROM contacts;
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN INSERT INTO contacts_fts(rowid, words) VALUES (new.id, new.name || ' ' || new.username || ' ' || new.email || ' ' || new.phone || ' ' || replace(replace(replace(replace(replace(replace(replace(new.phone, ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''), '+', ''), '/', '') || ' ' || new.external_id); END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN INSERT INTO contacts_fts(contacts_fts, rowid, words) VALUES ('delete', old.id, old.name || ' ' || old.username || ' ' || old.email || ' ' || old.phone || ' ' || replace(replace(replace(replace(replace(replace(replace(old.phone, ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''), '+', ''), '/', '') || ' ' || old.external_id); END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF name, username, email, phone, external_id ON contacts WHEN old.name IS NOT new.name OR old.username IS NOT new.username OR old.email IS NOT new.email OR old.phone IS NOT new.phone OR old.external_id IS NOT new.external_id BEGIN INSERT INTO contacts_fts(contacts_fts, rowid, words) VALUES ('delete', old.id, old.name || ' ' || old.username || ' ' || old.email || ' ' || old.phone || ' ' || replace(replace(replace(replace(replace(replace(replace(old.phone, ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''), '+', ''), '/', '') || ' ' || old.external_id); INSERT INTO contacts_fts(rowid, words) VALUES (new.id, new.name || ' ' || new.username || ' ' || new.email || ' ' || new.phone || ' ' || replace(replace(replace(replace(replace(replace(replace(new.phone, ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''), '+', ''), '/', '') || ' ' || new.external_id); END;
