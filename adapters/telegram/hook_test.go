package telegram

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/adapters/hooktest"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/inboxtest"
)

const testSecret = "s3cret_Token-42"

func webhookChannel(t *testing.T, fake *fakeBot, ing inbox.Ingester) testEnv {
	return newTestChannel(t, fake, ing, map[string]any{"mode": ModeWebhook, "secret": testSecret})
}

func postHook(t *testing.T, ch *Channel, secret string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/hooks/telegram/tg", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if secret != "" {
		r.Header.Set(secretHeader, secret)
	}
	w := httptest.NewRecorder()
	ch.ServeHTTP(w, r)
	return w
}

func TestWebhookRegistersWithSecret(t *testing.T) {
	fake := newFakeBot(t)
	env := webhookChannel(t, fake, inboxtest.NewIngester())
	stop := run(t, env.ch)
	waitFor(t, "setWebhook", func() bool { return len(fake.registeredWebhooks()) == 1 })
	waitFor(t, "a healthy channel", func() bool { return env.ch.Health() == nil })
	stop()
	hook := fake.registeredWebhooks()[0]
	if hook["url"] != "https://inbox.example.com/hooks/telegram/tg" {
		t.Errorf("url = %v", hook["url"])
	}
	if hook["secret_token"] != testSecret {
		t.Errorf("secret_token = %v, want the configured secret", hook["secret_token"])
	}
	if got := len(fake.requestedOffsets()); got != 0 {
		t.Errorf("%d getUpdates calls in webhook mode", got)
	}
}

func TestWebhookRefusedIsReported(t *testing.T) {
	fake := newFakeBot(t)
	fake.hookFail = &fakeFailure{status: 400, desc: "Bad Request: bad webhook: HTTPS url must be provided for webhook"}
	env := webhookChannel(t, fake, inboxtest.NewIngester())
	stop := run(t, env.ch)
	waitFor(t, "the reason in Health", func() bool {
		err := env.ch.Health()
		return err != nil && strings.Contains(err.Error(), "HTTPS url must be provided")
	})
	if !errors.Is(env.ch.Health(), errNoWebhook) {
		t.Errorf("Health() = %v, want it to say the webhook is not registered", env.ch.Health())
	}
	stop()
}

func TestWebhookHandler(t *testing.T) {
	fake := newFakeBot(t)
	ing := inboxtest.NewIngester()
	env := webhookChannel(t, fake, ing)
	ch := env.ch
	text := fixture(t, "text_private")

	for _, tt := range []struct {
		name   string
		secret string
		body   []byte
		status int
	}{
		{"no secret", "", text, 401},
		{"wrong secret", "s3cret_Token-43", text, 401},
		{"secret prefix", testSecret[:5], text, 401},
		{"malformed JSON", testSecret, []byte(`{"update_id":1,"message":`), 400},
		{"not an object", testSecret, []byte(`[1,2]`), 400},
		{"too large", testSecret, bytes.Repeat([]byte(" "), 2<<20), 413},
	} {
		if w := postHook(t, ch, tt.secret, tt.body); w.Code != tt.status {
			t.Errorf("%s: status %d, want %d (%s)", tt.name, w.Code, tt.status, w.Body)
		}
	}
	if n := len(ing.Stored()); n != 0 {
		t.Fatalf("%d messages stored from refused requests", n)
	}

	// The store is down: 503, so that Telegram retries; nothing stored.
	ing.SetFail(inbox.ErrUnavailable)
	if w := postHook(t, ch, testSecret, text); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("store down: status %d, want 503", w.Code)
	}
	ing.SetFail(errors.New("driver: connection refused")) // not an inbox error
	if w := postHook(t, ch, testSecret, text); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("store error: status %d, want 503", w.Code)
	}
	if n := len(ing.Stored()); n != 0 {
		t.Fatalf("%d messages stored while the store was down", n)
	}
	ing.SetFail(nil)

	// Telegram's retry lands; a second delivery is absorbed.
	for i := 0; i < 2; i++ {
		w := postHook(t, ch, testSecret, text)
		if w.Code != http.StatusOK || w.Body.Len() != 0 {
			t.Fatalf("delivery %d: status %d body %q, want an empty 200", i, w.Code, w.Body)
		}
	}
	if got := ing.Stored(); len(got) != 1 || got[0].ExternalID != "111:1" {
		t.Fatalf("stored %+v, want 111:1 once", got)
	}
	if w := postHook(t, ch, testSecret, fixture(t, "edited_message")); w.Code != http.StatusOK {
		t.Fatalf("edit: status %d", w.Code)
	}
	if len(ing.Edits) != 1 || ing.Stored()[0].Text != "Hello, my order #43 has not arrived." {
		t.Errorf("edit not applied: %+v", ing.Edits)
	}
	// Kinds inboxd does not keep are acknowledged, so Telegram stops
	// sending them.
	if w := postHook(t, ch, testSecret, fixture(t, "callback_query")); w.Code != http.StatusOK {
		t.Errorf("callback_query: status %d, want 200", w.Code)
	}
	if n := len(ing.Stored()); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}

	r := httptest.NewRequest(http.MethodGet, "/hooks/telegram/tg", nil)
	r.Header.Set(secretHeader, testSecret)
	w := httptest.NewRecorder()
	ch.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", w.Code)
	}
	if strings.Contains(env.logs.String(), testSecret) {
		t.Error("the secret appears in the logs")
	}
}

