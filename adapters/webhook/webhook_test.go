package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/adapters/hooktest"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/inboxtest"
)

const testSecret = "0123456789abcdef-crm-secret"

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// configOf is an adapters.Config whose Decode copies a prepared Config,
// the way the daemon's YAML decoding would fill it.
func configOf(cfg Config) adapters.Config {
	return adapters.Config{ID: "crm", Kind: Kind, Name: "CRM", Queue: "support", Decode: func(into any) error {
		*into.(*Config) = cfg
		return nil
	}}
}

// newChannel builds a channel over a fresh in-memory ingester; logs go to
// the returned buffer.
func newChannel(t *testing.T, cfg Config) (*Channel, *inboxtest.Ingester, *syncBuffer) {
	t.Helper()
	g := inboxtest.NewIngester()
	logs := &syncBuffer{}
	ch, err := New(configOf(cfg), adapters.Deps{
		Ingest: g,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Clock:  inbox.ClockFunc(func() time.Time { return testNow }),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return ch.(*Channel), g, logs
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// post sends body to the channel's handler with the given signature header
// ("" leaves it out) and Content-Type.
func post(h http.Handler, body []byte, sig, contentType string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/hooks/webhook/crm", bytes.NewReader(body))
	if sig != "" {
		r.Header.Set(SignatureHeader, sig)
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func sign(body []byte) string { return "sha256=" + hooksig.Sign([]byte(testSecret), body) }

// postSigned is a correctly signed JSON request.
func postSigned(h http.Handler, body []byte) *httptest.ResponseRecorder {
	return post(h, body, sign(body), "application/json")
}

// apiError is the API's error body.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// wantError checks status, the JSON error shape and its code.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) apiError {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var e apiError
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, w.Body)
	}
	if e.Error.Code != code || e.Error.Message == "" {
		t.Errorf("error = %+v, want code %q with a message", e.Error, code)
	}
	return e
}

func wantStored(t *testing.T, g *inboxtest.Ingester, n int) {
	t.Helper()
	if got := len(g.Stored()); got != n {
		t.Fatalf("%d messages stored, want %d", got, n)
	}
}

func TestServeHTTPAccepts(t *testing.T) {
	ch, g, _ := newChannel(t, Config{Secret: testSecret})
	body := readFixture("full_contact.json")

	var first map[string]any
	for i, wantDup := range []bool{false, true} {
		w := postSigned(ch, body)
		if w.Code != http.StatusAccepted {
			t.Fatalf("attempt %d: status = %d, body %s", i, w.Code, w.Body)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		var got map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatalf("answer is not JSON: %s", w.Body)
		}
		if len(got) != 3 || got["message_id"] != float64(1) || got["duplicate"] != wantDup {
			t.Errorf("attempt %d: answer = %v", i, got)
		}
		if _, ok := got["conversation_id"].(float64); !ok {
			t.Errorf("attempt %d: conversation_id missing: %v", i, got)
		}
		if i == 0 {
			first = got
		} else if got["message_id"] != first["message_id"] {
			t.Errorf("retry answered message %v, first %v", got["message_id"], first["message_id"])
		}
		// A retry stores nothing new.
		wantStored(t, g, 1)
	}
	in := g.Stored()[0]
	if in.ChannelID != "crm" || in.ExternalID != "crm-4711" || in.Contact.ExternalID != "cust-42" ||
		in.Contact.Name != "Анна Müller" || in.Text != "Where is my order? <b>#12</b> & thanks 😀" {
		t.Errorf("stored %+v", in)
	}

	// A Content-Type with parameters is still JSON.
	body2 := []byte(`{"message_id":"m-2","contact":{"id":"cust-42"},"text":"again"}`)
	if w := post(ch, body2, sign(body2), "application/json; charset=utf-8"); w.Code != http.StatusAccepted {
		t.Fatalf("charset parameter: status = %d, body %s", w.Code, w.Body)
	}
	wantStored(t, g, 2)
}

func TestServeHTTPSignature(t *testing.T) {
	body := readFixture("minimal.json")
	good := hooksig.Sign([]byte(testSecret), body)
	tests := []struct {
		name string
		sig  string
	}{
		{"missing", ""},
		{"wrong secret", "sha256=" + hooksig.Sign([]byte("another-secret-of-length"), body)},
		{"other body", "sha256=" + hooksig.Sign([]byte(testSecret), append([]byte(" "), body...))},
		{"no prefix", good},
		{"other prefix", "sha1=" + good},
		{"upper-case prefix", "SHA256=" + good},
		{"not hex", "sha256=" + strings.Repeat("zz", 32)},
		{"odd hex", "sha256=" + good[:63]},
		{"truncated", "sha256=" + good[:32]},
		{"prefix only", "sha256="},
		{"extra bytes", "sha256=" + good + "00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, g, logs := newChannel(t, Config{Secret: testSecret})
			w := post(ch, body, tt.sig, "application/json")
			wantError(t, w, http.StatusUnauthorized, inbox.EUnauthorized)
			wantStored(t, g, 0)
			if strings.Contains(logs.String(), testSecret) || strings.Contains(w.Body.String(), testSecret) {
				t.Error("the secret leaked")
			}
		})
	}
	t.Run("control: the right one", func(t *testing.T) {
		ch, g, _ := newChannel(t, Config{Secret: testSecret})
		if w := post(ch, body, "sha256="+good, "application/json"); w.Code != http.StatusAccepted {
			t.Fatalf("status = %d, body %s", w.Code, w.Body)
		}
		wantStored(t, g, 1)
	})
}

func TestServeHTTPRefuses(t *testing.T) {
	big := withText(strings.Repeat("x", 2<<20))
	unknown := readFixture("unknown_field.json")
	badUTF8 := readFixture("invalid_utf8.json")
	minimal := readFixture("minimal.json")
	tests := []struct {
		name   string
		req    func(h http.Handler) *httptest.ResponseRecorder
		status int
		code   string
	}{
		{"GET", func(h http.Handler) *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/hooks/webhook/crm", nil))
			return w
		}, http.StatusMethodNotAllowed, inbox.EInvalid},
		{"PUT", func(h http.Handler) *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPut, "/hooks/webhook/crm", bytes.NewReader(minimal))
			r.Header.Set(SignatureHeader, sign(minimal))
			h.ServeHTTP(w, r)
			return w
		}, http.StatusMethodNotAllowed, inbox.EInvalid},
		{"2 MB body", func(h http.Handler) *httptest.ResponseRecorder { return postSigned(h, big) },
			http.StatusRequestEntityTooLarge, inbox.ETooLarge},
		{"text/plain", func(h http.Handler) *httptest.ResponseRecorder {
			return post(h, minimal, sign(minimal), "text/plain")
		}, http.StatusUnsupportedMediaType, inbox.EInvalid},
		{"form", func(h http.Handler) *httptest.ResponseRecorder {
			return post(h, minimal, sign(minimal), "application/x-www-form-urlencoded")
		}, http.StatusUnsupportedMediaType, inbox.EInvalid},
		{"no Content-Type", func(h http.Handler) *httptest.ResponseRecorder {
			return post(h, minimal, sign(minimal), "")
		}, http.StatusUnsupportedMediaType, inbox.EInvalid},
		{"invalid UTF-8", func(h http.Handler) *httptest.ResponseRecorder { return postSigned(h, badUTF8) },
			http.StatusBadRequest, inbox.EInvalid},
		{"unknown field", func(h http.Handler) *httptest.ResponseRecorder { return postSigned(h, unknown) },
			http.StatusBadRequest, inbox.EInvalid},
		{"two values", func(h http.Handler) *httptest.ResponseRecorder { return postSigned(h, readFixture("two_values.json")) },
			http.StatusBadRequest, inbox.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, g, _ := newChannel(t, Config{Secret: testSecret})
			wantError(t, tt.req(ch), tt.status, tt.code)
			wantStored(t, g, 0)
		})
	}
}

