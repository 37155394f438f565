CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  presence TEXT NOT NULL DEFAULT 'offline',
  queues TEXT NOT NULL DEFAULT '',
  notifications TEXT NOT NULL DEFAULT '',
  created_at DATETIME NOT NULL,
  last_seen_at DATETIME
);
CREATE TABLE tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  hash TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  created_at DATETIME NOT NULL,
  expires_at DATETIME,
  last_used_at DATETIME
);
CREATE INDEX tokens_user ON tokens(user_id);
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO counters(name, value) VALUES ('conversation', 0);
CREATE TABLE contacts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_id TEXT NOT NULL,
  external_id TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  username TEXT NOT NULL DEFAULT '',
  email TEXT NOT NULL DEFAULT '',
  phone TEXT NOT NULL DEFAULT '',
  meta TEXT NOT NULL DEFAULT '',
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL,
  UNIQUE (channel_id, external_id)
);
CREATE TABLE conversations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  number INTEGER NOT NULL UNIQUE,
  token TEXT NOT NULL UNIQUE,
  channel_id TEXT NOT NULL,
  queue TEXT NOT NULL,
  contact_id INTEGER NOT NULL REFERENCES contacts(id),
  thread_key TEXT NOT NULL DEFAULT '',
  title TEXT NOT NULL,
  subject TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  owner_id INTEGER NOT NULL DEFAULT 0,
  last_activity_at DATETIME NOT NULL,
  last_message_at DATETIME NOT NULL,
  last_inbound_at DATETIME NOT NULL,
  last_inbound_id INTEGER NOT NULL DEFAULT 0,
  preview TEXT NOT NULL DEFAULT '',
  closed_at DATETIME,
  created_at DATETIME NOT NULL
);
CREATE INDEX conversations_journal ON conversations(last_activity_at DESC, id DESC);
CREATE INDEX conversations_status ON conversations(status, last_activity_at DESC, id DESC);
CREATE INDEX conversations_channel ON conversations(channel_id, last_activity_at DESC, id DESC);
CREATE INDEX conversations_contact ON conversations(contact_id, thread_key, id DESC);
CREATE TABLE participants (
  conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  user_id INTEGER NOT NULL REFERENCES users(id),
  joined_at DATETIME NOT NULL,
  PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX participants_user ON participants(user_id, conversation_id);
CREATE TABLE messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  channel_id TEXT NOT NULL,
  direction TEXT NOT NULL,
  author_id INTEGER NOT NULL DEFAULT 0,
  author_name TEXT NOT NULL DEFAULT '',
  text TEXT NOT NULL DEFAULT '',
  html TEXT NOT NULL DEFAULT '',
  external_id TEXT,
  provider_id TEXT,
  delivery TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  auto INTEGER NOT NULL DEFAULT 0,
  meta TEXT NOT NULL DEFAULT '',
  created_at DATETIME NOT NULL,
  edited_at DATETIME,
  UNIQUE (channel_id, external_id)
);
CREATE INDEX messages_conversation ON messages(conversation_id, id);
CREATE INDEX messages_provider ON messages(channel_id, provider_id);
CREATE TABLE attachments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  name TEXT NOT NULL DEFAULT '',
  mime_type TEXT NOT NULL DEFAULT '',
  size INTEGER NOT NULL DEFAULT 0,
  provider_ref TEXT NOT NULL DEFAULT '',
  data BLOB
);
CREATE INDEX attachments_message ON attachments(message_id);
CREATE TABLE activities (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  queue TEXT NOT NULL,
  kind TEXT NOT NULL,
  conversation_id INTEGER NOT NULL DEFAULT 0,
  actor_id INTEGER NOT NULL DEFAULT 0,
  actor_name TEXT NOT NULL DEFAULT '',
  data TEXT NOT NULL DEFAULT '',
  created_at DATETIME NOT NULL
);
CREATE INDEX activities_queue ON activities(queue, id DESC);
CREATE INDEX activities_conversation ON activities(conversation_id, id);
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  conversation_id INTEGER NOT NULL,
  queue TEXT NOT NULL,
  status TEXT NOT NULL,
  participants TEXT NOT NULL DEFAULT '',
  payload TEXT NOT NULL,
  created_at DATETIME NOT NULL
);
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id INTEGER NOT NULL UNIQUE REFERENCES messages(id) ON DELETE CASCADE,
  conversation_id INTEGER NOT NULL,
  channel_id TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at DATETIME NOT NULL,
  locked_until DATETIME,
  last_error TEXT NOT NULL DEFAULT '',
  created_at DATETIME NOT NULL
);
CREATE INDEX outbox_due ON outbox(next_attempt_at);
CREATE INDEX outbox_conversation ON outbox(conversation_id, id);
CREATE TABLE cursors (
  channel_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  updated_at DATETIME NOT NULL,
  PRIMARY KEY (channel_id, key)
);
CREATE TABLE reads (
  user_id INTEGER NOT NULL,
  conversation_id INTEGER NOT NULL,
  last_read_id INTEGER NOT NULL,
  PRIMARY KEY (user_id, conversation_id)
);
