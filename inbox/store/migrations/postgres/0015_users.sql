-- Users managed from the console: one-time links (invitations and
-- password resets) stored as hashes of their tokens. (Deactivation uses
-- users.deactivated_at from 0010.)
CREATE TABLE user_links (
  id BIGSERIAL PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  hash TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL,
  used_at TIMESTAMPTZ
);
CREATE INDEX user_links_user ON user_links(user_id);
