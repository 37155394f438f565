-- Tags and canned replies.
--
-- A conversation's tags are rows of conversation_tags. Each row carries a
-- copy of its conversation's last_activity_at, kept in step by a trigger
-- (as participants do, migration 0005), so that the journal filtered by a
-- tag reads a page in order from (tag_id, last_activity_at,
-- conversation_id): a page costs its rows whatever the tag's share.
-- Rows are inserted with the value copied from conversations.
-- Trigger bodies stay on one line each: migrations split on ";" at line ends.
CREATE TABLE tags (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  color TEXT NOT NULL,
  created_at DATETIME NOT NULL
);
CREATE TABLE conversation_tags (
  conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
  last_activity_at DATETIME NOT NULL,
  PRIMARY KEY (conversation_id, tag_id)
);
CREATE INDEX conversation_tags_journal ON conversation_tags(tag_id, last_activity_at DESC, conversation_id DESC);
CREATE TRIGGER conversation_tags_activity_update AFTER UPDATE OF last_activity_at ON conversations WHEN old.last_activity_at IS NOT new.last_activity_at BEGIN UPDATE conversation_tags SET last_activity_at = new.last_activity_at WHERE conversation_id = new.id; END;
-- scope is "all", "queue:<id>" or "user:<id>" (inbox.CannedReply.Scope):
-- shortcuts are unique within one.
CREATE TABLE canned_replies (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  scope TEXT NOT NULL,
  shortcut TEXT NOT NULL,
  title TEXT NOT NULL,
  text TEXT NOT NULL,
  queue TEXT NOT NULL DEFAULT '',
  owner_id INTEGER NOT NULL DEFAULT 0,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL,
  UNIQUE (scope, shortcut)
);
CREATE INDEX canned_replies_owner ON canned_replies(owner_id);
