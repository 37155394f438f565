package daemon

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inboxd/inboxd/api"
	"github.com/inboxd/inboxd/inbox/privacy"
)

// retentionEvery is how often the leader applies the retention policy.
const retentionEvery = time.Hour

// wirePrivacy builds the export and erasure of a person's data (the API's
// routes) and, when the config sets a retention, the leader's job that
// deletes inactive conversations older than it: at start, then every
// retentionEvery, each run bounded in time (privacy.DefaultRunBudget).
func wirePrivacy(w *wiring, reg prometheus.Registerer) api.PrivacyOptions {
	log := w.log.With("component", "retention")
	obs := newRetentionMetrics(reg)
	m := privacy.New(privacy.Options{Store: w.store, Clock: w.clock, Publisher: w.publisher, Logger: log,
		Policy: w.cfg.RetentionPolicy(), Observer: obs})
	if w.cfg.RetentionPolicy().Enabled() {
		w.addLeaderJob("retention", func(ctx context.Context) {
			t := time.NewTicker(retentionEvery)
			defer t.Stop()
			for {
				res, err := m.RunRetention(ctx)
				switch {
				case err != nil && ctx.Err() == nil:
					log.Warn("retention run failed", "err", err, "conversations", res.Deleted.Conversations)
				case res.Deleted.Conversations > 0:
					log.Info("retention run", "conversations", res.Deleted.Conversations, "messages", res.Deleted.Messages,
						"attachments", res.Deleted.Attachments, "contacts", res.Deleted.Contacts, "complete", res.Complete,
						"duration_ms", res.Duration.Milliseconds())
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		})
	}
	return api.PrivacyOptions{Manager: m}
}

// retentionMetrics are the retention's Prometheus series.
type retentionMetrics struct {
	deleted *prometheus.CounterVec
	lastRun prometheus.Gauge
}

func newRetentionMetrics(reg prometheus.Registerer) *retentionMetrics {
	m := &retentionMetrics{
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "inboxd_retention_deleted_total",
			Help: "Rows the retention policy deleted, by kind (conversations, messages, attachments, contacts)."}, []string{"kind"}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{Name: "inboxd_retention_last_run_timestamp_seconds",
			Help: "When the last retention run started (Unix time)."}),
	}
	reg.MustRegister(m.deleted, m.lastRun)
	for _, k := range []string{"conversations", "messages", "attachments", "contacts"} {
		m.deleted.WithLabelValues(k)
	}
	return m
}

// RetentionRun implements privacy.Observer.
func (m *retentionMetrics) RetentionRun(r privacy.RunResult) {
	m.deleted.WithLabelValues("conversations").Add(float64(r.Deleted.Conversations))
	m.deleted.WithLabelValues("messages").Add(float64(r.Deleted.Messages))
	m.deleted.WithLabelValues("attachments").Add(float64(r.Deleted.Attachments))
	m.deleted.WithLabelValues("contacts").Add(float64(r.Deleted.Contacts))
	m.lastRun.Set(float64(r.Started.Unix()))
}
