package inbox

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// DispatcherOptions configures the outbox dispatcher.
type DispatcherOptions struct {
	Store   Store
	Service *Service
	Senders map[string]Sender
	Clock   Clock
	Logger  *slog.Logger
	// MaxAttempts before a reply is marked failed (default 8).
	MaxAttempts int
	// BaseDelay and MaxDelay bound the exponential backoff (defaults 2s, 10m).
	BaseDelay, MaxDelay time.Duration
	// Lease is how long a claimed row stays invisible to other dispatchers
	// (default 15s). The dispatcher renews it while the send lasts, so a
	// reply whose dispatcher died mid-send (SIGKILL, a lost replica) is
	// taken over within a lease, and a slow provider is never sent to
	// twice at once.
	Lease time.Duration
	// Poll is the longest sleep between scans (default 1s).
	Poll time.Duration
	// Workers send concurrently (default 4); rows of one conversation are
	// claimed oldest first, one at a time, so replies keep their order.
	Workers int
	// Observer is told each send's outcome (default: nothing).
	Observer OutboxObserver
}

// Dispatcher drains the outbox: it claims due rows, calls the channel's
// sender outside any transaction, and records the outcome.
type Dispatcher struct {
	o    DispatcherOptions
	wake chan struct{}
}

// NewDispatcher returns a dispatcher with defaults filled in.
func NewDispatcher(o DispatcherOptions) *Dispatcher {
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = 2 * time.Second
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 10 * time.Minute
	}
	if o.Lease <= 0 {
		o.Lease = 15 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Observer == nil {
		o.Observer = NopObserver{}
	}
	return &Dispatcher{o: o, wake: make(chan struct{}, 1)}
}

// Wake makes the dispatcher scan now; it never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run drains the outbox until ctx is done.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-t.C:
		}
		n, err := d.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.o.Logger.Warn("outbox scan failed", "err", err)
		}
		wait := d.o.Poll
		if n > 0 {
			wait = 0 // more may be due right away
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(wait)
	}
}

// RunOnce claims and sends what is due now; it returns how many rows it
// handled.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	items, err := d.o.Store.ClaimOutbox(ctx, d.o.Clock.Now(), d.o.Lease, d.o.Workers*4)
	if err != nil || len(items) == 0 {
		return 0, err
	}
	held := newLeases(items)
	stop := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		d.renew(ctx, held, stop)
	}()
	sem := make(chan struct{}, d.o.Workers)
	var wg sync.WaitGroup
	for _, it := range items {
		sem <- struct{}{}
		wg.Add(1)
		go func(it OutboxItem) {
			defer func() { <-sem; wg.Done() }()
			d.deliver(ctx, it, held)
		}(it)
	}
	wg.Wait()
	close(stop)
	<-renewed
	return len(items), nil
}

// leases are the claimed rows whose outcome is not recorded yet.
type leases struct {
	mu  sync.Mutex
	ids map[int64]bool
}

func newLeases(items []OutboxItem) *leases {
	l := &leases{ids: make(map[int64]bool, len(items))}
	for _, it := range items {
		l.ids[it.ID] = true
	}
	return l
}

func (l *leases) done(id int64) {
	l.mu.Lock()
	delete(l.ids, id)
	l.mu.Unlock()
}

func (l *leases) held() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]int64, 0, len(l.ids))
	for id := range l.ids {
		out = append(out, id)
	}
	return out
}

// renew extends the leases still held every third of a lease until stop.
func (d *Dispatcher) renew(ctx context.Context, l *leases, stop <-chan struct{}) {
	t := time.NewTicker(d.o.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			if ids := l.held(); len(ids) > 0 {
				if err := d.o.Store.ExtendOutboxLease(ctx, ids, d.o.Clock.Now().Add(d.o.Lease)); err != nil && ctx.Err() == nil {
					d.o.Logger.Warn("outbox: lease renewal failed", "rows", len(ids), "err", err)
				}
			}
		}
	}
}

func (d *Dispatcher) deliver(ctx context.Context, it OutboxItem, held *leases) {
	log := d.o.Logger.With("outbox_id", it.ID, "message_id", it.MessageID, "channel", it.ChannelID, "attempt", it.Attempts)
	// The renewal leaves a finished row alone (unlocked or gone), so the
	// order of the two does not matter.
	defer held.done(it.ID)
	sender, ok := d.o.Senders[it.ChannelID]
	if !ok {
		d.finish(ctx, log, it, SendResult{}, Permanent(Errorf(EUnavailable, "channel %q cannot send replies", it.ChannelID)))
		return
	}
	out, err := d.o.Store.LoadOutbound(ctx, it)
	if err != nil {
		log.Warn("outbox load failed", "err", err)
		return // the lease expires and the row is claimed again
	}
	out.Attempt = it.Attempts
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	res, err := sender.Send(sctx, out)
	cancel()
	d.finish(ctx, log, it, res, err)
}

// finish records a send's outcome. It uses a context that outlives
// shutdown briefly, so that a reply the provider accepted is marked sent.
func (d *Dispatcher) finish(ctx context.Context, log *slog.Logger, it OutboxItem, res SendResult, sendErr error) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	svc := d.o.Service
	if sendErr == nil {
		if err := svc.markOutbox(fctx, it, func(tx OutboxTx) (*Message, error) {
			return tx.MarkSent(fctx, it.ID, it.MessageID, res.ProviderID)
		}); err != nil {
			log.Error("outbox: reply sent but not recorded; it may be sent again", "err", err)
		}
		log.Info("reply sent", "provider_id", res.ProviderID)
		d.o.Observer.Sent(it.ChannelID, SendSent)
		return
	}
	permanent, retryAfter := sendErrorClass(sendErr)
	if permanent || it.Attempts >= d.o.MaxAttempts {
		log.Warn("reply failed", "err", sendErr, "permanent", permanent)
		d.o.Observer.Sent(it.ChannelID, SendFailed)
		if err := svc.markOutbox(fctx, it, func(tx OutboxTx) (*Message, error) {
			return tx.MarkFailed(fctx, it.ID, it.MessageID, truncate(sendErr.Error(), 1000))
		}); err != nil {
			log.Error("outbox: could not record failure", "err", err)
		}
		return
	}
	delay := Backoff(it.Attempts, d.o.BaseDelay, d.o.MaxDelay)
	if retryAfter > delay {
		delay = retryAfter
	}
	due := d.o.Clock.Now().Add(delay)
	log.Info("reply will be retried", "err", sendErr, "retry_in", delay.String())
	d.o.Observer.Sent(it.ChannelID, SendRetried)
	if err := svc.store.InTx(fctx, func(tx Tx) error {
		return tx.Reschedule(fctx, it.ID, due, truncate(sendErr.Error(), 1000))
	}); err != nil {
		log.Error("outbox: could not reschedule", "err", err)
	}
}

// markOutbox finishes a row and publishes the message's new state.
func (s *Service) markOutbox(ctx context.Context, it OutboxItem, fn func(tx OutboxTx) (*Message, error)) error {
	return s.inTx(ctx, func(tx Tx, evs *eventSink) error {
		m, err := fn(tx)
		if err != nil || m == nil {
			return err
		}
		conv, err := tx.Conversation(ctx, it.ConversationID)
		if err != nil {
			return err
		}
		evs.message(EventMessageUpdated, conv, m, s.clock.Now())
		return nil
	})
}

// Backoff is the wait before attempt n+1: exponential from base, capped at
// max, with full jitter in its upper half so that replicas spread out.
func Backoff(attempt int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}
