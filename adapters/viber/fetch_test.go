package viber

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/inboxd/inboxd/inbox"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func TestFetchAttachment(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/expired.jpg" {
			http.Error(w, "expired", http.StatusForbidden)
			return
		}
		if r.URL.Path == "/down.jpg" {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		io.WriteString(w, "JPEGDATA")
	}))
	defer srv.Close()
	ch, _ := newTestChannel(t, "", "allow_private_fetch: true\n") // the media server is on 127.0.0.1

	rc, ct, err := ch.FetchAttachment(context.Background(), srv.URL+"/pic.jpg?Expires=1&Signature=x")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(b) != "JPEGDATA" || ct != "image/jpeg" {
		t.Fatalf("got %q %q %v", b, ct, err)
	}

	// Viber's media links expire after about an hour.
	if _, _, err := ch.FetchAttachment(context.Background(), srv.URL+"/expired.jpg"); inbox.ErrorCode(err) != inbox.ENotFound {
		t.Errorf("expired: err = %v", err)
	}
	if _, _, err := ch.FetchAttachment(context.Background(), srv.URL+"/down.jpg"); err == nil || inbox.ErrorCode(err) == inbox.ENotFound {
		t.Errorf("5xx: err = %v", err)
	}
	for _, ref := range []string{"", "file:///etc/passwd", "/relative", "http://"} {
		if _, _, err := ch.FetchAttachment(context.Background(), ref); inbox.ErrorCode(err) != inbox.EInvalid {
			t.Errorf("%q: err = %v", ref, err)
		}
	}
}

// Regression (SSRF): a signed callback named an internal URL as its
// media, and the attachment download fetched it and handed its body to
// the admin. By default only https URLs at public addresses are fetched.
func TestFetchAttachmentRefusesInternalURLs(t *testing.T) {
	ch, ing := newTestChannel(t, "")
	var hits atomic.Int32
	internal := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "INTERNAL-SECRET")
	})
	plain := httptest.NewServer(internal)
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(internal)
	defer tlsSrv.Close()
	for i, media := range []string{plain.URL + "/admin/secret.jpg", tlsSrv.URL + "/admin/secret.jpg", "https://[::1]/x.jpg", "https://10.0.0.7/x.jpg"} {
		body := []byte(fmt.Sprintf(`{"event":"message","timestamp":1457764197628,"message_token":%d,`+
			`"sender":{"id":"01234567890A=","name":"John"},"message":{"type":"picture","media":%q}}`, 100+i, media))
		if st := post(t, ch, body, sign(body)); st != http.StatusOK {
			t.Fatalf("callback: %d", st)
		}
	}
	if len(ing.Messages) != 4 {
		t.Fatalf("stored %d messages", len(ing.Messages))
	}
	for _, m := range ing.Messages {
		if len(m.Attachments) != 1 {
			t.Fatalf("attachments %+v", m.Attachments)
		}
		ref := m.Attachments[0].ProviderRef
		rc, _, err := ch.FetchAttachment(context.Background(), ref)
		if err == nil {
			b, _ := io.ReadAll(rc)
			rc.Close()
			t.Fatalf("%s: fetched %q", ref, b)
		}
		if inbox.ErrorCode(err) != inbox.EForbidden {
			t.Errorf("%s: %v (code %s), want forbidden", ref, err, inbox.ErrorCode(err))
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the internal server was reached %d times", n)
	}
}
