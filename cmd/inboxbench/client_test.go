package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/inboxd/inboxd/adapters/hooksig"
)

func TestSignMatchesKnownVectorAndTheDaemonsCheck(t *testing.T) {
	// RFC 4231 test case 2: key "Jefe".
	got := sign("Jefe", []byte("what do ya want for nothing?"))
	want := "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got != want {
		t.Fatalf("sign = %s, want %s", got, want)
	}
	body := []byte(`{"message_id":"m-1"}`)
	if !hooksig.Verify([]byte("crm-secret-0123456789"), body, sign("crm-secret-0123456789", body), "sha256=") {
		t.Fatal("the daemon's verifier rejects our signature")
	}
	if hooksig.Verify([]byte("another-secret-0123456789"), body, sign("crm-secret-0123456789", body), "sha256=") {
		t.Fatal("a signature under another secret verified")
	}
}

func TestReadSSE(t *testing.T) {
	stream := "retry: 2000\n\n" +
		": ping\n\n" +
		"id: 7\nevent: message.created\ndata: {\"a\":1}\n\n" +
		"id: 8\r\nevent: conversation.updated\r\ndata: line1\r\ndata:line2\r\n\r\n" +
		"data: no id or type\rdata:  two spaces\r\r" +
		"id: 9\nevent: half\ndata: never dispatched" // no blank line: dropped at EOF
	var got []sseEvent
	// One byte at a time exercises the CR/CRLF lookahead across reads.
	err := readSSE(iotest.OneByteReader(strings.NewReader(stream)), func(e sseEvent) error {
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []sseEvent{
		{ID: "7", Event: "message.created", Data: `{"a":1}`},
		{ID: "8", Event: "conversation.updated", Data: "line1\nline2"},
		{ID: "8", Event: "", Data: "no id or type\n two spaces"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d events %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestReadSSEStopsOnCallbackErrorAndHugeLine(t *testing.T) {
	stop := errors.New("stop")
	err := readSSE(strings.NewReader("data: a\n\ndata: b\n\n"), func(sseEvent) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the callback's", err)
	}
	huge := "data: " + strings.Repeat("x", maxSSELine+10) + "\n\n"
	if err := readSSE(strings.NewReader(huge), func(sseEvent) error { return nil }); err == nil {
		t.Fatal("a line over the bound must be an error, not unbounded memory")
	}
}

// TestSubscribeAgainstHTTPTest reads a live stream over HTTP with the
// bearer token and Last-Event-ID, as the fanout subscribers do.
func TestSubscribeAgainstHTTPTest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, `{"error":{"code":"unauthorized"}}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		fmt.Fprint(w, "retry: 2000\n\n")
		fl.Flush()
		from := 1
		if r.Header.Get("Last-Event-ID") == "2" {
			from = 3
		}
		for i := from; i <= 3; i++ {
			fmt.Fprintf(w, "id: %d\nevent: message.created\ndata: {\"n\":%d}\n\n", i, i)
			fl.Flush()
		}
	}))
	defer srv.Close()
	c := newClient(srv.URL, 0, 0)
	if _, err := c.subscribe(context.Background(), "/feed", ""); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("without a token: err = %v, want a 401", err)
	}
	c.token = "tok"
	for _, tc := range []struct {
		last string
		want []string
	}{{"", []string{"1", "2", "3"}}, {"2", []string{"3"}}} {
		body, err := c.subscribe(context.Background(), "/feed", tc.last)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		readSSE(body, func(e sseEvent) error { ids = append(ids, e.ID); return nil })
		body.Close()
		if strings.Join(ids, ",") != strings.Join(tc.want, ",") {
			t.Errorf("Last-Event-ID %q: ids %v, want %v", tc.last, ids, tc.want)
		}
	}
}

// fakeHook is a webhook channel that verifies signatures and answers a
// scripted status per attempt of each message_id.
type fakeHook struct {
	secret string
	mu     sync.Mutex
	script map[string][]int // message_id → statuses of its first attempts
	posts  map[string]int
}

func (f *fakeHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !hooksig.Verify([]byte(f.secret), body, r.Header.Get("X-Inboxd-Signature"), "sha256=") {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var m webhookMessage
	if err := json.Unmarshal(body, &m); err != nil || r.URL.Path != "/hooks/webhook/crm" {
		http.Error(w, "bad", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	n := f.posts[m.MessageID]
	f.posts[m.MessageID] = n + 1
	status := http.StatusAccepted
	if s := f.script[m.MessageID]; n < len(s) {
		status = s[n]
	}
	f.mu.Unlock()
	if status != http.StatusAccepted {
		w.Header().Set("Retry-After", "5")
		http.Error(w, "scripted", status)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, `{"message_id":1,"conversation_id":42,"duplicate":%v}`, n > 0)
}

func TestLoaderRetriesWithTheSameMessageID(t *testing.T) {
	h := &fakeHook{secret: "crm-secret-0123456789", script: map[string][]int{}, posts: map[string]int{}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	ld := newLoader(newClient(srv.URL, 2, 5*time.Second), loadFlags{channel: "crm", secret: h.secret, contacts: 3, maxAttempts: 3, timeout: 5 * time.Second})
	h.script[ld.messageID(1)] = []int{503, 502}      // acknowledged on the third attempt
	h.script[ld.messageID(2)] = []int{503, 503, 503} // attempts exhausted
	h.script[ld.messageID(3)] = []int{400}           // a retry cannot fix it
	for seq := int64(1); seq <= 4; seq++ {
		if err := ld.send(context.Background(), seq); err != nil {
			t.Fatal(err)
		}
	}
	st := ld.stats()
	if len(st.acked) != 2 || st.acked[ld.messageID(1)] != 42 || st.acked[ld.messageID(4)] != 42 {
		t.Errorf("acked = %v, want messages 1 and 4 in conversation 42", st.acked)
	}
	if h.posts[ld.messageID(1)] != 3 || h.posts[ld.messageID(2)] != 3 || h.posts[ld.messageID(3)] != 1 {
		t.Errorf("posts = %v", h.posts)
	}
	if st.retries != 4 || st.gaveUp != 1 || st.rejected != 1 || st.duplicates != 1 {
		t.Errorf("retries %d gaveUp %d rejected %d duplicates %d, want 4 1 1 1", st.retries, st.gaveUp, st.rejected, st.duplicates)
	}
	if got := formatCounts(st.errors); got != "400×1, 502×1, 503×4" {
		t.Errorf("errors = %s", got)
	}
	if st.latency.Count() != 2 {
		t.Errorf("latency samples = %d, want one per acknowledged message", st.latency.Count())
	}

	wrong := newLoader(newClient(srv.URL, 2, 5*time.Second), loadFlags{channel: "crm", secret: "not-the-secret-at-all", contacts: 1, maxAttempts: 3, timeout: 5 * time.Second})
	if err := wrong.send(context.Background(), 1); err == nil || !strings.Contains(err.Error(), "--secret") {
		t.Fatalf("a wrong secret must abort the run naming --secret, got %v", err)
	}
}

func TestTargetsAreLocalOnly(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080", "http://localhost:9", "https://[::1]:8443/"} {
		if _, err := checkBaseURL(u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	for _, u := range []string{"http://10.0.0.1:8080", "http://example.com", "ftp://127.0.0.1", "127.0.0.1:8080", "http://127.0.0.1.evil.com"} {
		if _, err := checkBaseURL(u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	for _, d := range []string{"sqlite:/tmp/x.db", "postgres://postgres@127.0.0.1:5432/bench?sslmode=disable", "postgresql://localhost/bench", "postgres:///bench?host=/var/run/postgresql"} {
		if err := checkDatabaseURL(d); err != nil {
			t.Errorf("%s refused: %v", d, err)
		}
	}
	for _, d := range []string{"", "sqlite:", "postgres://db.example.com/bench", "postgres:///bench?host=10.1.1.1", "mysql://127.0.0.1/x"} {
		if err := checkDatabaseURL(d); err == nil {
			t.Errorf("%q accepted", d)
		}
	}
}

func TestServerTiming(t *testing.T) {
	if got := serverTiming("db;dur=1.5, app;desc=\"x\";dur=0.5"); got != 2*time.Millisecond {
		t.Errorf("got %v, want 2ms", got)
	}
	if got := serverTiming(""); got != 0 {
		t.Errorf("empty header gave %v", got)
	}
}

func TestParseRateAndEventSeq(t *testing.T) {
	for in, want := range map[string]float64{"500/s": 500, "500": 500, "600/m": 10} {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("parseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0/s", "-1", "5/h", "1e9/s", "abc"} {
		if _, err := parseRate(in); err == nil {
			t.Errorf("parseRate(%q) accepted", in)
		}
	}
	data := `{"id":5,"kind":"message.created","conversation_id":3,"payload":{"id":9,"text":"inboxbench message ab12-1234","attachments":[]}}`
	if n, ok := eventSeq(data, "ab12"); !ok || n != 1234 {
		t.Errorf("eventSeq = %d, %v; want 1234", n, ok)
	}
	if _, ok := eventSeq(data, "ffff"); ok {
		t.Error("another run's message matched")
	}
	if _, ok := eventSeq(`{"payload":{"text":"inboxbench message ab12-12x"}}`, "ab12"); ok {
		t.Error("a malformed number matched")
	}
}
