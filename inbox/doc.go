// Package inbox owns the conversation domain of inboxd: its types, error
// codes, the conversation state machine, the authorization rules, the
// service that ingests customer messages and performs agents' actions, and
// the outbox dispatcher that delivers replies through channel senders.
//
// It knows no HTTP framework, no database driver and no provider: storage is
// reached through the Store interface, channels through Sender.
package inbox
