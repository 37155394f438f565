-- The operator's metrics read the replies waiting per channel, with the
-- oldest, at scrape time (store.OutboxBacklogs): on SQLite this index
-- answers it without reading the rows. (Unassigned conversations per queue
-- are found by conversations_status.)
CREATE INDEX outbox_channel ON outbox(channel_id, created_at);
