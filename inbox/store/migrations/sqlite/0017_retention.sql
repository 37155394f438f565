-- Retention and erasure delete every row that names a conversation
-- (store.deleteConversations). These tables had no index by conversation:
-- without one, each batch of a retention run would read them whole.
-- (registered_contacts(conversation_id) is indexed by 0013.)
CREATE INDEX reads_conversation ON reads(conversation_id);
CREATE INDEX notifications_conversation ON notifications(conversation_id);
-- Inactive conversations by last activity (the retention's candidates)
-- are found by conversations_status; contacts left without conversations
-- by conversations_contact.
