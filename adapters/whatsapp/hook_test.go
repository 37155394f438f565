package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/adapters/hooktest"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/inboxtest"
)

const (
	testSecret = "app-secret"
	testVerify = "verify-me"
	testToken  = "WA-TOKEN"
)

func yamlConfig(doc string) adapters.Config {
	return adapters.Config{ID: "wa", Kind: Kind, Decode: func(into any) error {
		d := yaml.NewDecoder(strings.NewReader(doc))
		d.KnownFields(true)
		return d.Decode(into)
	}}
}

// cloudFake is an httptest WhatsApp Cloud API.
type cloudFake struct {
	*httptest.Server
	mu    sync.Mutex
	calls []call
	// send answers POST /{phone_number_id}/messages; nil: accepted.
	send func(w http.ResponseWriter, r *http.Request)
}

type call struct {
	Method, Path, Auth string
	Body               []byte
}

func newCloudFake(t *testing.T) *cloudFake {
	cf := &cloudFake{}
	cf.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		cf.mu.Lock()
		cf.calls = append(cf.calls, call{r.Method, r.URL.Path, r.Header.Get("Authorization"), body})
		n, send := len(cf.calls), cf.send
		cf.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"message":"Invalid OAuth access token - Cannot parse access token","type":"OAuthException","code":190,"fbtrace_id":"Ax"}}`)
			return
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/"+testNumber+"/messages":
			if send != nil {
				send(w, r)
				return
			}
			var req struct {
				To string `json:"to"`
			}
			json.Unmarshal(body, &req)
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{
				"messaging_product": "whatsapp",
				"contacts":          []map[string]string{{"input": req.To, "wa_id": req.To}},
				"messages":          []map[string]string{{"id": "wamid.sent" + string(rune('A'+n%26))}},
			})
		case r.Method == http.MethodGet && r.URL.Path == "/1003383421387256":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"messaging_product":"whatsapp","url":"`+cf.URL+`/download/1003383421387256?ext=1","mime_type":"image/jpeg","sha256":"x","file_size":9,"id":"1003383421387256"}`)
		case r.Method == http.MethodGet && r.URL.Path == "/download/1003383421387256":
			w.Header().Set("Content-Type", "application/octet-stream")
			io.WriteString(w, "JPEGBYTES")
		default:
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":{"message":"Unsupported get request.","type":"GraphMethodException","code":100,"error_subcode":33,"fbtrace_id":"Bx"}}`)
		}
	}))
	t.Cleanup(cf.Close)
	return cf
}

func (cf *cloudFake) recorded() []call {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	return append([]call(nil), cf.calls...)
}

type testEnv struct {
	ch    *Channel
	ing   *inboxtest.Ingester
	cloud *cloudFake
	now   time.Time
}

