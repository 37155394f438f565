package viber

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/adapters/hooktest"
	"github.com/inboxd/inboxd/inbox"
)

func sign(body []byte) string { return hooksig.Sign([]byte(testToken), body) }

// post sends body to the hook as Viber does and returns the status.
func post(t testing.TB, h http.Handler, body []byte, sig string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/hooks/viber/vb", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(SignatureHeader, sig)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func TestHookSignature(t *testing.T) {
	body := readFixture(t, "message_text.json")
	other := readFixture(t, "message_file.json")
	tests := []struct {
		name string
		sig  string
		want int
	}{
		{"valid", sign(body), http.StatusOK},
		{"valid, upper-case hex", strings.ToUpper(sign(body)), http.StatusOK},
		{"missing", "", http.StatusUnauthorized},
		{"another body's", sign(other), http.StatusUnauthorized},
		{"another key's", hooksig.Sign([]byte("not-the-token"), body), http.StatusUnauthorized},
		{"not hex", "zz" + sign(body)[2:], http.StatusUnauthorized},
		{"truncated", sign(body)[:20], http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, ing := newTestChannel(t, "")
			if got := post(t, ch, body, tt.sig); got != tt.want {
				t.Fatalf("status = %d, want %d", got, tt.want)
			}
			stored := len(ing.Stored())
			if tt.want == http.StatusOK && stored != 1 {
				t.Errorf("stored %d messages, want 1", stored)
			}
			if tt.want != http.StatusOK && stored != 0 {
				t.Errorf("an unsigned callback stored %d messages", stored)
			}
		})
	}
}

// A signed body that is not JSON must still be checked first: a bad
// signature on garbage is 401, not 400.
func TestHookSignatureBeforeParsing(t *testing.T) {
	ch, _ := newTestChannel(t, "")
	if got := post(t, ch, []byte("{not json"), "00"); got != http.StatusUnauthorized {
		t.Fatalf("status = %d, want 401", got)
	}
}

func TestHookMessage(t *testing.T) {
	ch, ing := newTestChannel(t, "")
	body := readFixture(t, "message_picture.json")
	if got := post(t, ch, body, sign(body)); got != http.StatusOK {
		t.Fatalf("status = %d", got)
	}
	msgs := ing.Stored()
	if len(msgs) != 1 {
		t.Fatalf("stored %d", len(msgs))
	}
	m := msgs[0]
	if m.ChannelID != "vb" || m.ExternalID != "5741311803571721087" || m.Contact.ExternalID != "01234567890A=" ||
		m.Title != "John McClane" || len(m.Attachments) != 1 || m.Attachments[0].ProviderRef == "" {
		t.Errorf("stored %+v", m)
	}
}

func TestHookDuplicate(t *testing.T) {
	ch, ing := newTestChannel(t, "")
	body := readFixture(t, "message_text.json")
	for i := 0; i < 3; i++ {
		if got := post(t, ch, body, sign(body)); got != http.StatusOK {
			t.Fatalf("attempt %d: status = %d", i, got)
		}
	}
	if n := len(ing.Stored()); n != 1 {
		t.Fatalf("a retried callback stored %d messages", n)
	}
}

// Storage down: 503 so that Viber retries; the retry then stores the
// message once. Nothing acknowledged is lost.
func TestHookUnavailable(t *testing.T) {
	for _, file := range []string{"message_text.json", "delivered.json", "failed.json"} {
		t.Run(file, func(t *testing.T) {
			ch, ing := newTestChannel(t, "")
			body := readFixture(t, file)
			ing.SetFail(inbox.ErrUnavailable)
			if got := post(t, ch, body, sign(body)); got != http.StatusServiceUnavailable {
				t.Fatalf("status = %d, want 503", got)
			}
			ing.SetFail(nil)
			if got := post(t, ch, body, sign(body)); got != http.StatusOK {
				t.Fatalf("retry: status = %d", got)
			}
			if n := len(ing.Stored()) + len(ing.DeliveryUpdates()); n != 1 {
				t.Fatalf("after the retry: %d records, want 1", n)
			}
		})
	}
	// A non-inbox error (a driver's) is also a 503.
	ch, ing := newTestChannel(t, "")
	ing.SetFail(errString("connection refused"))
	body := readFixture(t, "seen.json")
	if got := post(t, ch, body, sign(body)); got != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", got)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestHookDeliveryReports(t *testing.T) {
	ch, ing := newTestChannel(t, "")
	for _, file := range []string{"delivered.json", "seen.json", "failed.json"} {
		body := readFixture(t, file)
		if got := post(t, ch, body, sign(body)); got != http.StatusOK {
			t.Fatalf("%s: status = %d", file, got)
		}
	}
	ups := ing.DeliveryUpdates()
	want := []inbox.Delivery{inbox.DeliveryDelivered, inbox.DeliveryRead, inbox.DeliveryFailed}
	if len(ups) != len(want) {
		t.Fatalf("updates = %+v", ups)
	}
	for i, up := range ups {
		if up.State != want[i] || up.ProviderID != "4912661846655238145" || up.ChannelID != "vb" {
			t.Errorf("update %d = %+v", i, up)
		}
	}
	if ups[2].Error != "failure description" {
		t.Errorf("failed error = %q", ups[2].Error)
	}
	if n := len(ing.Stored()); n != 0 {
		t.Errorf("delivery reports created %d messages", n)
	}
}

