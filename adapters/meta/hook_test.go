package meta

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/adapters/hooktest"
	"github.com/inboxd/inboxd/inbox"
)

func TestHandshake(t *testing.T) {
	env := newTestChannel(t, Messenger, "")
	tests := []struct {
		query      string
		wantStatus int
		wantBody   string
	}{
		{"hub.mode=subscribe&hub.verify_token=" + testVerify + "&hub.challenge=1158201444", 200, "1158201444"},
		{"hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1", 403, ""},
		{"hub.mode=subscribe&hub.verify_token=&hub.challenge=1", 403, ""},
		{"hub.mode=unsubscribe&hub.verify_token=" + testVerify + "&hub.challenge=1", 403, ""},
		{"", 403, ""},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		env.ch.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/hooks/meta/fb?"+tt.query, nil))
		if w.Code != tt.wantStatus {
			t.Errorf("%q: status %d, want %d", tt.query, w.Code, tt.wantStatus)
		}
		if tt.wantStatus == 200 {
			if w.Body.String() != tt.wantBody || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
				t.Errorf("%q: answered %q (%s)", tt.query, w.Body.String(), w.Header().Get("Content-Type"))
			}
		} else if strings.Contains(w.Body.String(), "1158201444") {
			t.Errorf("%q: challenge echoed on failure", tt.query)
		}
	}
}

func TestWebhookStoresBatchWithProfiles(t *testing.T) {
	env := newTestChannel(t, Messenger, "")
	env.graph.profiles["1111"] = `{"first_name":"Ada","last_name":"Lovelace","name":"Ada Lovelace","profile_pic":"https://x/p.jpg","id":"1111"}`
	// 2222 has no profile: the fake answers 400.
	body := readFixture(t, "messenger_batch.json")
	w := env.post(body, testSecret)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	got := env.ing.Stored()
	if len(got) != 3 {
		t.Fatalf("stored %d messages", len(got))
	}
	if got[0].Contact.Name != "Ada Lovelace" || got[0].Contact.Meta["avatar_url"] != "https://x/p.jpg" || got[0].Title != "" {
		t.Errorf("named contact: %+v title %q", got[0].Contact, got[0].Title)
	}
	if got[1].Contact.Name != "" || got[1].Title != "2222" {
		t.Errorf("unnamed contact: %+v title %q, want the PSID as title", got[1].Contact, got[1].Title)
	}
	if ups := env.ing.DeliveryUpdates(); len(ups) != 2 || ups[0].ProviderID != "m_out_1" || ups[0].State != inbox.DeliveryDelivered {
		t.Errorf("updates %+v", ups)
	}
	// Each contact looked up once, with the page token and the documented fields.
	var lookups []string
	for _, c := range env.graph.recorded() {
		if c.Method == http.MethodGet {
			lookups = append(lookups, c.Path)
			if c.Auth != "Bearer "+testToken || c.Query != "fields=first_name,last_name,name,profile_pic" {
				t.Errorf("profile call %+v", c)
			}
		}
	}
	if len(lookups) != 2 {
		t.Errorf("profile lookups %v, want one per contact", lookups)
	}
	// The cache holds for the next request, failures included.
	if w := env.post(readFixture(t, "messenger_batch.json"), testSecret); w.Code != 200 {
		t.Fatalf("retry status %d", w.Code)
	}
	if n := env.graph.count(http.MethodGet); n != 2 {
		t.Errorf("%d profile lookups after a second request, want 2 (cached)", n)
	}
}

