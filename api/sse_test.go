package api

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
	"github.com/inboxd/inboxd/journal"
)

// feedServer is an API server on a fresh SQLite store with an owner's
// token.
func feedServer(t *testing.T) (s *Server, hub *journal.Hub, token string) {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite)
	owner := &inbox.User{Email: "owner@example.com", Name: "Owner", Role: inbox.RoleOwner, CreatedAt: time.Now()}
	if err := st.CreateUser(ctx, owner, "x"); err != nil {
		t.Fatal(err)
	}
	token, hash := NewToken()
	if err := st.CreateToken(ctx, owner.ID, hash, "api", "test", time.Now(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	hub = journal.NewHub()
	return New(Options{Users: st, Journal: journal.New(st, nil), Reader: st, Hub: hub}), hub, token
}

// TestStreamLeavesNetHTTP: once streaming, a feed's connection is out of
// net/http: the handler has returned (the access log counted a 200) while
// events still arrive; the response carries the middleware's headers and
// is close-delimited.
func TestStreamLeavesNetHTTP(t *testing.T) {
	s, hub, token := feedServer(t)
	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/journal/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != 200 || h.Get("Content-Type") != "text/event-stream" || h.Get("Cache-Control") != "no-cache" ||
		h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Request-Id") == "" || h.Get("Server-Timing") != "" {
		t.Fatalf("answer: %d %v", resp.StatusCode, h)
	}
	if !resp.Close || len(resp.TransferEncoding) != 0 {
		t.Fatalf("framing: close %v, transfer encoding %v", resp.Close, resp.TransferEncoding)
	}
	br := bufio.NewReader(resp.Body)
	readFrame := func() string {
		var b strings.Builder
		for !strings.HasSuffix(b.String(), "\n\n") {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v (%q)", err, b.String())
			}
			b.WriteString(line)
		}
		return b.String()
	}
	if got := readFrame(); got != "retry: 2000\n\n" {
		t.Fatalf("first frame %q", got)
	}
	served := `inboxd_http_requests_total{method="GET",route="/api/v1/journal/events",status="200"} 1`
	waitFor(t, "the handler to return", func() bool {
		resp, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), served)
	})
	if n := hub.Subscribers(); n != 1 {
		t.Fatalf("hub subscribers %d", n)
	}
	hub.Publish([]inbox.Event{ev(1, 5)})
	if got := readFrame(); got != agentFrame(1, 5) {
		t.Fatalf("event %q", got)
	}
}

// syncRecorder is a ResponseWriter that cannot be hijacked, safe to read
// while the feed writes.
type syncRecorder struct {
	mu   sync.Mutex
	h    http.Header
	code int
	body bytes.Buffer
}

func (r *syncRecorder) Header() http.Header { return r.h }
func (r *syncRecorder) WriteHeader(code int) {
	r.mu.Lock()
	r.code = code
	r.mu.Unlock()
}
func (r *syncRecorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.body.Write(b)
}
func (r *syncRecorder) Flush() {}
func (r *syncRecorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.body.String()
}

// TestStreamWithoutHijack: where the connection cannot be taken over, the
// handler streams as before, until the client goes.
func TestStreamWithoutHijack(t *testing.T) {
	s, hub, token := feedServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/journal/events", nil).WithContext(ctx)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := &syncRecorder{h: http.Header{}}
	returned := make(chan struct{})
	go func() { s.ServeHTTP(rec, req); close(returned) }()
	waitFor(t, "the feed", func() bool { return hub.Subscribers() == 1 })
	hub.Publish([]inbox.Event{ev(1, 5)})
	want := "retry: 2000\n\n" + agentFrame(1, 5)
	waitFor(t, "the event", func() bool { return rec.String() == want })
	select {
	case <-returned:
		t.Fatal("the handler returned while streaming")
	case <-time.After(20 * time.Millisecond):
	}
	cancel()
	<-returned
	if rec.code != 200 || hub.Subscribers() != 0 || rec.String() != want {
		t.Fatalf("after the client left: %d, %d subscribers, %q", rec.code, hub.Subscribers(), rec.String())
	}
}