func TestServeHTTPMaxBody(t *testing.T) {
	ch, g, _ := newChannel(t, Config{Secret: testSecret, MaxBody: 100})
	small := readFixture("minimal.json")
	if w := postSigned(ch, small); w.Code != http.StatusAccepted {
		t.Fatalf("under max_body: status = %d, body %s", w.Code, w.Body)
	}
	wantError(t, postSigned(ch, withText(strings.Repeat("y", 100))), http.StatusRequestEntityTooLarge, inbox.ETooLarge)
	wantStored(t, g, 1)
}

// The header a 405 must carry (RFC 9110, 15.5.6).
func TestServeHTTPMethodNotAllowedSaysAllow(t *testing.T) {
	ch, _, _ := newChannel(t, Config{Secret: testSecret})
	w := httptest.NewRecorder()
	ch.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/hooks/webhook/crm", nil))
	if got := w.Header().Get("Allow"); got != http.MethodPost {
		t.Errorf("Allow = %q", got)
	}
}

func TestServeHTTPTextTooLong(t *testing.T) {
	ch, g, _ := newChannel(t, Config{Secret: testSecret})
	wantError(t, postSigned(ch, withText(strings.Repeat("x", inbox.MaxTextBytes+1))), http.StatusRequestEntityTooLarge, inbox.ETooLarge)
	wantStored(t, g, 0)
}

