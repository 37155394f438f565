package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// eventSink is an event webhook receiver: it records every signed
// message.created it accepts (repeats included) and answers slowly, so
// that a backlog builds while the load runs.
type eventSink struct {
	*httptest.Server
	mu     sync.Mutex
	texts  map[string]int    // message text -> deliveries
	order  map[int64][]int64 // conversation -> message ids, in arrival order
	badSig int
}

func newEventSink(t *testing.T) *eventSink {
	s := &eventSink{texts: map[string]int{}, order: map[int64][]int64{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		time.Sleep(2 * time.Millisecond)
		s.mu.Lock()
		defer s.mu.Unlock()
		if !hooksig.Verify([]byte(faultSecret), body, r.Header.Get("X-Inboxd-Signature"), "sha256=") {
			s.badSig++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var d struct {
			Event string
			Data  struct {
				ID             int64  `json:"id"`
				ConversationID int64  `json:"conversation_id"`
				Text           string `json:"text"`
			}
		}
		json.Unmarshal(body, &d)
		if d.Event == "message.created" {
			s.texts[d.Data.Text]++
			s.order[d.Data.ConversationID] = append(s.order[d.Data.ConversationID], d.Data.ID)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// TestFaultSIGKILLWebhooks kills the daemon with SIGKILL while it ingests
// and sends event webhooks, restarts it on the same database, and checks
// that the receiver gets every acknowledged message (at least once), each
// conversation's messages in order, all correctly signed.
func TestFaultSIGKILLWebhooks(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			if d == store.Postgres {
				requirePostgres(t)
			}
			sigkillWebhooks(t, storetest.URL(t, d))
		})
	}
}

func sigkillWebhooks(t *testing.T, dbURL string) {
	bin := inboxdBinary(t)
	dir := t.TempDir()
	sink := newEventSink(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
listen: ${LISTEN}
data_dir: %s
database: {url: %q}
bootstrap_owner: {email: owner@example.com, password: owner-password}
queues: [{id: support}]
channels:
  - {id: crm, kind: webhook, queue: support, secret: %s}
integrations:
  webhook_delivery: {base_delay: 50ms, max_delay: 200ms}
  webhooks: [{id: sink, url: %q, secret: %s, events: [message.created]}]
`, dir, dbURL, faultSecret, sink.URL, faultSecret))
	addr := freePort(t)
	p := serveOn(t, []string{bin}, cfg, addr)

	var cur atomic.Value
	cur.Store(p.base)
	l := newLoad(func() string { return cur.Load().(string) }, "crm")
	l.start("w", 4, 100)
	waitFor(t, "120 messages acknowledged", 30*time.Second, func() bool { return l.ackedCount() >= 120 })
	p.sigkill()
	atKill := l.ackedCount()
	sink.mu.Lock()
	sentAtKill := len(sink.texts)
	sink.mu.Unlock()
	p2 := serveOn(t, []string{bin}, cfg, addr)
	t.Logf("killed with %d messages acknowledged and %d sent to the receiver", atKill, sentAtKill)
	l.wait(t, 90*time.Second)

	l.mu.Lock()
	acked := make([]string, 0, len(l.acked))
	for id := range l.acked {
		acked = append(acked, id)
	}
	l.mu.Unlock()
	missing := func() []string {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		var out []string
		for _, id := range acked {
			if sink.texts["msg "+id] == 0 {
				out = append(out, id)
			}
		}
		return out
	}
	for deadline := time.Now().Add(60 * time.Second); len(missing()) > 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			req, _ := http.NewRequest("GET", p2.base+"/api/v1/integrations/webhooks", nil)
			req.Header.Set("Authorization", "Bearer "+login(t, p2.base))
			resp, err := http.DefaultClient.Do(req)
			var state []byte
			if err == nil {
				state, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			t.Fatalf("%d acknowledged messages never reached the receiver (%v); subscriber: %s", len(missing()), missing(), state)
		}
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	repeats := 0
	for _, n := range sink.texts {
		repeats += n - 1
	}
	for conv, ids := range sink.order {
		// At least once: a repeat may follow what was sent after it before
		// the kill; the first arrivals keep the conversation's order.
		seen, last := map[int64]bool{}, int64(0)
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			if id < last {
				t.Fatalf("conversation %d: message %d arrived after %d (%v)", conv, id, last, ids)
			}
			last = id
		}
	}
	if sink.badSig > 0 {
		t.Fatalf("%d deliveries with a wrong signature", sink.badSig)
	}
	if strings.Contains(p2.log.String(), "panic") {
		t.Fatalf("the restarted daemon panicked:\n%s", tail(p2.log.String(), 2000))
	}
	t.Logf("%d messages acknowledged, all delivered; %d repeats after the kill (at least once)", len(acked), repeats)
}
