package daemon

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
)

// gather returns a registry's series as name{k="v",...} → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+`="`+l.GetValue()+`"`)
			}
			name := mf.GetName()
			if len(ls) > 0 {
				name += "{" + strings.Join(ls, ",") + "}"
			}
			switch {
			case m.Gauge != nil:
				out[name] = m.Gauge.GetValue()
			case m.Counter != nil:
				out[name] = m.Counter.GetValue()
			case m.Histogram != nil:
				out[name+"_count"] = float64(m.Histogram.GetSampleCount())
				out[name+"_sum"] = m.Histogram.GetSampleSum()
			}
		}
	}
	return out
}

// fakeBacklogs is a database that counts its reads.
type fakeBacklogs struct {
	mu       sync.Mutex
	reads    int // of the outbox
	fail     bool
	slowWait bool // OldestWaits takes longer than the timeout
	outbox   []store.OutboxBacklog
	counts   map[string]int64
	waits    map[string]time.Time
}

func (f *fakeBacklogs) OutboxBacklogs(context.Context) ([]store.OutboxBacklog, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.fail {
		return nil, inbox.ErrUnavailable
	}
	return f.outbox, nil
}

func (f *fakeBacklogs) UnassignedCounts(context.Context) (map[string]int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return nil, inbox.ErrUnavailable
	}
	return f.counts, nil
}

func (f *fakeBacklogs) OldestWaits(ctx context.Context) (map[string]time.Time, error) {
	f.mu.Lock()
	slow, waits := f.slowWait, f.waits
	f.mu.Unlock()
	if slow {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return waits, nil
}

// TestBacklogCollector: configured channels and queues read 0 when nothing
// waits; ages come from the clock; a scrape within the cache's 5 s reads
// nothing; a database that fails reports the last values and is asked
// again only after the cache's time.
func TestBacklogCollector(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clock := inbox.ClockFunc(func() time.Time { return now })
	src := &fakeBacklogs{}
	c := newBacklogCollector(src, clock, slog.New(slog.DiscardHandler),
		[]inbox.ChannelInfo{{ID: "crm"}, {ID: "tg"}}, []string{"support", "sales"})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	got := gather(t, reg)
	for series, v := range map[string]float64{
		`inboxd_outbox_pending{channel="crm"}`: 0, `inboxd_outbox_pending{channel="tg"}`: 0,
		`inboxd_outbox_oldest_pending_seconds`:                    0,
		`inboxd_conversations_unassigned{queue="support"}`:        0,
		`inboxd_conversations_oldest_wait_seconds{queue="sales"}`: 0,
	} {
		if g, ok := got[series]; !ok || g != v {
			t.Errorf("empty: %s = %v (present %v), want %v", series, g, ok, v)
		}
	}

	src.outbox = []store.OutboxBacklog{{ChannelID: "crm", Pending: 3, Oldest: now.Add(-90 * time.Second)},
		{ChannelID: "gone", Pending: 1, Oldest: now.Add(-10 * time.Second)}}
	src.counts = map[string]int64{"support": 4, "sales": 1}
	src.waits = map[string]time.Time{"support": now.Add(-time.Hour)}
	now = now.Add(4 * time.Second)
	if g := gather(t, reg); g[`inboxd_outbox_pending{channel="crm"}`] != 0 || src.reads != 1 {
		t.Fatalf("a scrape within 5 s read the database (%d reads) or changed: %v", src.reads, g)
	}
	now = now.Add(2 * time.Second)
	got = gather(t, reg)
	for series, v := range map[string]float64{
		`inboxd_outbox_pending{channel="crm"}`:                      3,
		`inboxd_outbox_pending{channel="gone"}`:                     1,
		`inboxd_outbox_oldest_pending_seconds`:                      90 + 6,
		`inboxd_conversations_unassigned{queue="support"}`:          4,
		`inboxd_conversations_oldest_wait_seconds{queue="support"}`: 3600 + 6,
		`inboxd_conversations_unassigned{queue="sales"}`:            1,
		`inboxd_conversations_oldest_wait_seconds{queue="sales"}`:   0,
	} {
		if g := got[series]; g != v {
			t.Errorf("%s = %v, want %v", series, g, v)
		}
	}

	src.fail = true
	now = now.Add(6 * time.Second)
	got = gather(t, reg)
	if got[`inboxd_outbox_pending{channel="crm"}`] != 3 || got[`inboxd_conversations_unassigned{queue="support"}`] != 4 || src.reads != 3 {
		t.Errorf("a failed read: pending %v, unassigned %v after %d reads, want the last values and 3 reads",
			got[`inboxd_outbox_pending{channel="crm"}`], got[`inboxd_conversations_unassigned{queue="support"}`], src.reads)
	}
	gather(t, reg)
	if src.reads != 3 {
		t.Errorf("a failed read is retried within 5 s: %d reads", src.reads)
	}

	// The longest wait's query times out (a huge backlog): the counts
	// are fresh, the wait keeps its last value, and the scrape is bounded.
	src.fail, src.slowWait = false, true
	src.counts = map[string]int64{"support": 7, "sales": 1}
	c.timeout = 50 * time.Millisecond
	now = now.Add(6 * time.Second)
	t0 := time.Now()
	got = gather(t, reg)
	if d := time.Since(t0); d > time.Second {
		t.Errorf("a scrape took %v", d)
	}
	if got[`inboxd_conversations_unassigned{queue="support"}`] != 7 || got[`inboxd_conversations_oldest_wait_seconds{queue="support"}`] != 3600+18 {
		t.Errorf("after a timed-out wait: unassigned %v, wait %v; want 7 and the last wait, older by the clock",
			got[`inboxd_conversations_unassigned{queue="support"}`], got[`inboxd_conversations_oldest_wait_seconds{queue="support"}`])
	}
}

// TestPromObserverBoundsLabels: channels the config does not name are
// counted as "other"; counters of configured channels exist from the start.
func TestPromObserverBoundsLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	o := newPromObserver(reg, []inbox.ChannelInfo{{ID: "crm"}})
	o.Rejected("crm", inbox.EInvalid)
	o.Rejected("made-up-by-a-caller", inbox.EInvalid)
	o.Ingested("crm")
	o.Sent("crm", inbox.SendRetried)
	o.Group(3, 20*time.Millisecond)
	o.Polled("crm", time.Unix(1000, 0), -time.Second)
	got := gather(t, reg)
	for series, v := range map[string]float64{
		`inboxd_messages_rejected_total{channel="crm",reason="invalid"}`:   1,
		`inboxd_messages_rejected_total{channel="other",reason="invalid"}`: 1,
		`inboxd_messages_ingested_total{channel="crm"}`:                    1,
		`inboxd_outbox_sends_total{channel="crm",result="retried"}`:        1,
		`inboxd_outbox_sends_total{channel="crm",result="sent"}`:           0,
		`inboxd_ingest_group_size_sum`:                                     3,
		`inboxd_ingest_commit_duration_seconds_count`:                      1,
		`inboxd_poller_lag_seconds{channel="crm"}`:                         0, // never negative
		`inboxd_poller_last_success_timestamp_seconds{channel="crm"}`:      1000,
	} {
		if g, ok := got[series]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", series, g, ok, v)
		}
	}
}

