package inbox

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// WebhookStore is what the webhook dispatcher needs of the store.
type WebhookStore interface {
	// EnsureWebhookSubscribers adds a cursor for each id that has none, at
	// the newest event (a new subscriber is sent what happens from now).
	EnsureWebhookSubscribers(ctx context.Context, ids []string) error
	WebhookStates(ctx context.Context) ([]WebhookState, error)
	EventsSince(ctx context.Context, afterID int64, limit int) ([]Event, error)
	EventBounds(ctx context.Context) (oldest, newest int64, err error)
	// PreviousConversationEvent returns the conversation's newest event of
	// a ConversationEventKinds kind before beforeID (nil: none kept).
	PreviousConversationEvent(ctx context.Context, conversationID, beforeID int64) (*Event, error)
	// RegisteredContact returns the contact form row of a conversation as
	// JSON (nil: the conversation did not come from the form).
	RegisteredContact(ctx context.Context, conversationID int64) (json.RawMessage, error)
	// AdvanceWebhook moves id's cursor from from to to (false: the cursor
	// is no longer at from: a replay moved it), adding delivered and missed
	// and, when delivered > 0, recording a success at at.
	AdvanceWebhook(ctx context.Context, id string, from, to, delivered, missed int64, at time.Time) (bool, error)
	// WebhookFailed records a failed attempt while the cursor is at
	// cursor (false: it is not: a replay moved it).
	WebhookFailed(ctx context.Context, id string, cursor int64, msg string, attempts int, at, next time.Time) (bool, error)
	// ReplayWebhook sets id's cursor to from (ENotFound: no such subscriber).
	ReplayWebhook(ctx context.Context, id string, from int64) error
	// TxHorizon returns the oldest transaction still running (xmin) and
	// the next to start (xmax): every transaction below xmax that could
	// still commit an event id is at or above xmin. A store with one
	// writer at a time answers xmin >= xmax (nothing can commit behind).
	TxHorizon(ctx context.Context) (xmin, xmax int64, err error)
}

// WebhookSender posts one delivery to a subscriber. Its errors may carry
// a Retry-After (RetryAfter); every error is retried.
type WebhookSender interface {
	SendWebhook(ctx context.Context, sub *WebhookSubscriber, d *WebhookDelivery) error
}

// WebhookOptions configures the webhook dispatcher.
type WebhookOptions struct {
	Store       WebhookStore
	Sender      WebhookSender
	Subscribers []WebhookSubscriber
	Clock       Clock
	Logger      *slog.Logger
	// BaseDelay and MaxDelay bound the backoff between attempts (defaults
	// 1s, 5m); a receiver's Retry-After is honoured up to MaxRetryAfter.
	BaseDelay, MaxDelay time.Duration
	// Poll is the longest wait between looks at the events table when
	// nothing wakes the dispatcher (default 1s).
	Poll time.Duration
	// GapWait bounds how long an event id missing before committed ones
	// is waited for (PostgreSQL commits sequence ids out of order): it is
	// taken as rolled back once every transaction that was running when
	// the gap was seen has ended, or after GapWait (default 5s).
	GapWait time.Duration
}

// MaxRetryAfter bounds the wait a receiver's Retry-After can ask for.
const MaxRetryAfter = time.Hour

// webhookBatch is how many events one step reads.
const webhookBatch = 200

// WebhookDispatcher sends the events of the events table to the
// configured subscribers: each subscriber has a durable cursor (the last
// event id it was sent) and a goroutine that sends the events after it one
// at a time, in id order (so in order per conversation), retrying each
// until the receiver accepts it (at least once). A receiver that is down
// holds up only its own cursor; ingest never waits for it.
type WebhookDispatcher struct {
	o     WebhookOptions
	subs  map[string]*WebhookSubscriber
	mu    sync.Mutex
	wakes map[string]chan struct{}
}

// NewWebhookDispatcher returns a dispatcher with defaults filled in.
func NewWebhookDispatcher(o WebhookOptions) *WebhookDispatcher {
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = time.Second
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 5 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.GapWait <= 0 {
		o.GapWait = 5 * time.Second
	}
	d := &WebhookDispatcher{o: o, subs: map[string]*WebhookSubscriber{}, wakes: map[string]chan struct{}{}}
	for i := range o.Subscribers {
		s := &o.Subscribers[i]
		d.subs[s.ID] = s
		d.wakes[s.ID] = make(chan struct{}, 1)
	}
	return d
}

