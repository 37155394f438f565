-- Expired sessions and tokens, and long-unused widget visitors, are
-- deleted every 10 minutes (store.PruneExpired): these indexes find them
-- without reading the whole tables.
CREATE INDEX tokens_expires ON tokens(expires_at);
CREATE INDEX widget_visitors_last_seen ON widget_visitors(last_seen_at);
