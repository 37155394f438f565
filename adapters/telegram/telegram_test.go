package telegram

import (
	"strings"
	"testing"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox/inboxtest"
)

func TestNewValidatesConfig(t *testing.T) {
	ok := map[string]any{"token": testToken}
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range ok {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
				continue
			}
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		entry   map[string]any
		public  string
		wantErr string // prefix naming the key; "" for none
	}{
		{"defaults", ok, "", ""},
		{"no token", with("token", nil), "", "token: is required"},
		{"malformed token", with("token", "12345:abc/../x"), "", "token:"},
		{"bad mode", with("mode", "push"), "", "mode:"},
		{"webhook without secret", with("mode", "webhook"), "https://x", "secret: is required"},
		{"secret with spaces", with("mode", "webhook", "secret", "has space"), "https://x", "secret:"},
		{"secret too long", with("mode", "webhook", "secret", strings.Repeat("a", 257)), "https://x", "secret:"},
		{"secret 256", with("mode", "webhook", "secret", strings.Repeat("a", 256)), "https://x", ""},
		{"webhook without public url", with("mode", "webhook", "secret", "abc"), "", "mode:"},
		{"bad api_base_url", with("api_base_url", "ftp://x"), "", "api_base_url:"},
		{"api_base_url with query", with("api_base_url", "http://x/?a=b"), "", "api_base_url:"},
		{"bad groups", with("groups", "all"), "", "groups:"},
		{"negative poll_timeout", with("poll_timeout", -1), "", "poll_timeout:"},
		{"unknown key", with("tokn", "x"), "", "field tokn not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(adapters.Config{ID: "tg", Kind: Kind, Decode: yamlDecoder(tt.entry)},
				adapters.Deps{Ingest: inboxtest.NewIngester(), PublicURL: tt.public})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "abc/../x") {
				t.Errorf("the error repeats the token: %v", err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	ch, err := newChannel(adapters.Config{ID: "tg", Kind: Kind, Decode: yamlDecoder(map[string]any{
		"token": testToken, "api_base_url": "http://127.0.0.1:8081/",
	})}, adapters.Deps{Ingest: inboxtest.NewIngester()})
	if err != nil {
		t.Fatal(err)
	}
	c := ch.cfg
	if c.Mode != ModePolling || c.Groups != GroupsIgnore || c.PollTimeout != 25 || c.APIBaseURL != "http://127.0.0.1:8081" {
		t.Errorf("defaults: %+v", c)
	}
	if ch.ID() != "tg" || ch.Kind() != "telegram" || ch.Health() != nil {
		t.Errorf("id %q kind %q health %v", ch.ID(), ch.Kind(), ch.Health())
	}
	def, _ := newChannel(adapters.Config{ID: "a b", Kind: Kind, Decode: yamlDecoder(map[string]any{"token": testToken})},
		adapters.Deps{Ingest: inboxtest.NewIngester(), PublicURL: "https://inbox.example.com/"})
	if def.cfg.APIBaseURL != DefaultAPIBaseURL {
		t.Errorf("api_base_url default = %q", def.cfg.APIBaseURL)
	}
	if u := def.WebhookURL(); u != "https://inbox.example.com/hooks/telegram/a%20b" {
		t.Errorf("WebhookURL = %q", u)
	}
}
