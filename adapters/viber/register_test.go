package viber

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/inbox/inboxtest"
)

// Viber checks the webhook during set_webhook with a signed "webhook"
// callback and refuses the URL unless it answers 200. The fake does the
// same against the channel's real hook.
func TestRegisterWebhook(t *testing.T) {
	mux := http.NewServeMux()
	daemon := httptest.NewServer(mux)
	defer daemon.Close()

	var viberSaw *recorded
	viber := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		viberSaw = &recorded{path: r.URL.Path, token: r.Header.Get("X-Viber-Auth-Token"), raw: string(raw)}
		var req struct {
			URL string `json:"url"`
		}
		_ = jsonUnmarshal(raw, &req)
		check := []byte(`{"event":"webhook","timestamp":1457764197627,"chat_hostname":"SN-376_","message_token":241256543215}`)
		cb, _ := http.NewRequest(http.MethodPost, req.URL, bytes.NewReader(check))
		cb.Header.Set(SignatureHeader, hooksig.Sign([]byte(testToken), check))
		resp, err := http.DefaultClient.Do(cb)
		if err != nil || resp.StatusCode != http.StatusOK {
			io.WriteString(w, `{"status":1,"status_message":"invalidUrl"}`)
			return
		}
		resp.Body.Close()
		io.WriteString(w, `{"status":0,"status_message":"ok","event_types":["delivered","seen","failed","subscribed","unsubscribed","conversation_started"]}`)
	}))
	defer viber.Close()

	ing := inboxtest.NewIngester()
	c, err := New(config("vb", "auth_token: "+testToken+"\nsender_name: Support\napi_base_url: "+viber.URL+"\n"),
		adapters.Deps{Ingest: ing, PublicURL: daemon.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	ch := c.(*Channel)
	mux.Handle("/hooks/viber/vb", ch)

	got, err := ch.RegisterWebhook(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := daemon.URL + "/hooks/viber/vb"; got != want {
		t.Errorf("url = %s, want %s", got, want)
	}
	if viberSaw == nil || viberSaw.path != "/pa/set_webhook" || viberSaw.token != testToken {
		t.Fatalf("viber saw %+v", viberSaw)
	}
	var body map[string]any
	if err := jsonUnmarshal([]byte(viberSaw.raw), &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"url":         daemon.URL + "/hooks/viber/vb",
		"event_types": []any{"delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"},
		"send_name":   true,
		"send_photo":  true,
	}
	if !jsonEqual(body, want) {
		t.Errorf("set_webhook body = %s", viberSaw.raw)
	}
	if len(ing.Stored()) != 0 {
		t.Error("the webhook check stored a message")
	}

	// A wrong token: the check callback is signed with Viber's token,
	// which the hook refuses, and Viber refuses the URL; the error says so.
	ch.cfg.AuthToken = "another"
	_, err = ch.RegisterWebhook(context.Background())
	if err == nil || !strings.Contains(err.Error(), "invalidUrl") || !strings.Contains(err.Error(), "status 1") {
		t.Fatalf("err = %v", err)
	}
}

func TestRegisterWebhookNeedsPublicURL(t *testing.T) {
	c, err := New(config("vb", "auth_token: t\nsender_name: S\napi_base_url: http://127.0.0.1:1\n"), adapters.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.(*Channel).RegisterWebhook(context.Background())
	if err == nil || !strings.Contains(err.Error(), "public_url") {
		t.Fatalf("err = %v", err)
	}
}

func TestWebhookURLEscapesID(t *testing.T) {
	c, err := New(config("vb one", "auth_token: t\nsender_name: S\n"), adapters.Deps{PublicURL: "https://x.example"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.(*Channel).WebhookURL()
	if err != nil || got != "https://x.example/hooks/viber/vb%20one" {
		t.Fatalf("url = %s, %v", got, err)
	}
}

func TestAccountInfo(t *testing.T) {
	fake := newFakeViber(t, func(_ int, path string, _ map[string]any) (int, string) {
		if path != "/pa/get_account_info" {
			return 404, `{}`
		}
		return 200, `{"status":0,"status_message":"ok","id":"pa:75346594275468546724","name":"account name",
			"uri":"accountUri","icon":"http://example.com","category":"category","webhook":"https://my.site.com",
			"event_types":["delivered","seen"],"subscribers_count":35,"members":[{"id":"01234567890A=","name":"my name","role":"admin"}]}`
	})
	ch, _ := newTestChannel(t, fake.srv.URL)
	info, err := ch.AccountInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != "pa:75346594275468546724" || info.Name != "account name" || info.Webhook != "https://my.site.com" ||
		len(info.EventTypes) != 2 || info.SubscribersCount != "35" {
		t.Errorf("info = %+v", info)
	}
	if r := fake.requests()[0]; r.token != testToken {
		t.Errorf("token = %q", r.token)
	}

	bad := newFakeViber(t, func(int, string, map[string]any) (int, string) {
		return 200, `{"status":2,"status_message":"invalidAuthToken"}`
	})
	ch, _ = newTestChannel(t, bad.srv.URL)
	if _, err := ch.AccountInfo(context.Background()); err == nil || !strings.Contains(err.Error(), "invalidAuthToken") {
		t.Fatalf("err = %v", err)
	}
}
