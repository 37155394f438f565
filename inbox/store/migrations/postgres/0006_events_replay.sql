-- The live feeds' replay reads only the rows a feed may send: a
-- conversation's events (the visitor's feed, a conversation's feed) and a
-- queue's events (agents' feeds) by index, in id order, instead of every
-- event since the resume point.
CREATE INDEX events_conversation ON events(conversation_id, id);
CREATE INDEX events_queue ON events(queue, id);
