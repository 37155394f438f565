-- Two-factor authentication: a user's TOTP secret (sealed with auth.totp_key
-- when one is configured), when it was turned on (NULL: off, or enrolment
-- not confirmed yet) and the last time step a code was accepted for, so that
-- a code works once. Recovery codes are stored as SHA-256 hashes.
ALTER TABLE users ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_enabled_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
CREATE TABLE recovery_codes (
  id BIGSERIAL PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  hash TEXT NOT NULL,
  used_at TIMESTAMPTZ
);
CREATE INDEX recovery_codes_user ON recovery_codes(user_id, hash);
-- Single sign-on: a login started at /auth/oidc/login waits here (by the
-- hash of its state) for its callback, which takes it once.
CREATE TABLE oidc_logins (
  state_hash TEXT PRIMARY KEY,
  nonce TEXT NOT NULL,
  verifier TEXT NOT NULL,
  next_path TEXT NOT NULL DEFAULT '',
  expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX oidc_logins_expires ON oidc_logins(expires_at);
