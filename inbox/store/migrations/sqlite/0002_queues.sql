-- Opening hours, presence, registered contacts and notifications.
CREATE TABLE queue_state (
  queue TEXT PRIMARY KEY,
  override TEXT NOT NULL DEFAULT 'auto',
  override_at DATETIME,
  checked_at DATETIME NOT NULL,
  is_open INTEGER NOT NULL DEFAULT 0,
  version BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE agent_presence (
  user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  timezone TEXT NOT NULL DEFAULT '',
  hours_open TEXT NOT NULL DEFAULT '',
  hours_close TEXT NOT NULL DEFAULT '',
  manual TEXT NOT NULL DEFAULT '',
  manual_at DATETIME
);
CREATE TABLE registered_contacts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  queue TEXT NOT NULL,
  channel_id TEXT NOT NULL,
  conversation_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  message TEXT NOT NULL DEFAULT '',
  answers TEXT NOT NULL DEFAULT '',
  created_at DATETIME NOT NULL
);
CREATE INDEX registered_contacts_queue ON registered_contacts(queue, id DESC);
CREATE TABLE notifications (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  conversation_id INTEGER NOT NULL DEFAULT 0,
  queue TEXT NOT NULL DEFAULT '',
  payload TEXT NOT NULL,
  created_at DATETIME NOT NULL
);
CREATE INDEX notifications_user ON notifications(user_id, id);
CREATE TABLE auto_replies (
  conversation_id INTEGER NOT NULL,
  period TEXT NOT NULL,
  message_id INTEGER NOT NULL,
  created_at DATETIME NOT NULL,
  PRIMARY KEY (conversation_id, period)
);
