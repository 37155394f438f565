package notify

import (
	"encoding/json"
	"testing"

	"github.com/inboxd/inboxd/inbox"
)

func TestDefaultSettingsJSON(t *testing.T) {
	b, err := json.Marshal(DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"new_chat":{"in_app":true,"email":false},"registered_contact":{"in_app":true,"email":true},` +
		`"my_conversation":{"in_app":true,"email":false},"missed_while_offline":{"in_app":true,"email":true},` +
		`"assigned":{"in_app":true,"email":false},"mention":{"in_app":true,"email":false},` +
		`"invisible_slow_chats":false,"desktop":true,"sound":true}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	back, err := DecodeSettings(b, Settings{})
	if err != nil || back != DefaultSettings() {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}

func TestDecodeSettings(t *testing.T) {
	base := DefaultSettings()
	withNewChatEmail := base
	withNewChatEmail.NewChat.Email = true
	withSlow := base
	withSlow.InvisibleSlowChats = true
	withSlow.MissedWhileOffline = Via{}
	noDesktop := base
	noDesktop.Desktop = false
	full := Settings{
		NewChat:            Via{InApp: false, Email: true},
		RegisteredContact:  Via{InApp: false, Email: false},
		MyConversation:     Via{InApp: true, Email: true},
		MissedWhileOffline: Via{InApp: false, Email: true},
		Assigned:           Via{InApp: false, Email: true},
		Mention:            Via{InApp: true, Email: true},
		InvisibleSlowChats: true,
	}
	tests := []struct {
		name  string
		in    string
		want  Settings
		field string // non-empty: an invalid-input error naming it
	}{
		{"empty keeps base", "", base, ""},
		{"whitespace keeps base", " \n", base, ""},
		{"empty object keeps base", "{}", base, ""},
		{"partial: one flag", `{"new_chat":{"email":true}}`, withNewChatEmail, ""},
		{"partial: two keys", `{"invisible_slow_chats":true,"missed_while_offline":{"in_app":false,"email":false}}`, withSlow, ""},
		{"full", `{"new_chat":{"in_app":false,"email":true},"registered_contact":{"in_app":false,"email":false},` +
			`"my_conversation":{"in_app":true,"email":true},"missed_while_offline":{"in_app":false,"email":true},` +
			`"assigned":{"in_app":false,"email":true},"mention":{"in_app":true,"email":true},` +
			`"invisible_slow_chats":true,"desktop":false,"sound":false}`, full, ""},
		{"attention: desktop off, sound kept", `{"desktop":false}`, noDesktop, ""},
		{"string for sound", `{"sound":"on"}`, base, "sound"},
		{"null kind keeps base", `{"new_chat":null}`, base, ""},
		{"unknown key", `{"new_chats":{"in_app":true}}`, base, "new_chats"},
		{"unknown nested key", `{"new_chat":{"sms":true}}`, base, "sms"},
		{"string for bool", `{"new_chat":{"in_app":"yes"}}`, base, "new_chat.in_app"},
		{"bool for object", `{"registered_contact":true}`, base, "registered_contact"},
		{"number for bool", `{"invisible_slow_chats":1}`, base, "invisible_slow_chats"},
		{"array body", `[]`, base, "body"},
		{"malformed", `{"new_chat":`, base, "body"},
		{"not json", `new_chat=1`, base, "body"},
		{"trailing data", `{} {}`, base, "body"},
	}
	for _, tt := range tests {
		got, err := DecodeSettings([]byte(tt.in), base)
		if tt.field == "" {
			if err != nil || got != tt.want {
				t.Errorf("%s: got %+v, %v; want %+v", tt.name, got, err, tt.want)
			}
			continue
		}
		e, ok := err.(*inbox.Error)
		if !ok || e.Code != inbox.EInvalid || e.Field != tt.field {
			t.Errorf("%s: got error %v, want invalid %q", tt.name, err, tt.field)
		}
		if got != base {
			t.Errorf("%s: a failed decode must return base, got %+v", tt.name, got)
		}
	}
}

func TestSettingsFor(t *testing.T) {
	s := Settings{
		NewChat:            Via{InApp: true},
		RegisteredContact:  Via{Email: true},
		MyConversation:     Via{InApp: true, Email: true},
		MissedWhileOffline: Via{},
	}
	tests := map[Kind]Via{
		NewChat:            {InApp: true},
		SlowChat:           {InApp: true},
		RegisteredContact:  {Email: true},
		MyConversation:     {InApp: true, Email: true},
		MissedWhileOffline: {},
		"bogus":            {},
	}
	for k, want := range tests {
		if got := s.For(k); got != want {
			t.Errorf("For(%q) = %+v, want %+v", k, got, want)
		}
	}
}
