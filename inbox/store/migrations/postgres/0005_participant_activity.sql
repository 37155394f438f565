-- One user's conversations newest activity first: the journal's agent
-- filter (?agent=) and an agent's own list (view=mine). Each participant
-- row carries its conversation's last_activity_at, kept in step by
-- triggers, so that the (user_id, last_activity_at, conversation_id)
-- index gives a page in order for any agent, whatever its share of the
-- journal. Without it the list either walked the journal index testing
-- every conversation (slow for an agent in 0.1-2 % of them: 10-35 ms at a
-- million conversations) or fetched all of the agent's conversations and
-- sorted them. The new index also serves every lookup by user_id, so it
-- replaces participants_user.
--
-- The backfill rewrites every participant row (about 10 s for 750,000
-- rows on a small machine).
ALTER TABLE participants ADD COLUMN last_activity_at TIMESTAMPTZ NOT NULL DEFAULT '-infinity';
UPDATE participants p SET last_activity_at = c.last_activity_at FROM conversations c WHERE c.id = p.conversation_id;
CREATE INDEX participants_journal ON participants(user_id, last_activity_at DESC, conversation_id DESC);
DROP INDEX participants_user;
-- Function bodies stay on one line: migrations split on ";" at line ends.
CREATE FUNCTION participants_activity_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.last_activity_at := (SELECT c.last_activity_at FROM conversations c WHERE c.id = NEW.conversation_id); RETURN NEW; END $$;
CREATE TRIGGER participants_activity_insert BEFORE INSERT ON participants FOR EACH ROW EXECUTE FUNCTION participants_activity_insert();
CREATE FUNCTION conversations_activity_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE participants SET last_activity_at = NEW.last_activity_at WHERE conversation_id = NEW.id; RETURN NULL; END $$;
CREATE TRIGGER conversations_activity_update AFTER UPDATE OF last_activity_at ON conversations FOR EACH ROW WHEN (OLD.last_activity_at IS DISTINCT FROM NEW.last_activity_at) EXECUTE FUNCTION conversations_activity_update();