// Wake makes every subscriber look at the events table now; it never
// blocks (the event hub calls it after each commit).
func (d *WebhookDispatcher) Wake() {
	for _, c := range d.wakes {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// Run sends until ctx is done: one goroutine per subscriber.
func (d *WebhookDispatcher) Run(ctx context.Context) {
	if len(d.subs) == 0 {
		return
	}
	ids := make([]string, 0, len(d.subs))
	for id := range d.subs {
		ids = append(ids, id)
	}
	for ctx.Err() == nil {
		err := d.o.Store.EnsureWebhookSubscribers(ctx, ids)
		if err == nil {
			break
		}
		d.o.Logger.Warn("webhooks: cannot read the subscribers' cursors", "err", err)
		sleep(ctx, d.o.Poll)
	}
	var wg sync.WaitGroup
	for _, s := range d.subs {
		wg.Add(1)
		go func(s *WebhookSubscriber) {
			defer wg.Done()
			d.runSubscriber(ctx, s)
		}(s)
	}
	wg.Wait()
}

func (d *WebhookDispatcher) runSubscriber(ctx context.Context, s *WebhookSubscriber) {
	r := &subscriberRun{d: d, s: s, log: d.o.Logger.With("subscriber", s.ID), prev: map[int64]*Event{}}
	for ctx.Err() == nil {
		progressed, err := r.step(ctx)
		if err != nil && ctx.Err() == nil {
			r.log.Warn("webhooks: step failed", "err", err)
		}
		if progressed && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
		case <-d.wakes[s.ID]:
		case <-time.After(d.o.Poll):
		}
	}
}

// State returns every subscriber's state, with its configuration and its
// backlog (event ids after its cursor).
func (d *WebhookDispatcher) State(ctx context.Context) ([]WebhookState, error) {
	states, err := d.o.Store.WebhookStates(ctx)
	if err != nil {
		return nil, err
	}
	_, newest, err := d.o.Store.EventBounds(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]WebhookState{}
	for _, st := range states {
		byID[st.ID] = st
	}
	out := make([]WebhookState, 0, len(d.o.Subscribers))
	for _, s := range d.o.Subscribers {
		st, ok := byID[s.ID]
		if !ok {
			st = WebhookState{ID: s.ID, LastEventID: newest} // not started yet
		}
		st.URL, st.Events, st.Queues, st.IncludeNotes = s.DisplayURL, s.Events, s.Queues, s.IncludeNotes
		if st.Queues == nil {
			st.Queues = []string{}
		}
		st.Backlog = max(0, newest-st.LastEventID)
		out = append(out, st)
	}
	return out, nil
}

// Replay makes subscriber id be sent again every event after from (an
// owner's action, CanReplayWebhooks). It answers the subscriber's state.
func (d *WebhookDispatcher) Replay(ctx context.Context, actor *User, id string, from int64) (WebhookState, error) {
	if !CanReplayWebhooks(actor) {
		return WebhookState{}, Errorf(EForbidden, "only owners may replay webhook events")
	}
	if _, ok := d.subs[id]; !ok {
		return WebhookState{}, Errorf(ENotFound, "no webhook subscriber %q", id)
	}
	if err := d.o.Store.EnsureWebhookSubscribers(ctx, []string{id}); err != nil {
		return WebhookState{}, err
	}
	cur, err := d.find(ctx, id)
	if err != nil {
		return WebhookState{}, err
	}
	if err := CheckReplay(from, cur.LastEventID, cur.LastEventID+cur.Backlog); err != nil {
		return WebhookState{}, err
	}
	// Before the oldest kept event is where what is kept starts: the
	// expired ids were sent once and are not counted as missed again.
	if oldest, _, err := d.o.Store.EventBounds(ctx); err != nil {
		return WebhookState{}, err
	} else if oldest > 0 && from < oldest-1 {
		from = oldest - 1
	}
	if err := d.o.Store.ReplayWebhook(ctx, id, from); err != nil {
		return WebhookState{}, err
	}
	d.o.Logger.Info("webhooks: replay", "subscriber", id, "from_event_id", from, "user_id", actor.ID)
	d.Wake()
	return d.find(ctx, id)
}

func (d *WebhookDispatcher) find(ctx context.Context, id string) (WebhookState, error) {
	states, err := d.State(ctx)
	if err != nil {
		return WebhookState{}, err
	}
	for _, st := range states {
		if st.ID == id {
			return st, nil
		}
	}
	return WebhookState{}, Errorf(ENotFound, "no webhook subscriber %q", id)
}

// errReplayed stops a step whose cursor a replay moved.
var errReplayed = errors.New("the cursor was moved by a replay")

// subscriberRun is one subscriber's sending loop.
type subscriberRun struct {
	d   *WebhookDispatcher
	s   *WebhookSubscriber
	log *slog.Logger
	// prev is each conversation's last conversation event seen, so that a
	// conversation.updated is compared without a query.
	prev map[int64]*Event
	// gapAt is the first missing id waited for, since gapSince, while
	// transactions older than gapHorizon run.
	gapAt      int64
	gapSince   time.Time
	gapHorizon int64
}

// step sends what follows the cursor, up to a gap or webhookBatch events;
// progressed is true when the cursor moved.
func (r *subscriberRun) step(ctx context.Context) (bool, error) {
	progressed, err := r.sendBatch(ctx)
	if err != nil {
		// What was seen past the cursor is read again: forget it.
		clear(r.prev)
	}
	if errors.Is(err, errReplayed) {
		return true, nil
	}
	return progressed, err
}

func (r *subscriberRun) sendBatch(ctx context.Context) (progressed bool, err error) {
	st := r.d.o.Store
	cursor, err := r.cursor(ctx)
	if err != nil {
		return false, err
	}
	// A gap seen before is settled when every transaction that ran when
	// it was seen has ended: decided before the events are read again, so
	// that an id committed meanwhile is read, not skipped.
	settled := false
	if r.gapAt == cursor+1 {
		xmin, _, err := st.TxHorizon(ctx)
		if err != nil {
			return false, err
		}
		settled = xmin >= r.gapHorizon || time.Since(r.gapSince) >= r.d.o.GapWait
	}
	evs, err := st.EventsSince(ctx, cursor, webhookBatch)
	if err != nil || len(evs) == 0 {
		return false, err
	}
	if evs[0].ID != cursor+1 {
		return r.gap(ctx, cursor, evs[0].ID, settled)
	}
	r.gapAt = 0
	// The cursor is written at most every cursorEvery while deliveries
	// succeed (a crash sends those events again: at least once), at the
	// batch's end, and before a failed delivery's first retry.
	b := &cursorWriter{r: r, saved: cursor, done: cursor, at: time.Now()}
	for i := range evs {
		e := &evs[i]
		if e.ID != b.done+1 {
			break // a gap: the next step waits for it
		}
		ds, err := r.deliveries(ctx, e)
		if err != nil {
			return b.flush(ctx) == nil && b.saved != cursor, err
		}
		for j := range ds {
			if err := r.send(ctx, b, &ds[j]); err != nil {
				return b.saved != cursor, err
			}
		}
		b.done, b.delivered = e.ID, b.delivered+int64(len(ds))
		if time.Since(b.at) >= cursorEvery {
			if err := b.flush(ctx); err != nil {
				return true, err
			}
		}
	}
	if err := b.flush(ctx); err != nil {
		return true, err
	}
	return b.saved != cursor, nil
}

// cursorEvery is how often a subscriber's cursor is written while its
// receiver keeps accepting.
const cursorEvery = 250 * time.Millisecond

// cursorWriter is a step's cursor: saved is what the store holds, done
// the last event handled.
type cursorWriter struct {
	r           *subscriberRun
	saved, done int64
	delivered   int64
	at          time.Time
}

func (b *cursorWriter) flush(ctx context.Context) error {
	if b.done == b.saved {
		return nil
	}
	if err := b.r.advance(ctx, b.saved, b.done, b.delivered, 0); err != nil {
		return err
	}
	b.saved, b.delivered, b.at = b.done, 0, time.Now()
	return nil
}

// gap handles a first event after the cursor that is not the next id:
// ids the retention job deleted (the subscriber fell that far behind: the
// skip is counted as missed and reported), or ids not committed yet: taken
// as rolled back once settled (every transaction running when the gap was
// first seen has ended, or GapWait passed, before the events were read).
func (r *subscriberRun) gap(ctx context.Context, cursor, first int64, settled bool) (bool, error) {
	oldest, _, err := r.d.o.Store.EventBounds(ctx)
	if err != nil {
		return false, err
	}
	if first == oldest && cursor > 0 {
		missed := first - cursor - 1
		r.log.Warn("webhooks: events expired before they were sent (events.retention)",
			"after_event_id", cursor, "before_event_id", first, "missed", missed)
		now := r.d.o.Clock.Now()
		msg := fmt.Sprintf("events %d to %d expired (events.retention) before they were sent", cursor+1, first-1)
		if ok, err := r.d.o.Store.WebhookFailed(ctx, r.s.ID, cursor, msg, 0, now, now); err != nil || !ok {
			return false, cmp.Or(err, errReplayed)
		}
		return true, r.advance(ctx, cursor, first-1, 0, missed)
	}
	if r.gapAt != cursor+1 {
		// Seen now: the transactions running now (below xmax) may still
		// commit the missing ids.
		_, xmax, err := r.d.o.Store.TxHorizon(ctx)
		if err != nil {
			return false, err
		}
		r.gapAt, r.gapSince, r.gapHorizon = cursor+1, time.Now(), xmax
		return false, nil
	}
	if !settled {
		return false, nil
	}
	r.log.Debug("webhooks: skipping ids that never committed", "from", cursor+1, "to", first-1)
	r.gapAt = 0
	return true, r.advance(ctx, cursor, first-1, 0, 0)
}

func (r *subscriberRun) cursor(ctx context.Context) (int64, error) {
	states, err := r.d.o.Store.WebhookStates(ctx)
	if err != nil {
		return 0, err
	}
	for _, st := range states {
		if st.ID == r.s.ID {
			return st.LastEventID, nil
		}
	}
	return 0, Errorf(ENotFound, "no cursor for webhook subscriber %q", r.s.ID)
}

func (r *subscriberRun) advance(ctx context.Context, from, to, delivered, missed int64) error {
	ok, err := r.d.o.Store.AdvanceWebhook(ctx, r.s.ID, from, to, delivered, missed, r.d.o.Clock.Now())
	if err == nil && !ok {
		return errReplayed // start again from where the replay put it
	}
	return err
}

// deliveries returns what e raises for this subscriber, in order.
func (r *subscriberRun) deliveries(ctx context.Context, e *Event) ([]WebhookDelivery, error) {
	var prev *Event
	if e.Kind == EventConversationUpdated {
		p, ok := r.prev[e.ConversationID]
		if !ok {
			var err error
			if p, err = r.d.o.Store.PreviousConversationEvent(ctx, e.ConversationID, e.ID); err != nil {
				return nil, err
			}
		}
		prev = p
	}
	var out []WebhookDelivery
	for _, name := range WebhookEventsOf(prev, e) {
		if r.s.Wants(name, e) {
			out = append(out, NewWebhookDelivery(e, name, e.Payload))
		}
	}
	if e.Kind == EventConversationCreated && r.s.Wants(HookContactRegistered, e) {
		data, err := r.d.o.Store.RegisteredContact(ctx, e.ConversationID)
		if err != nil {
			return nil, err
		}
		if data != nil {
			out = append(out, NewWebhookDelivery(e, HookContactRegistered, data))
		}
	}
	if isConversationKind(e.Kind) {
		if len(r.prev) > 10000 {
			clear(r.prev)
		}
		r.prev[e.ConversationID] = e
	}
	return out, nil
}

func isConversationKind(k EventKind) bool {
	for _, c := range ConversationEventKinds {
		if c == k {
			return true
		}
	}
	return false
}

// send posts d until the receiver accepts it, with backoff between
// attempts (a receiver's Retry-After wins, up to MaxRetryAfter). It gives
// up only when ctx is done, or when a replay moved the cursor
// (errReplayed).
func (r *subscriberRun) send(ctx context.Context, b *cursorWriter, d *WebhookDelivery) error {
	for attempt := 1; ; attempt++ {
		err := r.d.o.Sender.SendWebhook(ctx, r.s, d)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := b.flush(ctx); err != nil {
			return err
		}
		wait := Backoff(attempt, r.d.o.BaseDelay, r.d.o.MaxDelay)
		if _, ra := sendErrorClass(err); ra > 0 {
			wait = min(ra, MaxRetryAfter)
		}
		msg := truncate(strings.ToValidUTF8(err.Error(), ""), 300)
		now := r.d.o.Clock.Now()
		ok, serr := r.d.o.Store.WebhookFailed(ctx, r.s.ID, b.saved, msg, attempt, now, now.Add(wait))
		if serr != nil {
			return serr
		}
		if !ok {
			return errReplayed
		}
		if attempt == 1 || attempt%10 == 0 {
			r.log.Warn("webhooks: delivery failed, retrying", "event_id", d.ID, "attempt", attempt,
				"in", wait.String(), "err", msg)
		}
		if err := r.backoff(ctx, b.saved, wait); err != nil {
			return err
		}
	}
}

// backoff waits d before the next attempt, looking at the cursor every
// Poll: a replay made meanwhile (errReplayed) ends the wait, even a long
// Retry-After's.
func (r *subscriberRun) backoff(ctx context.Context, cursor int64, d time.Duration) error {
	until := time.Now().Add(d)
	for {
		left := time.Until(until)
		if left <= 0 {
			return nil
		}
		if !sleep(ctx, min(left, r.d.o.Poll)) {
			return ctx.Err()
		}
		if time.Until(until) <= 0 {
			return nil
		}
		cur, err := r.cursor(ctx)
		if err == nil && cur != cursor {
			return errReplayed
		}
	}
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
