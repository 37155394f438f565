-- Website widget visitors: each holds a token (only its SHA-256 is stored)
-- that names the contact it speaks as on the widget channel.
CREATE TABLE widget_visitors (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_id TEXT NOT NULL,
  contact_key TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  verified INTEGER NOT NULL DEFAULT 0,
  created_at DATETIME NOT NULL,
  last_seen_at DATETIME NOT NULL
);
CREATE INDEX widget_visitors_contact ON widget_visitors(channel_id, contact_key);
