-- Only outbound messages have a provider id: the index of provider ids
-- leaves out the rows without one, so that an inbound message (most of
-- what ingest writes) no longer adds an entry to it. Every query by
-- provider id compares it, which implies NOT NULL: they still use it.
DROP INDEX messages_provider;
CREATE INDEX messages_provider ON messages(channel_id, provider_id) WHERE provider_id IS NOT NULL;
