// Package notify owns the pure rules of agents' notifications: each agent's
// settings (GET|PUT /api/v1/me/notifications), who is told about an event
// in-app and by email, the batching of messages missed while offline into
// one transcript per conversation, and the composition of the emails.
//
// It sends nothing itself: mail goes out through a Mailer the email adapter
// implements, and in-app notifications through the service's live feed.
package notify
