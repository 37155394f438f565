-- Outgoing event webhooks (integrations.webhooks): one row per subscriber
-- with its durable cursor, the id of the last event it has been sent (or
-- that it did not subscribe to). Deliveries are derived from the events
-- table after that id, so ingest writes nothing more for them.
CREATE TABLE webhook_subscribers (
  id TEXT PRIMARY KEY,
  last_event_id BIGINT NOT NULL,
  delivered BIGINT NOT NULL DEFAULT 0,
  missed BIGINT NOT NULL DEFAULT 0,
  attempts BIGINT NOT NULL DEFAULT 0,
  last_success_at TIMESTAMPTZ,
  last_error TEXT NOT NULL DEFAULT '',
  last_error_at TIMESTAMPTZ,
  next_attempt_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL
);
-- contact.registered: the registered contact of a conversation, found by
-- the conversation's id when its conversation.created event is sent.
CREATE INDEX registered_contacts_conversation ON registered_contacts(conversation_id);
