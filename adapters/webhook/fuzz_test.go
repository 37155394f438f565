package webhook

import (
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/inboxd/inboxd/inbox"
)

// FuzzNormalize: no body makes Normalize panic, whatever it accepts is a
// valid Inbound of the channel, and whatever it refuses is refused with a
// client error code.
func FuzzNormalize(f *testing.F) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"message_id":"m","contact":{"id":"c","name":"\u0000"},"text":"\ud83d\ude00","sent_at":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"message_id":"m","contact":{"id":"c"},"text":"x","message_id":"m2","contact":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := Normalize("crm", body)
		if err != nil {
			switch code := inbox.ErrorCode(err); code {
			case inbox.EInvalid, inbox.ETooLarge:
			default:
				t.Fatalf("refused with code %q: %v", code, err)
			}
			if msg := inbox.ErrorMessage(err); msg == "" || !utf8.ValidString(msg) || len(msg) > 300 {
				t.Fatalf("refused with a bad message (%d bytes): %q", len(msg), msg)
			}
			return
		}
		if err := in.Validate(); err != nil {
			t.Fatalf("accepted an invalid Inbound: %v", err)
		}
		if in.ChannelID != "crm" || in.Kind != inbox.InboundMessage {
			t.Fatalf("channel %q kind %q", in.ChannelID, in.Kind)
		}
		if !utf8.Valid(body) {
			t.Fatal("accepted a body that is not UTF-8")
		}
		for _, s := range []string{in.Contact.Email, in.Contact.Phone} {
			if !utf8.ValidString(s) {
				t.Fatalf("accepted invalid UTF-8 %q", s)
			}
		}
	})
}