// TestGrafanaDashboard: configs/grafana-dashboard.json is a dashboard
// Grafana imports (JSON, schemaVersion, a Prometheus datasource variable
// every panel uses) with a panel on each operator metric.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile("../../../configs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title         string
		UID           string
		SchemaVersion int
		Templating    struct {
			List []struct {
				Name, Type string
				Query      json.RawMessage
			}
		}
		Panels []struct {
			Title      string
			Type       string
			Datasource struct{ Type, UID string }
			GridPos    struct{ H, W, X, Y int }
			Targets    []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if d.Title == "" || d.UID == "" || d.SchemaVersion < 36 {
		t.Errorf("title %q uid %q schemaVersion %d", d.Title, d.UID, d.SchemaVersion)
	}
	var ds string
	for _, v := range d.Templating.List {
		if v.Type == "datasource" && string(v.Query) == `"prometheus"` {
			ds = "${" + v.Name + "}"
		}
	}
	if ds == "" {
		t.Fatalf("no Prometheus datasource variable: %+v", d.Templating.List)
	}
	var exprs []string
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != ds || len(p.Targets) == 0 || p.GridPos.W == 0 || p.GridPos.H == 0 {
			t.Errorf("panel %q: datasource %+v, %d targets, grid %+v", p.Title, p.Datasource, len(p.Targets), p.GridPos)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	all := strings.Join(exprs, "\n")
	var missing []string
	for _, m := range operatorMetrics {
		if !strings.Contains(all, m) {
			missing = append(missing, m)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("no panel shows %v", missing)
	}
}

// operatorMetrics are the metrics docs/DEPLOY.md documents for operators.
var operatorMetrics = []string{
	"inboxd_messages_ingested_total", "inboxd_messages_rejected_total",
	"inboxd_outbox_pending", "inboxd_outbox_oldest_pending_seconds", "inboxd_outbox_sends_total",
	"inboxd_poller_lag_seconds", "inboxd_poller_last_success_timestamp_seconds",
	"inboxd_ingest_group_size", "inboxd_ingest_commit_duration_seconds",
	"inboxd_feeds", "inboxd_conversations_unassigned", "inboxd_conversations_oldest_wait_seconds",
}

// TestDeployDocumentsMetrics: docs/DEPLOY.md's table names every operator
// metric.
func TestDeployDocumentsMetrics(t *testing.T) {
	b, err := os.ReadFile("../../../docs/DEPLOY.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range operatorMetrics {
		if !strings.Contains(string(b), "| `"+m) {
			t.Errorf("docs/DEPLOY.md has no table row for %s", m)
		}
	}
}
