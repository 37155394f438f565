-- One user's conversations newest activity first: the journal's agent
-- filter (?agent=) and an agent's own list (view=mine). Each participant
-- row carries its conversation's last_activity_at, kept in step by
-- triggers, so that the (user_id, last_activity_at, conversation_id)
-- index gives a page in order for any agent, whatever its share of the
-- journal. The new index also serves every lookup by user_id, so it
-- replaces participants_user. The value is copied as stored, so it
-- compares and sorts exactly as conversations.last_activity_at does.
-- Trigger bodies stay on one line each: migrations split on ";" at line ends.
ALTER TABLE participants ADD COLUMN last_activity_at DATETIME NOT NULL DEFAULT '';
UPDATE participants SET last_activity_at = (SELECT c.last_activity_at FROM conversations c WHERE c.id = participants.conversation_id);
CREATE INDEX participants_journal ON participants(user_id, last_activity_at DESC, conversation_id DESC);
DROP INDEX participants_user;
CREATE TRIGGER participants_activity_insert AFTER INSERT ON participants BEGIN UPDATE participants SET last_activity_at = (SELECT c.last_activity_at FROM conversations c WHERE c.id = new.conversation_id) WHERE conversation_id = new.conversation_id AND user_id = new.user_id; END;
CREATE TRIGGER conversations_activity_update AFTER UPDATE OF last_activity_at ON conversations WHEN old.last_activity_at IS NOT new.last_activity_at BEGIN UPDATE participants SET last_activity_at = new.last_activity_at WHERE conversation_id = new.id; END;