// Events without a message are acknowledged and store nothing; webhook is
// the check Viber makes during set_webhook.
func TestHookAcknowledgedEvents(t *testing.T) {
	ch, ing := newTestChannel(t, "")
	for _, file := range []string{"webhook.json", "subscribed.json", "unsubscribed.json", "conversation_started.json", "unknown_event.json"} {
		body := readFixture(t, file)
		if got := post(t, ch, body, sign(body)); got != http.StatusOK {
			t.Errorf("%s: status = %d", file, got)
		}
	}
	if len(ing.Stored()) != 0 || len(ing.DeliveryUpdates()) != 0 {
		t.Errorf("stored %v / %v", ing.Stored(), ing.DeliveryUpdates())
	}
	// Acknowledged even with storage down: there is nothing to store.
	ing.SetFail(inbox.ErrUnavailable)
	body := readFixture(t, "webhook.json")
	if got := post(t, ch, body, sign(body)); got != http.StatusOK {
		t.Errorf("webhook with storage down: status = %d", got)
	}
}

func TestHookBadRequests(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want int
	}{
		{"malformed json", []byte(`{"event":"message","message_token":`), http.StatusBadRequest},
		{"invalid utf-8", []byte("{\"event\":\"message\",\"message_token\":1,\"sender\":{\"id\":\"u\",\"name\":\"\xc3\x28\"},\"message\":{\"type\":\"text\",\"text\":\"x\"}}"), http.StatusBadRequest},
		{"no message_token", []byte(`{"event":"message","sender":{"id":"u"},"message":{"type":"text","text":"x"}}`), http.StatusBadRequest},
		{"empty body", nil, http.StatusBadRequest},
		// The journal refuses it (an id over 512 bytes): 400, never a retry loop.
		{"refused by the journal", []byte(`{"event":"message","message_token":1,"sender":{"id":"` + strings.Repeat("u", 600) + `"},"message":{"type":"text","text":"x"}}`), http.StatusBadRequest},
		{"over 1 MiB", append(append([]byte(`{"event":"message","message_token":1,"sender":{"id":"u"},"message":{"type":"text","text":"`),
			bytes.Repeat([]byte("x"), hooksig.DefaultMaxBody)...), `"}}`...), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, ing := newTestChannel(t, "")
			if got := post(t, ch, tt.body, sign(tt.body)); got != tt.want {
				t.Fatalf("status = %d, want %d", got, tt.want)
			}
			if len(ing.Stored()) != 0 {
				t.Error("stored a refused callback")
			}
		})
	}
}

func TestHookMethod(t *testing.T) {
	ch, _ := newTestChannel(t, "")
	rec := httptest.NewRecorder()
	ch.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/hooks/viber/vb", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodPost {
		t.Fatalf("GET: %d %v", rec.Code, rec.Header())
	}
}

func FuzzHook(f *testing.F) {
	for _, name := range []string{"message_text.json", "delivered.json", "webhook.json", "message_location.json"} {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ch, ing := newTestChannel(t, "")
		got := post(t, ch, body, sign(body))
		if got != http.StatusOK && got != http.StatusBadRequest && got != http.StatusRequestEntityTooLarge {
			t.Fatalf("status = %d", got)
		}
		if got != http.StatusOK && (len(ing.Stored()) != 0 || len(ing.DeliveryUpdates()) != 0) {
			t.Fatal("stored a refused callback")
		}
	})
}

// TestHookErrorContract: the Viber callback answers every refusal and
// failure as every hook does (adapters.WriteError).
func TestHookErrorContract(t *testing.T) {
	ch, ing := newTestChannel(t, "")
	hooktest.Run(t, hooktest.Hook{
		Post: func(body []byte, signed bool) *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodPost, "/hooks/viber/vb", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			sig := hooksig.Sign([]byte("not-the-token"), body)
			if signed {
				sig = sign(body)
			}
			req.Header.Set(SignatureHeader, sig)
			rec := httptest.NewRecorder()
			ch.ServeHTTP(rec, req)
			return rec
		},
		Valid: readFixture(t, "message_text.json"), MaxBody: ch.maxBody, Ingest: ing,
	})
}
