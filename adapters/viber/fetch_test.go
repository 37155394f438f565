package viber

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
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
	ch, _ := newTestChannel(t, "")

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