func TestWebhookInstagramProfileFields(t *testing.T) {
	env := newTestChannel(t, Instagram, "")
	env.graph.profiles["998877665544"] = `{"name":"","username":"ada.codes","profile_pic":"https://x/ig.jpg"}`
	if w := env.post(readFixture(t, "instagram_media.json"), testSecret); w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	got := env.ing.Stored()
	if len(got) != 4 || got[0].Contact.Name != "ada.codes" || got[0].Contact.Username != "ada.codes" {
		t.Fatalf("stored %+v", got)
	}
	calls := env.graph.recorded()
	if len(calls) != 1 || calls[0].Query != "fields=name,username,profile_pic" {
		t.Errorf("profile calls %+v", calls)
	}
	// A page body on an Instagram channel is refused.
	if w := env.post(readFixture(t, "messenger_text.json"), testSecret); w.Code != http.StatusBadRequest {
		t.Errorf("messenger body on instagram: %d", w.Code)
	}
}

func TestWebhookSignature(t *testing.T) {
	env := newTestChannel(t, Messenger, "")
	body := readFixture(t, "messenger_text.json")
	for name, r := range map[string]*http.Request{
		"unsigned":     httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)),
		"wrong secret": signed(body, "sha256="+signHex("other-secret", body)),
		"sha1 header":  signed(body, "sha1="+signHex(testSecret, body)),
		"not hex":      signed(body, "sha256=zz"),
		"other body":   signed(body, "sha256="+signHex(testSecret, append([]byte(" "), body...))),
	} {
		w := httptest.NewRecorder()
		env.ch.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, w.Code)
		}
	}
	if n := len(env.ing.Stored()); n != 0 {
		t.Fatalf("%d messages stored from unsigned requests", n)
	}
	if env.graph.count(http.MethodGet) != 0 {
		t.Error("a profile was fetched for an unsigned request")
	}
	if w := env.post(body, testSecret); w.Code != 200 || len(env.ing.Stored()) != 1 {
		t.Fatalf("signed: %d, stored %d", w.Code, len(env.ing.Stored()))
	}
}

func signed(body []byte, sig string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set(SignatureHeader, sig)
	return r
}

func signHex(secret string, body []byte) string {
	return hooksig.Sign([]byte(secret), body)
}

func TestWebhookDuplicate(t *testing.T) {
	env := newTestChannel(t, Messenger, "")
	body := readFixture(t, "messenger_attachments.json")
	for i := 0; i < 2; i++ {
		if w := env.post(body, testSecret); w.Code != 200 {
			t.Fatalf("post %d: %d", i, w.Code)
		}
	}
	if n := len(env.ing.Stored()); n != 4 {
		t.Fatalf("stored %d messages after a repeated delivery, want 4", n)
	}
}

func TestWebhookStoreDown(t *testing.T) {
	env := newTestChannel(t, Messenger, "")
	body := readFixture(t, "messenger_batch.json")
	env.ing.SetFail(inbox.ErrUnavailable)
	if w := env.post(body, testSecret); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("store down: %d, want 503", w.Code)
	}
	env.ing.SetFail(errors.New("connection reset"))
	if w := env.post(body, testSecret); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("store error: %d, want 503", w.Code)
	}
	env.ing.SetFail(nil)
	if w := env.post(body, testSecret); w.Code != 200 || len(env.ing.Stored()) != 3 {
		t.Fatalf("after recovery: %d, stored %d", w.Code, len(env.ing.Stored()))
	}
	// Reports alone (an echo) also answer 503 when they cannot be stored.
	env.ing.SetFail(inbox.ErrUnavailable)
	if w := env.post(readFixture(t, "messenger_echo.json"), testSecret); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("echo with store down: %d", w.Code)
	}
	env.ing.SetFail(inbox.Invalid("text", "nope"))
	if w := env.post(readFixture(t, "messenger_text.json"), testSecret); w.Code != http.StatusBadRequest {
		t.Fatalf("invalid per store: %d, want 400", w.Code)
	}
}