func TestServeHTTPNamesTheField(t *testing.T) {
	ch, _, _ := newChannel(t, Config{Secret: testSecret})
	e := wantError(t, postSigned(ch, readFixture("missing_message_id.json")), http.StatusBadRequest, inbox.EInvalid)
	if e.Error.Field != "message_id" {
		t.Errorf("field = %q, message %q", e.Error.Field, e.Error.Message)
	}
}

func TestServeHTTPStorageDown(t *testing.T) {
	for _, fail := range []error{inbox.ErrUnavailable, errors.New("disk I/O error")} {
		t.Run(fail.Error(), func(t *testing.T) {
			ch, g, logs := newChannel(t, Config{Secret: testSecret})
			body := readFixture("minimal.json")
			g.SetFail(fail)
			w := postSigned(ch, body)
			wantError(t, w, http.StatusServiceUnavailable, inbox.EUnavailable)
			if s, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || s <= 0 {
				t.Errorf("Retry-After = %q", w.Header().Get("Retry-After"))
			}
			if strings.Contains(w.Body.String(), "disk") {
				t.Errorf("internal cause shown to the client: %s", w.Body)
			}
			if !strings.Contains(logs.String(), "channel=crm") {
				t.Errorf("failure not logged with the channel: %s", logs)
			}
			wantStored(t, g, 0)

			// The sender's retry lands once the store is back: nothing lost.
			g.SetFail(nil)
			w = postSigned(ch, body)
			if w.Code != http.StatusAccepted || !strings.Contains(w.Body.String(), `"duplicate":false`) {
				t.Fatalf("retry: status = %d, body %s", w.Code, w.Body)
			}
			wantStored(t, g, 1)
		})
	}
}

// stubIngester answers Ingest with a fixed error.
type stubIngester struct {
	inbox.Ingester
	err error
}

func (s stubIngester) Ingest(context.Context, inbox.Inbound) (inbox.IngestResult, error) {
	return inbox.IngestResult{}, s.err
}

