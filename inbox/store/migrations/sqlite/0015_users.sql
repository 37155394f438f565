-- Users managed from the console: one-time links (invitations and
-- password resets) stored as hashes of their tokens. (Deactivation uses
-- users.deactivated_at from 0010.)
CREATE TABLE user_links (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  hash TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  created_at DATETIME NOT NULL,
  expires_at DATETIME NOT NULL,
  used_at DATETIME
);
CREATE INDEX user_links_user ON user_links(user_id);
