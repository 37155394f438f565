package daemon

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
)

// The operator's metrics (docs/DEPLOY.md, "Metrics and alerts"). The
// domain and the adapters report through small observer interfaces
// (inbox.IngestObserver, inbox.OutboxObserver, adapters.PollObserver);
// promObserver turns their reports into Prometheus series, and
// backlogCollector reads the database's gauges at scrape time.

// otherChannel labels reports about a channel the config does not name,
// so that no caller can grow the label set.
const otherChannel = "other"

// promObserver implements the observers with Prometheus series.
type promObserver struct {
	channels  map[string]bool
	ingested  *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	sends     *prometheus.CounterVec
	groupSize prometheus.Histogram
	commit    prometheus.Histogram
	lag       *prometheus.GaugeVec
	success   *prometheus.GaugeVec
}

func newPromObserver(reg prometheus.Registerer, channels []inbox.ChannelInfo) *promObserver {
	o := &promObserver{
		channels: map[string]bool{},
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inboxd_messages_ingested_total", Help: "Customer messages stored, by channel (duplicates not counted).",
		}, []string{"channel"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inboxd_messages_rejected_total", Help: "Customer messages and webhook requests refused, by channel and reason (the error code).",
		}, []string{"channel", "reason"}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inboxd_outbox_sends_total", Help: "Attempts to send a reply, by channel and result (sent, retried, failed).",
		}, []string{"channel", "result"}),
		groupSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "inboxd_ingest_group_size", Help: "Messages per ingest transaction (a group commit's group, a poller's batch).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 100},
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "inboxd_ingest_commit_duration_seconds", Help: "Time to run and commit one ingest transaction.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "inboxd_poller_lag_seconds", Help: "How far behind upstream a poller was at its last committed fetch: the age of the oldest message fetched, 0 when nothing was new.",
		}, []string{"channel"}),
		success: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "inboxd_poller_last_success_timestamp_seconds", Help: "When a poller last fetched upstream and committed all it got (Unix time).",
		}, []string{"channel"}),
	}
	for _, c := range channels {
		o.channels[c.ID] = true
		// Counters start at 0, so that rate() sees the first event.
		o.ingested.WithLabelValues(c.ID)
		for _, r := range []inbox.SendOutcome{inbox.SendSent, inbox.SendRetried, inbox.SendFailed} {
			o.sends.WithLabelValues(c.ID, string(r))
		}
	}
	reg.MustRegister(o.ingested, o.rejected, o.sends, o.groupSize, o.commit, o.lag, o.success)
	return o
}

func (o *promObserver) channel(id string) string {
	if o.channels[id] {
		return id
	}
	return otherChannel
}

// Group implements inbox.IngestObserver.
func (o *promObserver) Group(size int, d time.Duration) {
	o.groupSize.Observe(float64(size))
	o.commit.Observe(d.Seconds())
}

// Ingested implements inbox.IngestObserver.
func (o *promObserver) Ingested(channel string) { o.ingested.WithLabelValues(o.channel(channel)).Inc() }

// Rejected implements inbox.IngestObserver. Reasons are error codes, a
// bounded set.
func (o *promObserver) Rejected(channel, reason string) {
	o.rejected.WithLabelValues(o.channel(channel), reason).Inc()
}

// Sent implements inbox.OutboxObserver.
func (o *promObserver) Sent(channel string, r inbox.SendOutcome) {
	o.sends.WithLabelValues(o.channel(channel), string(r)).Inc()
}

// Polled implements adapters.PollObserver.
func (o *promObserver) Polled(channel string, at time.Time, lag time.Duration) {
	ch := o.channel(channel)
	o.lag.WithLabelValues(ch).Set(max(lag, 0).Seconds())
	o.success.WithLabelValues(ch).Set(float64(at.UnixNano()) / 1e9)
}

// backlogSource is what backlogCollector reads (store.Store).
type backlogSource interface {
	OutboxBacklogs(ctx context.Context) ([]store.OutboxBacklog, error)
	UnassignedCounts(ctx context.Context) (map[string]int64, error)
	OldestWaits(ctx context.Context) (map[string]time.Time, error)
}

// backlogCollector reports the gauges that live in the database: replies
// waiting per channel and the oldest one's age, unassigned conversations
// per queue and the longest wait. A scrape reads them with one query each,
// each bounded by a timeout, and keeps them for a short while, so that a
// scrape storm costs the database nothing. When a query fails or times out
// (the longest wait grows with the unassigned conversations: about 1.3 s
// for 25,000), the last values it read are reported, the others are fresh
// (an outage shows in /readyz).
type backlogCollector struct {
	src      backlogSource
	clock    inbox.Clock
	log      *slog.Logger
	channels []string // every configured channel: its gauges read 0, not absent
	queues   []string
	ttl      time.Duration
	timeout  time.Duration

	mu     sync.Mutex
	read   time.Time // when the cache was filled (zero: never)
	outbox []store.OutboxBacklog
	counts map[string]int64
	waits  map[string]time.Time
}

