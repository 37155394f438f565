package daemon_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// scrape reads /metrics as series (name{labels}) → value.
func (e *env) scrape() map[string]float64 {
	e.t.Helper()
	resp, err := http.Get(e.base + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		e.t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			e.t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// crmCallback answers replies by their text: "flaky" fails once (500)
// then is accepted, "never" is refused for good (400), "later" is told to
// come back in an hour (429, Retry-After), anything else is accepted.
type crmCallback struct {
	*httptest.Server
	mu    sync.Mutex
	seen  map[string]int
	codes []int
}

func newCRMCallback(t *testing.T) *crmCallback {
	cb := &crmCallback{seen: map[string]int{}}
	cb.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Text string }
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &body)
		cb.mu.Lock()
		defer cb.mu.Unlock()
		cb.seen[body.Text]++
		code := 200
		switch {
		case body.Text == "flaky" && cb.seen[body.Text] == 1:
			code = 500
		case body.Text == "never":
			code = 400
		case body.Text == "later":
			w.Header().Set("Retry-After", "3600")
			code = 429
		}
		cb.codes = append(cb.codes, code)
		w.WriteHeader(code)
	}))
	t.Cleanup(cb.Close)
	return cb
}

func (cb *crmCallback) calls() int {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return len(cb.codes)
}

// TestEndToEndMetrics: after a short load — webhooks (two refused), a
// Telegram poll, replies that are sent, retried, refused and deferred, an
// open live feed — /metrics shows every operator metric with the values
// that load makes.
func TestEndToEndMetrics(t *testing.T) {
	eachDialect(t, func(t *testing.T, dbURL string) {
		cb := newCRMCallback(t)
		tg := newTGFake(t, tgToken)
		tg.push(1, tgText(1, 10, "Hello from Telegram"))
		e := startChannels(t, chanDaemon{dbURL: dbURL, publicURL: "http://127.0.0.1", channels: fmt.Sprintf(`
  - {id: crm, kind: webhook, name: CRM, queue: support, secret: %q, callback_url: %q}
  - {id: tg, kind: telegram, name: Bot, queue: support, token: %q, api_base_url: %q, poll_timeout: 1}
`, secret, cb.URL, tgToken, tg.URL)}, true)
		started := float64(time.Now().Unix())

		// Four customers write; two requests are refused.
		var convs []int64
		for i := 1; i <= 4; i++ {
			convs = append(convs, e.send("crm", fmt.Sprintf("m%d", i), fmt.Sprintf("c%d", i), "hello").ConversationID)
		}
		if st, _, _ := e.post("crm", []byte(`{"message_id":"x","contact":{"id":"c9"},"text":"hi"}`), "sha256=00"); st != 401 {
			t.Fatalf("bad signature: %d", st)
		}
		if st, _, _ := e.post("crm", []byte(`{"message_id":"y","contact":{"id":"c9"}}`), ""); st != 400 {
			t.Fatalf("no text: %d", st)
		}
		// A retry of a stored message is not counted again.
		e.send("crm", "m1", "c1", "hello")
		e.waitConversation("tg")

		// Replies to three of them (they are taken: two stay unassigned).
		for i, text := range []string{"flaky", "never", "later"} {
			e.reply(convs[i], text)
		}
		waitUntil(t, "the callback's four answers", func() bool { return cb.calls() >= 4 })

		// Live feeds: the owner's journal, Anna's notifications.
		for _, f := range []struct{ path, token string }{{"/api/v1/journal/events", e.owner}, {"/api/v1/me/notifications/events", e.anna}} {
			req, _ := http.NewRequest("GET", e.base+f.path, nil)
			req.Header.Set("Authorization", "Bearer "+f.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("feed %s: %v %v", f.path, resp, err)
			}
			defer resp.Body.Close()
		}

		var m map[string]float64
		// The callback answers before the outbox records the outcome: wait
		// for the counters too.
		waitUntil(t, "the feeds, the poller and the sends in /metrics", func() bool {
			m = e.scrape()
			return m[`inboxd_feeds{kind="journal"}`] == 1 && m[`inboxd_feeds{kind="notifications"}`] == 1 &&
				m[`inboxd_poller_last_success_timestamp_seconds{channel="tg"}`] > 0 &&
				m[`inboxd_outbox_sends_total{channel="crm",result="sent"}`] >= 1 &&
				m[`inboxd_outbox_sends_total{channel="crm",result="failed"}`] >= 1 &&
				m[`inboxd_outbox_sends_total{channel="crm",result="retried"}`] >= 2
		})
		want := map[string]float64{
			`inboxd_messages_ingested_total{channel="crm"}`:                       4,
			`inboxd_messages_ingested_total{channel="tg"}`:                        1,
			`inboxd_messages_rejected_total{channel="crm",reason="invalid"}`:      1,
			`inboxd_messages_rejected_total{channel="crm",reason="unauthorized"}`: 1,
			`inboxd_outbox_sends_total{channel="crm",result="sent"}`:              1,
			`inboxd_outbox_sends_total{channel="crm",result="retried"}`:           2,
			`inboxd_outbox_sends_total{channel="crm",result="failed"}`:            1,
			`inboxd_outbox_sends_total{channel="tg",result="sent"}`:               0,
			`inboxd_outbox_pending{channel="crm"}`:                                1,
			`inboxd_outbox_pending{channel="tg"}`:                                 0,
			`inboxd_conversations_unassigned{queue="support"}`:                    2,
			`inboxd_feeds{kind="journal"}`:                                        1,
			`inboxd_feeds{kind="widget"}`:                                         0,
			`inboxd_feeds{kind="notifications"}`:                                  1,
			`inboxd_feeds{kind="me"}`:                                             0,
			`inboxd_poller_lag_seconds{channel="tg"}`:                             -1, // checked below
		}
		for series, v := range want {
			got, ok := m[series]
			if !ok {
				t.Errorf("%s is missing", series)
			} else if v >= 0 && got != v {
				t.Errorf("%s = %v, want %v", series, got, v)
			}
		}
		if lag := m[`inboxd_poller_lag_seconds{channel="tg"}`]; lag < 0 || lag > 60 {
			t.Errorf("telegram lag %v s", lag)
		}
		if ts := m[`inboxd_poller_last_success_timestamp_seconds{channel="tg"}`]; ts < started-1 || ts > float64(time.Now().Unix())+1 {
			t.Errorf("telegram last success %v, started at %v", ts, started)
		}
		for _, series := range []string{`inboxd_outbox_oldest_pending_seconds`, `inboxd_conversations_oldest_wait_seconds{queue="support"}`} {
			if v, ok := m[series]; !ok || v <= 0 || v > 60 {
				t.Errorf("%s = %v (present %v), want a few seconds", series, v, ok)
			}
		}
		// Every ingest transaction is a group: 6 messages (the retry of m1
		// included), at least one group.
		if n, sum := m[`inboxd_ingest_group_size_count`], m[`inboxd_ingest_group_size_sum`]; n < 1 || sum != 6 {
			t.Errorf("group sizes: %v groups of %v messages, want 6 messages", n, sum)
		}
		if n := m[`inboxd_ingest_commit_duration_seconds_count`]; n != m[`inboxd_ingest_group_size_count`] {
			t.Errorf("commit durations %v, groups %v", n, m[`inboxd_ingest_group_size_count`])
		}
		if _, ok := m[`inboxd_http_requests_total{method="POST",route="/hooks/:kind/:channel",status="202"}`]; !ok {
			t.Error("the HTTP metrics are gone")
		}
	})
}