func newTestChannel(t *testing.T) *testEnv {
	t.Helper()
	env := &testEnv{ing: inboxtest.NewIngester(), cloud: newCloudFake(t), now: time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)}
	doc := "phone_number_id: \"" + testNumber + "\"\naccess_token: " + testToken + "\napp_secret: " + testSecret +
		"\nverify_token: " + testVerify + "\napi_base_url: " + env.cloud.URL + "/\n"
	ch, err := New(yamlConfig(doc), adapters.Deps{
		Ingest:     env.ing,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clock:      inbox.ClockFunc(func() time.Time { return env.now }),
		HTTPClient: env.cloud.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	env.ch = ch.(*Channel)
	return env
}

func (env *testEnv) post(body []byte, secret string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/hooks/whatsapp/wa", bytes.NewReader(body))
	if secret != "" {
		r.Header.Set("X-Hub-Signature-256", "sha256="+hooksig.Sign([]byte(secret), body))
	}
	w := httptest.NewRecorder()
	env.ch.ServeHTTP(w, r)
	return w
}

func TestHandshake(t *testing.T) {
	env := newTestChannel(t)
	for query, want := range map[string]int{
		"hub.mode=subscribe&hub.verify_token=" + testVerify + "&hub.challenge=42": 200,
		"hub.mode=subscribe&hub.verify_token=nope&hub.challenge=42":               403,
		"hub.mode=subscribe&hub.challenge=42":                                     403,
		"hub.mode=other&hub.verify_token=" + testVerify + "&hub.challenge=42":     403,
	} {
		w := httptest.NewRecorder()
		env.ch.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/hooks/whatsapp/wa?"+query, nil))
		if w.Code != want {
			t.Errorf("%q: %d, want %d", query, w.Code, want)
		}
		if want == 200 && w.Body.String() != "42" {
			t.Errorf("%q: challenge answered %q", query, w.Body.String())
		}
	}
}

func TestWebhook(t *testing.T) {
	env := newTestChannel(t)
	body := readFixture(t, "batch.json")
	if w := env.post(body, testSecret); w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	got := env.ing.Stored()
	if len(got) != 3 || got[1].Contact.Name != "Pablo Morales" || got[1].ExternalID != "wamid.batch2" {
		t.Fatalf("stored %+v", got)
	}
	if ups := env.ing.DeliveryUpdates(); len(ups) != 1 || ups[0].ProviderID != "wamid.out1" || ups[0].State != inbox.DeliveryDelivered {
		t.Fatalf("updates %+v", ups)
	}
	// Meta's retry of the same body: 200, nothing new.
	if w := env.post(body, testSecret); w.Code != 200 || len(env.ing.Stored()) != 3 {
		t.Fatalf("duplicate: %d, stored %d", w.Code, len(env.ing.Stored()))
	}
	// Statuses alone never become messages.
	if w := env.post(readFixture(t, "statuses.json"), testSecret); w.Code != 200 || len(env.ing.Stored()) != 3 {
		t.Fatalf("statuses: %d, stored %d", w.Code, len(env.ing.Stored()))
	}
	ups := env.ing.DeliveryUpdates()
	if last := ups[len(ups)-1]; last.State != inbox.DeliveryFailed || !strings.Contains(last.Error, "24 hours") {
		t.Errorf("failed status %+v", last)
	}
	// Another number's change is acknowledged and ignored.
	if w := env.post(readFixture(t, "other_number.json"), testSecret); w.Code != 200 {
		t.Fatalf("other number: %d", w.Code)
	}
	for _, in := range env.ing.Stored() {
		if in.ExternalID == "wamid.other" {
			t.Error("stored a message for another phone number")
		}
	}
}

func TestWebhookRefusals(t *testing.T) {
	env := newTestChannel(t)
	body := readFixture(t, "text.json")
	big := append([]byte(`{"object":"whatsapp_business_account","pad":"`), bytes.Repeat([]byte("x"), 1<<20)...)
	big = append(big, `"}`...)
	tests := []struct {
		name   string
		body   []byte
		secret string
		sig    string
		want   int
	}{
		{"unsigned", body, "", "", 401},
		{"wrong secret", body, "other", "", 401},
		{"bare hex", body, "", hooksig.Sign([]byte(testSecret), body), 401},
		{"malformed", []byte(`{"object":`), testSecret, "", 400},
		{"invalid utf8", []byte("{\"object\":\"whatsapp_business_account\",\"x\":\"\xfe\"}"), testSecret, "", 400},
		{"wrong object", []byte(`{"object":"page","entry":[]}`), testSecret, "", 400},
		{"too large", big, testSecret, "", 413},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, "/hooks/whatsapp/wa", bytes.NewReader(tt.body))
		switch {
		case tt.sig != "":
			r.Header.Set("X-Hub-Signature-256", tt.sig)
		case tt.secret != "":
			r.Header.Set("X-Hub-Signature-256", "sha256="+hooksig.Sign([]byte(tt.secret), tt.body))
		}
		w := httptest.NewRecorder()
		env.ch.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, w.Code, tt.want)
		}
	}
	if len(env.ing.Stored()) != 0 {
		t.Fatal("refused requests stored messages")
	}
	w := httptest.NewRecorder()
	env.ch.ServeHTTP(w, httptest.NewRequest(http.MethodDelete, "/", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d", w.Code)
	}
}

func TestWebhookStoreDown(t *testing.T) {
	env := newTestChannel(t)
	env.ing.SetFail(inbox.ErrUnavailable)
	if w := env.post(readFixture(t, "text.json"), testSecret); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("store down: %d", w.Code)
	}
	if w := env.post(readFixture(t, "statuses.json"), testSecret); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("statuses with store down: %d", w.Code)
	}
	env.ing.SetFail(errors.New("disk full"))
	if w := env.post(readFixture(t, "text.json"), testSecret); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("store error: %d", w.Code)
	}
	env.ing.SetFail(nil)
	if w := env.post(readFixture(t, "text.json"), testSecret); w.Code != 200 || len(env.ing.Stored()) != 1 {
		t.Fatalf("after recovery: %d, stored %d", w.Code, len(env.ing.Stored()))
	}
}

// TestHookErrorContract: the WhatsApp webhook answers every refusal and
// failure as every hook does (adapters.WriteError): a body that can never
// be stored is 4xx, never the 503 Meta would retry.
func TestHookErrorContract(t *testing.T) {
	env := newTestChannel(t)
	hooktest.Run(t, hooktest.Hook{
		Post: func(body []byte, signed bool) *httptest.ResponseRecorder {
			secret := "not-the-app-secret"
			if signed {
				secret = testSecret
			}
			return env.post(body, secret)
		},
		Valid: readFixture(t, "text.json"), MaxBody: hooksig.DefaultMaxBody, Ingest: env.ing,
	})
}
