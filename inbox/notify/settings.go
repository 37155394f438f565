package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"

	"github.com/inboxd/inboxd/inbox"
)

// Kind is a kind of notification, and the key of its setting.
type Kind string

// Notification kinds.
const (
	// NewChat: an unassigned conversation starts (or reopens) in a queue
	// the agent serves.
	NewChat Kind = "new_chat"
	// RegisteredContact: a customer filled in the offline contact form.
	RegisteredContact Kind = "registered_contact"
	// MyConversation: a message arrives in a conversation the agent takes
	// part in.
	MyConversation Kind = "my_conversation"
	// MissedWhileOffline: what an offline agent is told instead of NewChat
	// and MyConversation; its email is a batched transcript.
	MissedWhileOffline Kind = "missed_while_offline"
	// SlowChat: an unassigned chat has waited queue.slow_after; only
	// invisible agents who asked for it (invisible_slow_chats) are told,
	// through their new_chat setting. It has no setting of its own.
	SlowChat Kind = "slow_chat"
	// Assigned: a colleague (or an admin) handed a conversation to the
	// agent.
	Assigned Kind = "assigned"
	// Mention: a colleague mentioned the agent in a private note.
	Mention Kind = "mention"
)

// Via says how an agent wants to hear about one kind of notification.
type Via struct {
	InApp bool `json:"in_app"`
	Email bool `json:"email"`
}

// Settings are one agent's notification settings, as exchanged by
// GET|PUT /api/v1/me/notifications.
type Settings struct {
	NewChat            Via  `json:"new_chat"`
	RegisteredContact  Via  `json:"registered_contact"`
	MyConversation     Via  `json:"my_conversation"`
	MissedWhileOffline Via  `json:"missed_while_offline"`
	Assigned           Via  `json:"assigned"`
	Mention            Via  `json:"mention"`
	InvisibleSlowChats bool `json:"invisible_slow_chats"`
	// Desktop and Sound are how the console gets attention for the
	// in-app notifications above (new chats, mentions, assignments ...):
	// a desktop notification (the browser asks the user once) and a
	// short sound.
	Desktop bool `json:"desktop"`
	Sound   bool `json:"sound"`
}

// DefaultSettings are an agent's settings until it changes them: everything
// in-app, and email for what nobody would see otherwise — contact forms
// (usually filled in while everybody is away) and messages missed while
// offline.
func DefaultSettings() Settings {
	return Settings{
		NewChat:            Via{InApp: true},
		RegisteredContact:  Via{InApp: true, Email: true},
		MyConversation:     Via{InApp: true},
		MissedWhileOffline: Via{InApp: true, Email: true},
		Assigned:           Via{InApp: true},
		Mention:            Via{InApp: true},
		Desktop:            true,
		Sound:              true,
	}
}

// For returns the setting of kind k; SlowChat uses new_chat's. Unknown
// kinds get nothing.
func (s Settings) For(k Kind) Via {
	switch k {
	case NewChat, SlowChat:
		return s.NewChat
	case RegisteredContact:
		return s.RegisteredContact
	case MyConversation:
		return s.MyConversation
	case MissedWhileOffline:
		return s.MissedWhileOffline
	case Assigned:
		return s.Assigned
	case Mention:
		return s.Mention
	}
	return Via{}
}

// DecodeSettings reads settings JSON over base: keys that are absent keep
// base's values, so a PUT may send only what changes and stored settings
// written before a key existed get its default. Unknown keys, wrong types
// and trailing data are rejected with an inbox.EInvalid error naming the
// field. Empty data returns base.
func DecodeSettings(data []byte, base Settings) (Settings, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return base, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	s := base
	if err := dec.Decode(&s); err != nil {
		return base, settingsError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return base, inbox.Invalid("body", "unexpected data after the settings object")
	}
	return s, nil
}

// settingsError turns a decoding error into an invalid-input error that
// names the field, without echoing the raw input.
func settingsError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return inbox.Invalid("body", "must be a JSON object")
		}
		want := "a boolean"
		if typeErr.Type != nil && typeErr.Type.Kind() == reflect.Struct {
			want = `an object like {"in_app":true,"email":false}`
		}
		return inbox.Invalid(typeErr.Field, "must be %s", want)
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return inbox.Invalid("body", "malformed JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return inbox.Invalid(field, "unknown setting")
	}
	return inbox.Invalid("body", "malformed JSON")
}
