package viber

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/inboxtest"
)

const testToken = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"

// config builds an adapters.Config whose Decode behaves like the daemon's:
// YAML, unknown keys refused.
func config(id, y string) adapters.Config {
	return adapters.Config{
		ID: id, Kind: Kind, Name: "Viber", Queue: "support",
		Decode: func(into any) error {
			dec := yaml.NewDecoder(strings.NewReader(y))
			dec.KnownFields(true)
			return dec.Decode(into)
		},
	}
}

// newTestChannel returns a channel on an in-memory journal, its API at
// apiURL ("" for the default).
func newTestChannel(t *testing.T, apiURL string, extra ...string) (*Channel, *inboxtest.Ingester) {
	t.Helper()
	ing := inboxtest.NewIngester()
	y := "auth_token: " + testToken + "\nsender_name: Support\n" + strings.Join(extra, "")
	if apiURL != "" {
		y += "api_base_url: " + apiURL + "\n"
	}
	ch, err := New(config("vb", y), adapters.Deps{
		Ingest:    ing,
		Clock:     inbox.ClockFunc(func() time.Time { return fixtureNow }),
		PublicURL: "https://inbox.example.com/",
	})
	if err != nil {
		t.Fatal(err)
	}
	return ch.(*Channel), ing
}

func TestNewConfig(t *testing.T) {
	ok := "auth_token: t\nsender_name: Support\n"
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"minimal", ok, ""},
		{"everything", ok + "sender_avatar: https://example.com/a.jpg\napi_base_url: http://127.0.0.1:9/\n", ""},
		{"28 characters, not bytes", "auth_token: t\nsender_name: Поддержка клиентов Компании\n", ""},
		{"no token", "sender_name: Support\n", "auth_token: is required"},
		{"blank token", "auth_token: '  '\nsender_name: Support\n", "auth_token: is required"},
		{"no sender name", "auth_token: t\n", "sender_name: is required"},
		{"sender name too long", "auth_token: t\nsender_name: " + strings.Repeat("x", 29) + "\n", "sender_name: is longer than 28"},
		{"bad avatar", ok + "sender_avatar: avatar.jpg\n", "sender_avatar:"},
		{"bad base url", ok + "api_base_url: ftp://example.com\n", "api_base_url:"},
		{"unknown key", ok + "token: t\n", "token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := New(config("vb", tt.yaml), adapters.Deps{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if ch.ID() != "vb" || ch.Kind() != "viber" {
					t.Errorf("channel = %s/%s", ch.Kind(), ch.ID())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	ch, _ := newTestChannel(t, "")
	if got := ch.endpoint("send_message"); got != "https://chatapi.viber.com/pa/send_message" {
		t.Errorf("endpoint = %s", got)
	}
	ch, _ = newTestChannel(t, "http://127.0.0.1:1/proxy/")
	if got := ch.endpoint("set_webhook"); got != "http://127.0.0.1:1/proxy/pa/set_webhook" {
		t.Errorf("endpoint = %s", got)
	}
}

// The token never appears in what the channel logs.
func TestTokenNotLogged(t *testing.T) {
	var logs bytes.Buffer
	ing := inboxtest.NewIngester()
	ch, err := New(config("vb", "auth_token: "+testToken+"\nsender_name: S\n"), adapters.Deps{
		Ingest: ing, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := ch.(*Channel)
	post(t, h, readFixture(t, "message_text.json"), "bad")
	post(t, h, readFixture(t, "message_text.json"), sign(readFixture(t, "message_text.json")))
	ing.SetFail(inbox.ErrUnavailable)
	post(t, h, readFixture(t, "delivered.json"), sign(readFixture(t, "delivered.json")))
	if logs.Len() == 0 {
		t.Fatal("nothing logged")
	}
	if strings.Contains(logs.String(), testToken) {
		t.Fatalf("token in logs:\n%s", logs.String())
	}
}
