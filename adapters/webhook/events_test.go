package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/inbox"
)

// TestEventSender: a delivery is the envelope, signed with the
// subscriber's secret, with its id and event in headers; a refusal is an
// error naming the status and carrying the receiver's Retry-After, and
// never the URL's secrets.
func TestEventSender(t *testing.T) {
	var status int
	var retryAfter string
	var gotBody []byte
	var gotHeader http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotBody, _ = io.ReadAll(r.Body)
		gotHeader = r.Header.Clone()
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
		io.WriteString(w, "busy")
	}))
	defer srv.Close()
	sub := &inbox.WebhookSubscriber{ID: "crm", URL: srv.URL + "/in?token=s3cret", Secret: "subscriber-secret-0123"}
	e := &inbox.Event{ID: 42, Kind: inbox.EventMessageCreated, ConversationID: 7, CreatedAt: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC),
		Payload: json.RawMessage(`{"id":9,"text":"hi"}`)}
	d := inbox.NewWebhookDelivery(e, inbox.HookMessageCreated, e.Payload)
	s := EventSender{Client: srv.Client()}

	status = 204
	if err := s.SendWebhook(context.Background(), sub, &d); err != nil {
		t.Fatal(err)
	}
	if !hooksig.Verify([]byte(sub.Secret), gotBody, gotHeader.Get(SignatureHeader), "sha256=") {
		t.Fatalf("signature %q does not verify over %s", gotHeader.Get(SignatureHeader), gotBody)
	}
	if gotHeader.Get(EventIDHeader) != "42:message.created" || gotHeader.Get(EventHeader) != "message.created" ||
		gotHeader.Get("Content-Type") != "application/json" {
		t.Fatalf("headers: %v", gotHeader)
	}
	if string(gotBody) != string(d.Envelope()) {
		t.Fatalf("body %s, want %s", gotBody, d.Envelope())
	}

	status, retryAfter = 429, "7"
	err := s.SendWebhook(context.Background(), sub, &d)
	var se *inbox.SendError
	if !errors.As(err, &se) || se.RetryAfter != 7*time.Second || !strings.Contains(err.Error(), "receiver answered 429: busy") {
		t.Fatalf("429: %v", err)
	}
	status, retryAfter = 500, ""
	if err := s.SendWebhook(context.Background(), sub, &d); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("500: %v", err)
	}
	srv.Close()
	err = s.SendWebhook(context.Background(), sub, &d)
	if err == nil || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), sub.Secret) {
		t.Fatalf("a refused connection: %v", err)
	}
}
