-- Ticket links: a conversation's links to work items in other systems
-- (inbox/links.go). One URL once per conversation; the unique index also
-- reads a page's links by conversation (store.LinksOf).
CREATE TABLE links (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  url TEXT NOT NULL,
  title TEXT NOT NULL DEFAULT '',
  system TEXT NOT NULL DEFAULT '',
  external_id TEXT NOT NULL DEFAULT '',
  created_by INTEGER NOT NULL DEFAULT 0,
  created_by_name TEXT NOT NULL DEFAULT '',
  created_at DATETIME NOT NULL,
  UNIQUE (conversation_id, url)
);
