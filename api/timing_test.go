package api

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
	"github.com/inboxd/inboxd/journal"
)

// TestServerTiming: a JSON answer carries `Server-Timing: app;dur=<ms>`;
// an event stream carries none and still streams.
func TestServerTiming(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite)
	chans := []inbox.ChannelInfo{{ID: "crm", Kind: "webhook", Name: "CRM", Queue: "support"}}
	if err := st.Seed(ctx, store.SeedOptions{Conversations: 3, MessagesPer: 1, Channels: chans}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	owner := &inbox.User{Email: "owner@example.com", Name: "Owner", Role: inbox.RoleOwner, CreatedAt: now}
	if err := st.CreateUser(ctx, owner, "x"); err != nil {
		t.Fatal(err)
	}
	token, hash := NewToken()
	if err := st.CreateToken(ctx, owner.ID, hash, "api", "test", now, time.Time{}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Options{Users: st, Journal: journal.New(st, chans), Reader: st,
		Hub: journal.NewHub(), Channels: chans}))
	defer srv.Close()
	get := func(ctx context.Context, path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	resp := get(ctx, "/api/v1/journal?limit=50")
	resp.Body.Close()
	h := resp.Header.Get("Server-Timing")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(h, "app;dur=") {
		t.Fatalf("journal: %s, Server-Timing %q", resp.Status, h)
	}
	d := strings.TrimPrefix(h, "app;dur=")
	if ms, err := strconv.ParseFloat(d, 64); err != nil || ms < 0 || ms > 60_000 || !strings.Contains(d, ".") || len(d)-strings.Index(d, ".") != 3 {
		t.Fatalf("journal: Server-Timing %q: not milliseconds with 2 decimals", h)
	}
	// Errors are answers too.
	resp = get(ctx, "/api/v1/journal?limit=0x")
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("Server-Timing"), "app;dur=") {
		t.Fatalf("bad limit: %s, Server-Timing %q", resp.Status, resp.Header.Get("Server-Timing"))
	}

	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp = get(sctx, "/api/v1/journal/events")
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	if h := resp.Header.Get("Server-Timing"); h != "" {
		t.Fatalf("events: Server-Timing %q on a stream", h)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "retry: ") {
		t.Fatalf("events: first line %q, %v", line, err)
	}
}