func TestServeHTTPIngestRefuses(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{inbox.Invalid("contact.id", "is not known"), http.StatusBadRequest, inbox.EInvalid},
		{&inbox.Error{Code: inbox.ETooLarge, Message: "too large"}, http.StatusRequestEntityTooLarge, inbox.ETooLarge},
		{context.Canceled, http.StatusServiceUnavailable, inbox.EUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			ch, err := New(configOf(Config{Secret: testSecret}), adapters.Deps{
				Ingest: stubIngester{err: tt.err}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			wantError(t, postSigned(ch.(*Channel), readFixture("minimal.json")), tt.status, tt.code)
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantKey string // "" : accepted
	}{
		{"minimal", Config{Secret: testSecret}, ""},
		{"secret of 16", Config{Secret: strings.Repeat("s", 16)}, ""},
		{"with callback", Config{Secret: testSecret, CallbackURL: "https://crm.example.com/inboxd"}, ""},
		{"http callback with port", Config{Secret: testSecret, CallbackURL: "http://127.0.0.1:9000/hook?x=1"}, ""},
		{"max_body", Config{Secret: testSecret, MaxBody: 4 << 20}, ""},
		{"no secret", Config{CallbackURL: "https://crm.example.com/"}, "secret"},
		{"short secret", Config{Secret: strings.Repeat("s", 15)}, "secret"},
		{"callback without scheme", Config{Secret: testSecret, CallbackURL: "crm.example.com/inboxd"}, "callback_url"},
		{"ftp callback", Config{Secret: testSecret, CallbackURL: "ftp://crm.example.com/inboxd"}, "callback_url"},
		{"callback without host", Config{Secret: testSecret, CallbackURL: "https:///inboxd"}, "callback_url"},
		{"unparsable callback", Config{Secret: testSecret, CallbackURL: "http://[::1"}, "callback_url"},
		{"negative max_body", Config{Secret: testSecret, MaxBody: -1}, "max_body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := New(configOf(tt.cfg), adapters.Deps{Ingest: inboxtest.NewIngester()})
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if ch.ID() != "crm" || ch.Kind() != "webhook" {
					t.Errorf("ID, Kind = %q, %q", ch.ID(), ch.Kind())
				}
				return
			}
			if err == nil {
				t.Fatal("New accepted it")
			}
			if !strings.HasPrefix(err.Error(), tt.wantKey+": ") {
				t.Errorf("error %q does not name %s", err, tt.wantKey)
			}
			if tt.cfg.Secret != "" && strings.Contains(err.Error(), tt.cfg.Secret) {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
	t.Run("decode error", func(t *testing.T) {
		bad := errors.New("max_body: cannot unmarshal !!str")
		_, err := New(adapters.Config{ID: "crm", Kind: Kind, Decode: func(any) error { return bad }}, adapters.Deps{})
		if !errors.Is(err, bad) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("default max_body", func(t *testing.T) {
		ch, _, _ := newChannel(t, Config{Secret: testSecret})
		if ch.cfg.MaxBody != hooksig.DefaultMaxBody {
			t.Errorf("max body = %d", ch.cfg.MaxBody)
		}
	})
}

// callback is an httptest receiver of replies.
type callback struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
	// answer writes the response; nil: 200 {"id":"crm-reply-1"}.
	answer func(w http.ResponseWriter)
}

type recorded struct {
	method, path string
	header       http.Header
	body         []byte
}

func newCallback(t *testing.T, answer func(w http.ResponseWriter)) *callback {
	cb := &callback{answer: answer}
	cb.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		cb.mu.Lock()
		cb.reqs = append(cb.reqs, recorded{r.Method, r.URL.Path, r.Header.Clone(), body})
		cb.mu.Unlock()
		if cb.answer == nil {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"crm-reply-1"}`)
			return
		}
		cb.answer(w)
	}))
	t.Cleanup(cb.Close)
	return cb
}

func (cb *callback) requests() []recorded {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return append([]recorded(nil), cb.reqs...)
}

func testOutbound() inbox.Outbound {
	return inbox.Outbound{
		MessageID: 77, ChannelID: "crm", Attempt: 1,
		Conversation: inbox.OutboundConversation{ID: 5, Number: 12, Token: "tok-secret", Title: "Anna"},
		Contact:      inbox.Contact{ID: 9, ChannelID: "crm", ExternalID: "cust-42", Name: "Anna"},
		AuthorName:   "Mikko",
		Text:         "Hi <Anna> & co \u2028 😀 \"quoted\"",
	}
}

func TestSendBody(t *testing.T) {
	cb := newCallback(t, nil)
	ch, _, _ := newChannel(t, Config{Secret: testSecret, CallbackURL: cb.URL + "/inboxd/replies"})
	out := testOutbound()
	res, err := ch.Send(context.Background(), out)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if res.ProviderID != "crm-reply-1" {
		t.Errorf("provider id = %q", res.ProviderID)
	}
	reqs := cb.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPost || r.path != "/inboxd/replies" {
		t.Errorf("%s %s", r.method, r.path)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if !hooksig.Verify([]byte(testSecret), r.body, r.header.Get(SignatureHeader), "sha256=") {
		t.Errorf("%s %q does not sign the raw body %s", SignatureHeader, r.header.Get(SignatureHeader), r.body)
	}
	if d := r.header.Get("X-Inboxd-Delivery"); d != "77" {
		t.Errorf("X-Inboxd-Delivery = %q", d)
	}

	var got map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("body is not JSON: %s", r.body)
	}
	want := map[string]any{
		"message_id": float64(77), "conversation_id": float64(5),
		"contact": map[string]any{"id": "cust-42"}, "author": map[string]any{"name": "Mikko"},
		"text": out.Text, "sent_at": testNow.Format(time.RFC3339Nano),
	}
	if len(got) != len(want) {
		t.Errorf("body has fields %v, want %v", got, want)
	}
	for k, v := range want {
		gb, _ := json.Marshal(got[k])
		wb, _ := json.Marshal(v)
		if !bytes.Equal(gb, wb) {
			t.Errorf("%s = %s, want %s", k, gb, wb)
		}
	}
	for _, secret := range []string{"tok-secret", testSecret} {
		if bytes.Contains(r.body, []byte(secret)) {
			t.Errorf("body carries %q", secret)
		}
	}
}

func TestSendRetryIsIdentifiable(t *testing.T) {
	cb := newCallback(t, nil)
	ch, _, _ := newChannel(t, Config{Secret: testSecret, CallbackURL: cb.URL})
	out := testOutbound()
	for attempt := 1; attempt <= 2; attempt++ {
		out.Attempt = attempt
		if _, err := ch.Send(context.Background(), out); err != nil {
			t.Fatal(err)
		}
	}
	reqs := cb.requests()
	if len(reqs) != 2 || reqs[0].header.Get("X-Inboxd-Delivery") != reqs[1].header.Get("X-Inboxd-Delivery") {
		t.Fatalf("a retry carries another delivery id: %d requests", len(reqs))
	}
}

func TestSendAnswers(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		providerID string // for 2xx
		permanent  bool
		retryAfter time.Duration
	}{
		{name: "200 with id", status: 200, body: `{"id":"X-1"}`, providerID: "X-1"},
		{name: "201 with id and more", status: 201, body: `{"id":"X-2","status":"queued"}`, providerID: "X-2"},
		{name: "204 empty", status: 204, providerID: "webhook-77"},
		{name: "200 not JSON", status: 200, body: "OK", providerID: "webhook-77"},
		{name: "200 numeric id", status: 200, body: `{"id":12}`, providerID: "webhook-77"},
		{name: "200 id too long", status: 200, body: `{"id":"` + strings.Repeat("i", 201) + `"}`, providerID: "webhook-77"},
		{name: "500", status: 500, body: "boom"},
		{name: "502", status: 502},
		{name: "400", status: 400, body: `{"error":"unknown contact"}`, permanent: true},
		{name: "404", status: 404, permanent: true},
		{name: "429 with Retry-After", status: 429, header: map[string]string{"Retry-After": "30"}, retryAfter: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cb := newCallback(t, func(w http.ResponseWriter) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			ch, _, _ := newChannel(t, Config{Secret: testSecret, CallbackURL: cb.URL})
			res, err := ch.Send(context.Background(), testOutbound())
			if tt.status < 300 {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				if res.ProviderID != tt.providerID {
					t.Errorf("provider id = %q, want %q", res.ProviderID, tt.providerID)
				}
				return
			}
			if err == nil {
				t.Fatalf("Send succeeded on %d", tt.status)
			}
			permanent, retryAfter := sendClass(err)
			if permanent != tt.permanent || retryAfter != tt.retryAfter {
				t.Errorf("err %v: permanent %v retry after %v, want %v %v", err, permanent, retryAfter, tt.permanent, tt.retryAfter)
			}
			if tt.body != "" && !strings.Contains(err.Error(), tt.body) {
				t.Errorf("error %q lacks the receiver's reason", err)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Error("error shows the secret")
			}
		})
	}
}

func TestSendUnreachable(t *testing.T) {
	cb := newCallback(t, nil)
	url := cb.URL
	cb.Close()
	ch, _, _ := newChannel(t, Config{Secret: testSecret, CallbackURL: url})
	_, err := ch.Send(context.Background(), testOutbound())
	if err == nil {
		t.Fatal("Send to a closed server succeeded")
	}
	if permanent, _ := sendClass(err); permanent {
		t.Errorf("a transport error is permanent: %v", err)
	}
}

func TestSendReasonStaysUTF8(t *testing.T) {
	reason := strings.Repeat("a", 299) + "éé"
	cb := newCallback(t, func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, reason)
	})
	ch, _, _ := newChannel(t, Config{Secret: testSecret, CallbackURL: cb.URL})
	_, err := ch.Send(context.Background(), testOutbound())
	if err == nil || !utf8.ValidString(err.Error()) {
		t.Fatalf("error is not valid UTF-8: %q", err)
	}
}

func TestSendWithoutCallbackIsPermanent(t *testing.T) {
	ch, _, _ := newChannel(t, Config{Secret: testSecret})
	_, err := ch.Send(context.Background(), testOutbound())
	if permanent, _ := sendClass(err); err == nil || !permanent {
		t.Fatalf("err = %v, want a permanent error", err)
	}
}

func TestCheckReply(t *testing.T) {
	conv := &inbox.Conversation{ID: 5, ChannelID: "crm", Status: inbox.StatusActive}

	ch, _, _ := newChannel(t, Config{Secret: testSecret})
	err := ch.CheckReply(context.Background(), conv, testNow)
	if inbox.ErrorCode(err) != inbox.EConflict || !strings.Contains(inbox.ErrorMessage(err), "callback_url") {
		t.Errorf("without callback_url: err = %v, want conflict naming callback_url", err)
	}

	ch, _, _ = newChannel(t, Config{Secret: testSecret, CallbackURL: "https://crm.example.com/inboxd"})
	if err := ch.CheckReply(context.Background(), conv, testNow); err != nil {
		t.Errorf("with callback_url: %v", err)
	}
}

// sendClass is how the outbox reads a send error.
func sendClass(err error) (permanent bool, retryAfter time.Duration) {
	var se *inbox.SendError
	if errors.As(err, &se) {
		return se.Permanent, se.RetryAfter
	}
	return false, 0
}

// TestHookErrorContract: the webhook answers every refusal and failure as
// every hook does (adapters.WriteError).
func TestHookErrorContract(t *testing.T) {
	ch, g, _ := newChannel(t, Config{Secret: testSecret})
	hooktest.Run(t, hooktest.Hook{
		Post: func(body []byte, signed bool) *httptest.ResponseRecorder {
			sig := "sha256=" + hooksig.Sign([]byte("not-the-secret-0000"), body)
			if signed {
				sig = sign(body)
			}
			return post(ch, body, sig, "application/json")
		},
		Valid: readFixture("minimal.json"), MaxBody: hooksig.DefaultMaxBody, Ingest: g,
	})
}
