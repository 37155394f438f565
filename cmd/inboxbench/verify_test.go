package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeAPI serves the journal and conversations' messages from memory,
// with small pages so that both cursors are exercised.
type fakeAPI struct {
	convs []fakeConv // newest activity first
}

type fakeConv struct {
	id    int64
	at    time.Time
	texts []string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer tok" {
		http.Error(w, "{}", http.StatusUnauthorized)
		return
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	const page = 3
	switch {
	case r.URL.Path == "/api/v1/journal":
		if r.URL.Query().Get("channel") != "crm" {
			http.Error(w, "want the channel filter", http.StatusBadRequest)
			return
		}
		var items []journalItem
		for _, c := range f.convs[start:min(start+page, len(f.convs))] {
			items = append(items, journalItem{ID: c.id, LastActivityAt: c.at})
		}
		next := ""
		if start+page < len(f.convs) {
			next = strconv.Itoa(start + page)
		}
		json.NewEncoder(w).Encode(map[string]any{"items": items, "next_cursor": next})
	case strings.HasPrefix(r.URL.Path, "/api/v1/conversations/") && strings.HasSuffix(r.URL.Path, "/messages"):
		id, _ := strconv.ParseInt(strings.Split(r.URL.Path, "/")[4], 10, 64)
		for _, c := range f.convs {
			if c.id != id {
				continue
			}
			var items []map[string]string
			for _, t := range c.texts[start:min(start+page, len(c.texts))] {
				items = append(items, map[string]string{"text": t})
			}
			next := ""
			if start+page < len(c.texts) {
				next = strconv.Itoa(start + page)
			}
			json.NewEncoder(w).Encode(map[string]any{"items": items, "next_cursor": next})
			return
		}
		http.Error(w, `{"error":{"code":"not_found"}}`, http.StatusNotFound)
	default:
		http.NotFound(w, r)
	}
}

// scenario builds 4 conversations of 5 messages each from run "r1", all
// acknowledged, then lets mutate drop or duplicate some.
func scenario(t *testing.T, mutate func(f *fakeAPI)) checkResult {
	t.Helper()
	now := time.Now()
	f := &fakeAPI{}
	acked := map[string]int64{}
	for c := int64(4); c >= 1; c-- {
		fc := fakeConv{id: c, at: now.Add(-time.Duration(4-c) * time.Second)}
		for m := range 5 {
			id := "r1-" + strconv.FormatInt(c*10+int64(m), 10)
			fc.texts = append(fc.texts, messageText(id))
			acked[id] = c
		}
		f.convs = append(f.convs, fc)
	}
	// Older activity than the run and another run's message: ignored.
	f.convs = append(f.convs, fakeConv{id: 99, at: now.Add(-time.Hour), texts: []string{messageText("r1-999")}})
	f.convs[0].texts = append(f.convs[0].texts, messageText("r0-1"), "a customer's own words")
	mutate(f)
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := newClient(srv.URL, 4, 5*time.Second)
	c.token = "tok"
	k := &checker{c: c, channel: "crm", run: "r1", since: now.Add(-time.Minute), workers: 3}
	res, err := k.check(context.Background(), acked)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestCheckerAllStoredOnce(t *testing.T) {
	res := scenario(t, func(*fakeAPI) {})
	if !res.ok() || res.Acked != 20 || res.Stored != 20 || res.Unacked != 0 || res.Conversations != 4 {
		t.Fatalf("clean run: %+v", res)
	}
}

func TestCheckerReportsDroppedAndDuplicated(t *testing.T) {
	res := scenario(t, func(f *fakeAPI) {
		c := &f.convs[1]                              // conversation 3
		c.texts = append(c.texts[:2], c.texts[3:]...) // drop r1-32
		f.convs[2].texts = append(f.convs[2].texts, messageText("r1-21"))
	})
	if res.ok() {
		t.Fatal("a dropped and a duplicated message passed the check")
	}
	if len(res.Missing) != 1 || res.Missing[0] != "r1-32" {
		t.Errorf("missing = %v, want [r1-32]", res.Missing)
	}
	if len(res.Duplicated) != 1 || res.Duplicated[0] != "r1-21" {
		t.Errorf("duplicated = %v, want [r1-21]", res.Duplicated)
	}
	if res.Stored != 19 {
		t.Errorf("stored = %d, want 19", res.Stored)
	}
}

func TestCheckerReadsConversationsTheJournalLost(t *testing.T) {
	res := scenario(t, func(f *fakeAPI) {
		// Conversation 2's activity looks older than the run: the walk
		// stops before it, but its messages are acknowledged there.
		f.convs[2].at = time.Now().Add(-2 * time.Hour)
		f.convs[2], f.convs[3] = f.convs[3], f.convs[2]
	})
	if res.ok() || res.NotInJournal != 1 {
		t.Fatalf("NotInJournal = %d, ok = %v; want 1, false", res.NotInJournal, res.ok())
	}
	if len(res.Missing) != 0 || res.Stored != 20 {
		t.Errorf("its messages must still be read: %+v", res)
	}
}

func TestCheckerCountsStoredButUnacknowledged(t *testing.T) {
	res := scenario(t, func(f *fakeAPI) {
		f.convs[0].texts = append(f.convs[0].texts, messageText("r1-777"))
	})
	if !res.ok() || res.Unacked != 1 {
		t.Fatalf("an unacknowledged stored message is allowed and counted: %+v", res)
	}
}
