package email

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// timedIngester is the real service, noting when each batch committed,
// the message ids it got, and what the process allocated until then.
type timedIngester struct {
	inbox.Ingester
	mu      sync.Mutex
	ids     []int64
	at      []time.Time
	alloc   []uint64 // runtime.MemStats.TotalAlloc after the batch
	peak    []uint64 // highest HeapInuse sampled since the previous batch
	curPeak uint64
}

func (ti *timedIngester) IngestBatch(ctx context.Context, ins []inbox.Inbound, c *inbox.Cursor) ([]inbox.IngestResult, error) {
	rs, err := ti.Ingester.IngestBatch(ctx, ins, c)
	if err != nil {
		return rs, err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	ti.mu.Lock()
	defer ti.mu.Unlock()
	for _, r := range rs {
		ti.ids = append(ti.ids, r.MessageID)
		ti.at = append(ti.at, time.Now())
		ti.alloc = append(ti.alloc, ms.TotalAlloc)
		ti.peak = append(ti.peak, max(ti.curPeak, ms.HeapInuse))
	}
	ti.curPeak = 0
	return rs, nil
}

func (ti *timedIngester) sample(heapInuse uint64) {
	ti.mu.Lock()
	ti.curPeak = max(ti.curPeak, heapInuse)
	ti.mu.Unlock()
}

func (ti *timedIngester) stored() int {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	return len(ti.ids)
}

// warnings records the WARN records of the channel's log.
type warnings struct {
	mu   sync.Mutex
	recs []string
}

func (w *warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	w.mu.Lock()
	w.recs = append(w.recs, b.String())
	w.mu.Unlock()
	return nil
}
func (w *warnings) WithAttrs(as []slog.Attr) slog.Handler { return &attrHandler{w, as} }
func (w *warnings) WithGroup(string) slog.Handler         { return w }

type attrHandler struct {
	*warnings
	attrs []slog.Attr
}

func (h *attrHandler) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(h.attrs...)
	return h.warnings.Handle(ctx, r)
}

func (h *attrHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &attrHandler{h.warnings, append(append([]slog.Attr{}, h.attrs...), as...)}
}

// The two bombs of the audit go through a real Dovecot and the real store
// between two ordinary mails: each becomes a message saying which limit it
// went over, the cursor moves past it, and the mail after it arrives. The
// time and memory each bomb cost, fetch to commit, are logged:
//
//	go test -run IMAPMIMEBombs -v ./adapters/email/
func TestIMAPMIMEBombsDoNotStallTheMailbox(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) { testMIMEBombs(t, d) })
	}
}

func testMIMEBombs(t *testing.T, dialect store.Dialect) {
	dc := startDovecot(t, true)
	nested, parts := nestedBomb(20000), partsBomb(200000)
	dc.appendMail(t, simpleMail("before@example.com", "Jane <jane@example.com>", "Before", "first normal mail"),
		nested, parts,
		simpleMail("after@example.com", "Jane <jane@example.com>", "After", "last normal mail"))

	st := storetest.Open(t, dialect)
	svc := inbox.NewService(inbox.Options{Store: st, Channels: []inbox.ChannelInfo{{ID: "mail", Kind: Kind}}})
	ing := &timedIngester{Ingester: svc}
	logs := &warnings{}
	ic := dc.imapConfig()
	doc := fmt.Sprintf("address: support@example.com\nimap: {host: %s, port: %d, tls: none, username: %s, password: %s}\nsmtp: {host: 127.0.0.1, port: 25, tls: none}\n",
		ic.Host, ic.Port, ic.Username, ic.Password)
	ch, err := New(yamlConfig("mail", doc), adapters.Deps{Ingest: ing, Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	c := ch.(*Channel)
	c.poller.batchSize = 1 // one commit per mail, to time each

	sampling, stopSampling := context.WithCancel(context.Background())
	defer stopSampling()
	go func() {
		var ms runtime.MemStats
		for sampling.Err() == nil {
			runtime.ReadMemStats(&ms)
			ing.sample(ms.HeapInuse)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	stop := running(t, c.Run)
	eventually(t, "the four mails", func() bool { return ing.stored() == 4 })
	stop()
	stopSampling()

	ing.mu.Lock()
	ids, at, alloc, peak := ing.ids, ing.at, ing.alloc, ing.peak
	ing.mu.Unlock()
	for i, name := range []string{"before", "nested20000", "parts200000", "after"} {
		prevAt, prevAlloc := start, before.TotalAlloc
		if i > 0 {
			prevAt, prevAlloc = at[i-1], alloc[i-1]
		}
		t.Logf("%s %s: %v fetch to commit, %.1f MB allocated, heap in use at most %.1f MB (%.1f MB above the start)",
			dialect, name, at[i].Sub(prevAt).Round(time.Millisecond), mb(alloc[i]-prevAlloc), mb(peak[i]), mb(peak[i]-min(peak[i], before.HeapInuse)))
	}

	msgs, err := st.MessagesByID(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ id, limit, text string }{
		{"before@example.com", "", "first normal mail"},
		{"nested@example.com", LimitDepth, "This mail is too complex to show: it nests MIME parts more than 12 levels deep"},
		{"parts@example.com", LimitParts, "This mail is too complex to show: it has more than 1000 MIME parts"},
		{"after@example.com", "", "last normal mail"},
	}
	for i, w := range want {
		m := msgs[ids[i]]
		if m == nil {
			t.Fatalf("message %d (%s) not stored", ids[i], w.id)
		}
		if m.ExternalID != w.id || m.Meta[MetaLimit] != w.limit || !strings.Contains(m.Text, w.text) {
			t.Errorf("message %d: id %q limit %q text %q, want %s %q %q", i, m.ExternalID, m.Meta[MetaLimit], m.Text, w.id, w.limit, w.text)
		}
		if w.limit != "" && !strings.Contains(m.Text, "Hello, first text") {
			t.Errorf("message %d: text %q without the first text part", i, m.Text)
		}
		if i > 0 && ids[i] <= ids[i-1] {
			t.Errorf("ids %v out of order", ids)
		}
	}
	cur, err := svc.Cursor(context.Background(), "mail", "imap:INBOX")
	if err != nil || cur != fmt.Sprintf("%d:4", dc.uidValidity(t)) {
		t.Errorf("cursor %q %v, want past UID 4", cur, err)
	}

	logs.mu.Lock()
	defer logs.mu.Unlock()
	var limitLogs []string
	for _, r := range logs.recs {
		if strings.Contains(r, "parse limit") {
			limitLogs = append(limitLogs, r)
		}
		if strings.Contains(r, "first text") || strings.Contains(r, "Mallory") {
			t.Errorf("a log line shows the mail's content: %s", r)
		}
	}
	if len(limitLogs) != 2 || !strings.Contains(limitLogs[0], "uid=2 limit=depth") || !strings.Contains(limitLogs[1], "uid=3 limit=parts") ||
		!strings.Contains(limitLogs[0], "channel=mail") {
		t.Errorf("limit warnings %q", limitLogs)
	}
}

func mb(n uint64) float64 { return float64(n) / (1 << 20) }
