-- The customer's history (GET /api/v1/contacts, /api/v1/contacts/{id},
-- POST|DELETE /api/v1/contacts/{id}/merge).
--
-- person_id links contacts that are the same person on several channels:
-- NULL for a contact on its own; else the id of the group's root contact,
-- which keeps NULL itself. Groups are flat (a member never points at a
-- member), so a group is one indexed lookup: id = root OR person_id = root.
ALTER TABLE contacts ADD COLUMN person_id BIGINT;
CREATE INDEX contacts_person ON contacts(person_id);
-- An agent's contact list: the contacts of its queues' channels, newest first.
CREATE INDEX contacts_channel ON contacts(channel_id, id);
-- A person's conversations, newest first, whatever their thread key.
CREATE INDEX conversations_contact_id ON conversations(contact_id, id);
-- Contact search (q): a GIN index over the words of a contact's name,
-- username, email, phone (as written, and without its spaces, dashes, dots,
-- parentheses, plus and slashes) and id on the
-- channel, punctuation made a space (so "alice@example.com" is the words
-- alice, example, com, as SQLite's tokenizer splits it). Queries must use
-- this very expression (store.contactWords) for the planner to pick it.
CREATE INDEX contacts_search ON contacts USING gin (to_tsvector('simple', regexp_replace(name || ' ' || username || ' ' || email || ' ' || phone || ' ' || translate(phone, ' -().+/', '') || ' ' || external_id, '[[:punct:]]', ' ', 'g')));
