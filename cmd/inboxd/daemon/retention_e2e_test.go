package daemon_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// TestEndToEndRetentionRun: a daemon whose config sets a retention runs
// it as the leader at start: the old inactive conversations of a queue
// with a retention go, a queue kept for ever keeps its own, open ones
// stay; the run is in the audit log and in the metrics.
func TestEndToEndRetentionRun(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			yaml := fmt.Sprintf(`
listen: 127.0.0.1:0
database: {url: %q}
bootstrap_owner: {email: owner@example.com, password: owner-password}
retention: {conversations: 365d}
queues:
  - {id: support, name: Support}
  - {id: sales, name: Sales, retention: 0}
channels:
  - {id: crm, kind: webhook, name: CRM, queue: support, secret: %q}
  - {id: shop, kind: webhook, name: Shop, queue: sales, secret: %q}
`, storetest.URL(t, d), secret, secret)
			cfg, err := daemon.Parse([]byte(yaml), func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			// The database already holds two-year-old conversations when
			// the daemon starts.
			ctx := context.Background()
			st, err := daemon.OpenStore(ctx, cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			old := time.Now().UTC().Add(-2 * 365 * 24 * time.Hour)
			infos := cfg.ChannelInfos()
			for _, ch := range infos {
				if err := st.Seed(ctx, inboxSeed(ch, old)); err != nil {
					t.Fatal(err)
				}
			}
			st.Close()

			e := startYAML(t, yaml, daemon.Options{})
			count := func(q string) int64 {
				var n int64
				e.d.Store.DB().Raw(q).Scan(&n)
				return n
			}
			deadline := time.Now().Add(15 * time.Second)
			for count(`SELECT COUNT(*) FROM conversations WHERE queue = 'support' AND status = 'inactive'`) != 0 {
				if time.Now().After(deadline) {
					t.Fatal("the retention did not run")
				}
				time.Sleep(50 * time.Millisecond)
			}
			if n := count(`SELECT COUNT(*) FROM conversations WHERE queue = 'support'`); n != 20 {
				t.Fatalf("support: %d open conversations left, want 20", n)
			}
			if n := count(`SELECT COUNT(*) FROM conversations WHERE queue = 'sales'`); n != 40 {
				t.Fatalf("sales (kept for ever): %d left, want 40", n)
			}
			for time.Now().Before(deadline) && count(`SELECT COUNT(*) FROM audit_log WHERE action = 'retention.run'`) == 0 {
				time.Sleep(50 * time.Millisecond)
			}
			var data string
			e.d.Store.DB().Raw(`SELECT data FROM audit_log WHERE action = 'retention.run'`).Scan(&data)
			if !strings.Contains(data, `"conversations":"20"`) {
				t.Fatalf("audit: %q", data)
			}
			resp, err := http.Get(e.base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(body), `inboxd_retention_deleted_total{kind="conversations"} 20`) ||
				!strings.Contains(string(body), "inboxd_retention_last_run_timestamp_seconds ") {
				t.Fatalf("metrics lack the run:\n%s", grepLines(string(body), "retention"))
			}
		})
	}
}

// inboxSeed is 40 conversations of a channel from at, half inactive.
func inboxSeed(ch inbox.ChannelInfo, at time.Time) store.SeedOptions {
	return store.SeedOptions{Conversations: 40, Channels: []inbox.ChannelInfo{ch}, Start: at, Events: true}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