var (
	outboxPendingDesc = prometheus.NewDesc("inboxd_outbox_pending",
		"Replies waiting in the outbox (to be sent or retried), by channel.", []string{"channel"}, nil)
	outboxOldestDesc = prometheus.NewDesc("inboxd_outbox_oldest_pending_seconds",
		"Age of the oldest reply waiting in the outbox (0: none).", nil, nil)
	unassignedDesc = prometheus.NewDesc("inboxd_conversations_unassigned",
		"Unassigned conversations, by queue.", []string{"queue"}, nil)
	oldestWaitDesc = prometheus.NewDesc("inboxd_conversations_oldest_wait_seconds",
		"How long the oldest unanswered customer message of an unassigned conversation has waited, by queue (0: none).", []string{"queue"}, nil)
)

func newBacklogCollector(src backlogSource, clock inbox.Clock, log *slog.Logger, channels []inbox.ChannelInfo, queues []string) *backlogCollector {
	c := &backlogCollector{src: src, clock: clock, log: log, queues: queues, ttl: 5 * time.Second, timeout: 2 * time.Second}
	for _, ch := range channels {
		c.channels = append(c.channels, ch.ID)
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxPendingDesc
	ch <- outboxOldestDesc
	ch <- unassignedDesc
	ch <- oldestWaitDesc
}

// Collect implements prometheus.Collector.
func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.clock.Now()
	outbox, counts, waits := c.snapshot(now)
	pending := map[string]int64{}
	var oldest time.Time
	for _, b := range outbox {
		pending[b.ChannelID] += b.Pending
		if !b.Oldest.IsZero() && (oldest.IsZero() || b.Oldest.Before(oldest)) {
			oldest = b.Oldest
		}
	}
	for _, id := range withExtra(c.channels, pending) {
		ch <- prometheus.MustNewConstMetric(outboxPendingDesc, prometheus.GaugeValue, float64(pending[id]), id)
	}
	ch <- prometheus.MustNewConstMetric(outboxOldestDesc, prometheus.GaugeValue, age(now, oldest))
	for _, q := range withExtra(c.queues, counts) {
		ch <- prometheus.MustNewConstMetric(unassignedDesc, prometheus.GaugeValue, float64(counts[q]), q)
	}
	for _, q := range withExtra(c.queues, waits) {
		ch <- prometheus.MustNewConstMetric(oldestWaitDesc, prometheus.GaugeValue, age(now, waits[q]), q)
	}
}

// snapshot returns the cached aggregates, reading them again when they are
// older than the ttl. Concurrent scrapes wait for one read.
func (c *backlogCollector) snapshot(now time.Time) ([]store.OutboxBacklog, map[string]int64, map[string]time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if age := now.Sub(c.read); !c.read.IsZero() && age >= 0 && age < c.ttl {
		return c.outbox, c.counts, c.waits
	}
	// Failures are tried again after the ttl too: a database that is down
	// costs one timeout per query and ttl, whatever the scrape rate.
	c.read = now
	if v, err := bounded(c.timeout, c.src.OutboxBacklogs); err == nil {
		c.outbox = v
	} else {
		c.log.Warn("metrics: reading the outbox backlog failed; its last values are reported", "err", err)
	}
	if v, err := bounded(c.timeout, c.src.UnassignedCounts); err == nil {
		c.counts = v
	} else {
		c.log.Warn("metrics: counting unassigned conversations failed; the last counts are reported", "err", err)
	}
	if v, err := bounded(c.timeout, c.src.OldestWaits); err == nil {
		c.waits = v
	} else {
		c.log.Warn("metrics: reading the oldest waits failed; the last values are reported", "err", err)
	}
	return c.outbox, c.counts, c.waits
}

// bounded runs read with a timeout of its own.
func bounded[T any](timeout time.Duration, read func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return read(ctx)
}

// withExtra is names plus the keys of m it lacks (a channel or queue the
// database knows and the config no longer names).
func withExtra[V any](names []string, m map[string]V) []string {
	out := append([]string(nil), names...)
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	for k := range m {
		if !known[k] {
			out = append(out, k)
		}
	}
	return out
}

// age is the seconds from t to now, 0 for a zero t (nothing waits).
func age(now, t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return max(now.Sub(t), 0).Seconds()
}
