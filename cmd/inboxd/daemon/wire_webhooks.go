package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inboxd/inboxd/adapters/webhook"
	"github.com/inboxd/inboxd/api"
	"github.com/inboxd/inboxd/inbox"
)

// wireWebhooks starts the outgoing event webhooks (integrations.webhooks):
// one replica (the leader) sends every subscriber the events after its
// cursor; the hub wakes it after each commit. Every replica serves the
// state and the replay (the cursor lives in the database), and exports
// inboxd_webhook_backlog{subscriber}.
func wireWebhooks(ctx context.Context, w *wiring, reg prometheus.Registerer) (api.WebhookOptions, error) {
	subs := w.cfg.Integrations.subscribers()
	if len(subs) == 0 {
		return api.WebhookOptions{}, nil
	}
	// A new subscriber's cursor is set before anything is served: it is
	// sent every event from this start on, whenever the leader runs.
	ids := make([]string, len(subs))
	for i, s := range subs {
		ids[i] = s.ID
	}
	if err := w.store.EnsureWebhookSubscribers(ctx, ids); err != nil {
		return api.WebhookOptions{}, fmt.Errorf("integrations.webhooks: %w", err)
	}
	dc := w.cfg.Integrations.WebhookDelivery
	d := inbox.NewWebhookDispatcher(inbox.WebhookOptions{
		Store: w.store, Sender: webhook.EventSender{Client: &http.Client{Timeout: dc.Timeout}},
		Subscribers: subs, Clock: w.clock, Logger: w.log.With("component", "webhooks"),
		BaseDelay: dc.BaseDelay, MaxDelay: dc.MaxDelay,
	})
	w.hub.Attach(wakeSink{d.Wake})
	w.addLeaderJob("webhooks", d.Run)
	reg.MustRegister(&webhookCollector{d: d, log: w.log.With("component", "metrics")})
	return api.WebhookOptions{Admin: d}, nil
}

// wakeSink wakes the dispatcher on every published batch; it never
// blocks and holds nothing.
type wakeSink struct{ wake func() }

func (s wakeSink) Deliver([]inbox.Event) { s.wake() }
func (s wakeSink) Subscribers() int      { return 0 }

var webhookBacklogDesc = prometheus.NewDesc("inboxd_webhook_backlog",
	"Event ids after the subscriber's cursor: events not yet sent (or skipped as not subscribed).",
	[]string{"subscriber"}, nil)

// webhookCollector reads the subscribers' backlogs at scrape time, at most
// once per 5 s, each read bounded by 2 s.
type webhookCollector struct {
	d   *inbox.WebhookDispatcher
	log *slog.Logger

	mu     sync.Mutex
	read   time.Time
	states []inbox.WebhookState
}

func (c *webhookCollector) Describe(ch chan<- *prometheus.Desc) { ch <- webhookBacklogDesc }

func (c *webhookCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if time.Since(c.read) >= 5*time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := c.d.State(ctx)
		cancel()
		if err != nil {
			c.log.Warn("metrics: reading the webhook backlogs failed", "err", err)
		} else {
			c.states = st
		}
		c.read = time.Now()
	}
	states := c.states
	c.mu.Unlock()
	for _, st := range states {
		ch <- prometheus.MustNewConstMetric(webhookBacklogDesc, prometheus.GaugeValue, float64(st.Backlog), st.ID)
	}
}
