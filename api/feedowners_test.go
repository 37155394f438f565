package api

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
	"github.com/inboxd/inboxd/journal"
)

// TestFeedsRecheckCredentialsAtHeartbeat: a feed whose token is deleted
// behind the server's back (by another replica) or expires closes at the
// next heartbeat; a feed of a live token stays.
func TestFeedsRecheckCredentialsAtHeartbeat(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite)
	owner := &inbox.User{Email: "owner@example.com", Name: "Owner", Role: inbox.RoleOwner, CreatedAt: time.Now()}
	if err := st.CreateUser(ctx, owner, "x"); err != nil {
		t.Fatal(err)
	}
	newToken := func(expires time.Time) (string, string) {
		tok, hash := NewToken()
		if err := st.CreateToken(ctx, owner.ID, hash, "api", "test", time.Now(), expires); err != nil {
			t.Fatal(err)
		}
		return tok, hash
	}
	live, _ := newToken(time.Time{})
	deleted, deletedHash := newToken(time.Time{})
	expiring, _ := newToken(time.Now().Add(3 * time.Second)) // long enough to open its feed on a busy machine
	hub := journal.NewHub()
	s := New(Options{Users: st, Journal: journal.New(st, nil), Reader: st, Hub: hub, Heartbeat: 200 * time.Millisecond})
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go s.RunFeeds(runCtx)
	srv := httptest.NewServer(s)
	defer srv.Close()

	open := func(token string) <-chan struct{} {
		req, _ := http.NewRequestWithContext(runCtx, http.MethodGet, srv.URL+"/api/v1/journal/events", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("feed: %v %v", resp, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		ended := make(chan struct{})
		go func() {
			io.Copy(io.Discard, bufio.NewReader(resp.Body))
			close(ended)
		}()
		return ended
	}
	liveFeed, deletedFeed, expiringFeed := open(live), open(deleted), open(expiring)
	if err := st.DeleteToken(ctx, deletedHash); err != nil {
		t.Fatal(err)
	}
	for what, ended := range map[string]<-chan struct{}{"deleted": deletedFeed, "expired": expiringFeed} {
		select {
		case <-ended:
		case <-time.After(8 * time.Second):
			t.Fatalf("the %s token's feed is still open", what)
		}
	}
	select {
	case <-liveFeed:
		t.Fatal("the live token's feed closed")
	case <-time.After(300 * time.Millisecond):
	}
}