func TestWebhookBadBodies(t *testing.T) {
	env := newTestChannel(t, Messenger, "")
	big := append([]byte(`{"object":"page","entry":[],"pad":"`), bytes.Repeat([]byte("a"), 1<<20)...)
	big = append(big, `"}`...)
	tests := []struct {
		name string
		body []byte
		want int
	}{
		{"malformed", []byte(`{"object":"page","entry":[{`), 400},
		{"invalid utf8", []byte("{\"object\":\"page\",\"entry\":[{\"id\":\"\xc3\x28\"}]}"), 400},
		{"wrong object", []byte(`{"object":"user","entry":[]}`), 400},
		{"empty", []byte(``), 400},
		{"too large", big, 413},
		{"empty batch", []byte(`{"object":"page","entry":[]}`), 200},
	}
	for _, tt := range tests {
		if w := env.post(tt.body, testSecret); w.Code != tt.want {
			t.Errorf("%s: %d, want %d (%s)", tt.name, w.Code, tt.want, w.Body)
		}
	}
	if len(env.ing.Stored()) != 0 {
		t.Error("bad bodies stored messages")
	}
	w := httptest.NewRecorder()
	env.ch.ServeHTTP(w, httptest.NewRequest(http.MethodPut, "/", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %d", w.Code)
	}
}

func TestWebhookEchoAndWatermarks(t *testing.T) {
	env := newTestChannel(t, Messenger, "")
	// A reply goes out to 6666; Meta echoes it, then reports it read by watermark.
	res, err := env.ch.Send(t.Context(), inbox.Outbound{ChannelID: "fb", Contact: inbox.Contact{ExternalID: "6666"}, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	echo := strings.ReplaceAll(string(readFixture(t, "messenger_echo.json")), "m_out_echo_1", res.ProviderID)
	if w := env.post([]byte(echo), testSecret); w.Code != 200 {
		t.Fatalf("echo: %d", w.Code)
	}
	if len(env.ing.Stored()) != 0 {
		t.Fatal("an echo became a customer message")
	}
	reads := strings.ReplaceAll(string(readFixture(t, "messenger_delivery_read.json")), "m_out_echo_1", res.ProviderID)
	if w := env.post([]byte(reads), testSecret); w.Code != 200 {
		t.Fatalf("reads: %d", w.Code)
	}
	var states []inbox.Delivery
	for _, u := range env.ing.DeliveryUpdates() {
		if u.ProviderID != res.ProviderID {
			t.Errorf("update for %q", u.ProviderID)
		}
		states = append(states, u.State)
	}
	want := []inbox.Delivery{inbox.DeliverySent, inbox.DeliveryDelivered, inbox.DeliveryRead, inbox.DeliveryDelivered}
	if fmt.Sprint(states) != fmt.Sprint(want) {
		t.Errorf("states %v, want %v", states, want)
	}
	// A watermark before the (echoed) send time covers nothing.
	early := `{"object":"page","entry":[{"id":"1234","messaging":[{"sender":{"id":"6666"},"timestamp":1,"read":{"watermark":1700000499999}}]}]}`
	env.post([]byte(early), testSecret)
	if n := len(env.ing.DeliveryUpdates()); n != 4 {
		t.Errorf("an earlier watermark produced reports: %d", n)
	}
}

// TestHookErrorContract: the Messenger and Instagram webhook answers every
// refusal and failure as every hook does (adapters.WriteError): a batch
// that can never be stored is 4xx, never the 503 Meta would retry.
func TestHookErrorContract(t *testing.T) {
	for _, p := range []struct {
		platform Platform
		fixture  string
	}{{Messenger, "messenger_text.json"}, {Instagram, "instagram_media.json"}} {
		t.Run(string(p.platform), func(t *testing.T) {
			env := newTestChannel(t, p.platform, "")
			hooktest.Run(t, hooktest.Hook{
				Post: func(body []byte, signed bool) *httptest.ResponseRecorder {
					secret := "not-the-app-secret"
					if signed {
						secret = testSecret
					}
					return env.post(body, secret)
				},
				Valid: readFixture(t, p.fixture), MaxBody: hooksig.DefaultMaxBody, Ingest: env.ing,
			})
		})
	}
}
