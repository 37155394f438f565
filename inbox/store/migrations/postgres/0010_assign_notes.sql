-- Private notes: every message has a kind, 'message' (reaches
-- the channel) or 'note' (the team's own, never sent); a note names the
-- colleagues it mentions as JSON [{"id","name"}]. A deactivated user
-- (deactivated_at set) can no longer be assigned or mentioned. Adding a
-- column with a constant default rewrites no rows on PostgreSQL 11+.
ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'message';
ALTER TABLE messages ADD COLUMN mentions TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN deactivated_at TIMESTAMPTZ;