func TestHookInPollingModeIsNotFound(t *testing.T) {
	fake := newFakeBot(t)
	ing := inboxtest.NewIngester()
	env := newTestChannel(t, fake, ing, nil)
	if w := postHook(t, env.ch, "anything", fixture(t, "text_private")); w.Code != http.StatusNotFound {
		t.Errorf("status %d, want 404", w.Code)
	}
	if n := len(ing.Stored()); n != 0 {
		t.Errorf("%d messages stored through a polling channel's hook", n)
	}
}

// FuzzWebhook posts arbitrary bodies with the right secret: the handler
// never panics, answers only 200 or a 4xx, and what it stores is valid.
func FuzzWebhook(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"update_id":1,"message":{"message_id":1,"chat":{"id":1,"type":"private"},"text":"\xff\xfe"}}`))
	ing := inboxtest.NewIngester()
	ch, err := newChannel(adapters.Config{ID: "tg", Kind: Kind, Decode: yamlDecoder(map[string]any{
		"token": testToken, "mode": ModeWebhook, "secret": testSecret, "groups": GroupsConversation,
	})}, adapters.Deps{Ingest: ing, PublicURL: "https://inbox.example.com", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/hooks/telegram/tg", bytes.NewReader(body))
		r.Header.Set(secretHeader, testSecret)
		w := httptest.NewRecorder()
		ch.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for %q", w.Code, body)
		}
		// An update that decodes is either stored or dropped, never
		// refused by the store: Normalize yields only valid messages.
		var u tgbotapi.Update
		if json.Unmarshal(body, &u) == nil && w.Code != http.StatusOK {
			t.Fatalf("status %d (%s) for a decodable update %q", w.Code, w.Body, body)
		}
	})
	for _, in := range ing.Stored() {
		if err := in.Validate(); err != nil {
			f.Errorf("stored an invalid message: %v", err)
		}
	}
}

// TestHookErrorContract: the Telegram webhook answers every refusal and
// failure as every hook does (adapters.WriteError); a wrong secret token is
// the wrong signature.
func TestHookErrorContract(t *testing.T) {
	ing := inboxtest.NewIngester()
	env := webhookChannel(t, newFakeBot(t), ing)
	hooktest.Run(t, hooktest.Hook{
		Post: func(body []byte, signed bool) *httptest.ResponseRecorder {
			secret := "not-the-secret"
			if signed {
				secret = testSecret
			}
			return postHook(t, env.ch, secret, body)
		},
		Valid: fixture(t, "text_private"), MaxBody: hooksig.DefaultMaxBody, Ingest: ing,
	})
}
