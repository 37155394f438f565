package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
)

// TestWebhookCursors: a new subscriber starts at the newest event and a
// second Ensure keeps its cursor; Advance and Failed are compare-and-set
// on the cursor (a replay made meanwhile wins); Replay moves the cursor
// and answers not_found for an unknown subscriber.
func TestWebhookCursors(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.ingest("crm", "m1", "c1", "hello")
		_, newest, err := f.st.EventBounds(ctx)
		if err != nil || newest == 0 {
			t.Fatalf("bounds: %d %v", newest, err)
		}
		if err := f.st.EnsureWebhookSubscribers(ctx, []string{"crm"}); err != nil {
			t.Fatal(err)
		}
		state := func() inbox.WebhookState {
			t.Helper()
			sts, err := f.st.WebhookStates(ctx)
			if err != nil || len(sts) != 1 {
				t.Fatalf("states: %+v %v", sts, err)
			}
			return sts[0]
		}
		if st := state(); st.ID != "crm" || st.LastEventID != newest || st.LastSuccessAt != nil {
			t.Fatalf("new subscriber: %+v", st)
		}
		f.ingest("crm", "m2", "c1", "again")
		if err := f.st.EnsureWebhookSubscribers(ctx, []string{"crm"}); err != nil {
			t.Fatal(err)
		}
		if st := state(); st.LastEventID != newest {
			t.Fatalf("ensure moved the cursor: %+v", st)
		}
		at := f.now
		if ok, err := f.st.AdvanceWebhook(ctx, "crm", newest, newest+1, 1, 0, at); !ok || err != nil {
			t.Fatalf("advance: %v %v", ok, err)
		}
		if ok, err := f.st.AdvanceWebhook(ctx, "crm", newest, newest+2, 1, 0, at); ok || err != nil {
			t.Fatalf("advance from a stale cursor: %v %v", ok, err)
		}
		if ok, err := f.st.WebhookFailed(ctx, "crm", newest+1, "receiver answered 500", 3, at, at.Add(time.Minute)); !ok || err != nil {
			t.Fatalf("failed: %v %v", ok, err)
		}
		st := state()
		if st.LastEventID != newest+1 || st.Delivered != 1 || st.Attempts != 3 || st.LastError != "receiver answered 500" ||
			st.LastSuccessAt == nil || !st.LastSuccessAt.Equal(at) || st.NextAttemptAt == nil || !st.NextAttemptAt.Equal(at.Add(time.Minute)) {
			t.Fatalf("after a success and a failure: %+v", st)
		}
		if err := f.st.ReplayWebhook(ctx, "crm", 0); err != nil {
			t.Fatal(err)
		}
		if ok, _ := f.st.WebhookFailed(ctx, "crm", newest+1, "x", 4, at, at); ok {
			t.Fatal("a failure recorded over a replayed cursor")
		}
		if st := state(); st.LastEventID != 0 || st.Attempts != 0 || st.NextAttemptAt != nil {
			t.Fatalf("after replay: %+v", st)
		}
		if err := f.st.ReplayWebhook(ctx, "nope", 0); inbox.ErrorCode(err) != inbox.ENotFound {
			t.Fatalf("replay of an unknown subscriber: %v", err)
		}
	})
}

// fakeReceiver records what the dispatcher sends; it fails while failing
// is positive.
type fakeReceiver struct {
	mu      sync.Mutex
	got     []inbox.WebhookDelivery
	failing int
	tries   int
}

func (r *fakeReceiver) SendWebhook(_ context.Context, _ *inbox.WebhookSubscriber, d *inbox.WebhookDelivery) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tries++
	if r.failing > 0 {
		r.failing--
		return errors.New("receiver answered 500")
	}
	r.got = append(r.got, *d)
	return nil
}

func (r *fakeReceiver) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, d := range r.got {
		out = append(out, string(d.Event))
	}
	return out
}

func waitWebhook(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWebhookDispatcher: a scripted conversation reaches the subscriber
// as the contract's events, in order, through failures; notes and other
// queues are filtered; events the retention job deleted before they were
// sent are counted as missed and reported, not silently skipped.
func TestWebhookDispatcher(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rcv := &fakeReceiver{failing: 3}
		sub := inbox.WebhookSubscriber{ID: "crm", Events: inbox.WebhookEvents, Queues: []string{"support"}}
		d := inbox.NewWebhookDispatcher(inbox.WebhookOptions{Store: f.st, Sender: rcv, Subscribers: []inbox.WebhookSubscriber{sub},
			Clock: inbox.SystemClock{}, BaseDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond,
			Poll: 10 * time.Millisecond, GapWait: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
		done := make(chan struct{})
		go func() { d.Run(ctx); close(done) }()
		waitWebhook(t, "the cursor", func() bool { sts, _ := f.st.WebhookStates(ctx); return len(sts) == 1 })

		r := f.ingest("crm", "m1", "c1", "hello")
		f.ingest("sales", "s1", "c9", "another queue")
		f.tick()
		if _, err := f.svc.Reply(ctx, f.anna, r.ConversationID, "Anna here"); err != nil {
			t.Fatal(err)
		}
		f.tick()
		if _, err := f.svc.Act(ctx, f.bob, r.ConversationID, inbox.ActionJoin); err != nil {
			t.Fatal(err)
		}
		f.tick()
		if _, err := f.svc.Act(ctx, f.anna, r.ConversationID, inbox.ActionClose); err != nil {
			t.Fatal(err)
		}
		want := []string{"conversation.created", "message.created", // the customer
			"message.created", "conversation.status_changed", "conversation.assigned", // Anna's reply takes it
			"conversation.assigned",       // Bob joins
			"conversation.status_changed", // closed
		}
		// The reply writes its message before the conversation's update,
		// or after: read the order from the events table.
		evs, err := f.st.EventsSince(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, e := range evs {
			if e.Queue == "support" {
				kinds = append(kinds, string(e.Kind))
			}
		}
		if kinds[2] == "conversation.updated" {
			want[2], want[3], want[4] = "conversation.status_changed", "conversation.assigned", "message.created"
		}
		waitWebhook(t, "every event", func() bool { return len(rcv.names()) >= len(want) })
		if got := rcv.names(); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("sent %v\nwant %v (events %v)", got, want, kinds)
		}
		rcv.mu.Lock()
		tries := rcv.tries
		rcv.mu.Unlock()
		if tries != len(want)+3 {
			t.Fatalf("tries: %d, want %d (3 failures retried)", tries, len(want)+3)
		}
		waitWebhook(t, "the cursor's write", func() bool { sts, _ := d.State(ctx); return sts[0].Backlog == 0 })
		sts, _ := d.State(ctx)
		if sts[0].Delivered != int64(len(want)) || sts[0].Backlog != 0 || sts[0].LastError != "receiver answered 500" {
			t.Fatalf("state: %+v", sts[0])
		}

		// Fall behind the retention: stop, write, prune, write again.
		cancel()
		<-done
		f.ingest("crm", "m2", "c2", "lost to retention")
		if _, err := f.st.PruneEvents(context.Background(), f.now.Add(time.Hour), 1000); err != nil {
			t.Fatal(err)
		}
		f.ingest("crm", "m3", "c3", "kept")
		ctx2, cancel2 := context.WithCancel(context.Background())
		defer cancel2()
		go d.Run(ctx2)
		waitWebhook(t, "the kept event", func() bool { return len(rcv.names()) == len(want)+2 })
		sts, _ = d.State(ctx2)
		if sts[0].Missed != 2 || !strings.Contains(sts[0].LastError, "expired (events.retention)") {
			t.Fatalf("after expiry: %+v", sts[0])
		}
	})
}

// retryAfterReceiver refuses the first delivery with a Retry-After and
// records when each attempt came.
type retryAfterReceiver struct {
	fakeReceiver
	wait  time.Duration
	times []time.Time
}

func (r *retryAfterReceiver) SendWebhook(ctx context.Context, s *inbox.WebhookSubscriber, d *inbox.WebhookDelivery) error {
	r.mu.Lock()
	r.times = append(r.times, time.Now())
	first := len(r.times) == 1
	r.mu.Unlock()
	if first {
		return inbox.RetryAfter(errors.New("receiver answered 429"), r.wait)
	}
	return r.fakeReceiver.SendWebhook(ctx, s, d)
}

// TestWebhookDispatcherGapsAndRetryAfter: an event id missing before a
// committed one (PostgreSQL commits sequence ids out of order) holds the
// later event back while the transaction holding it runs, so the two are
// sent in id order; an id whose transaction rolled back (or, on SQLite,
// any missing id: one writer at a time) is skipped at once, not after
// GapWait, and not counted as missed. A receiver's Retry-After is waited
// for, not the shorter backoff.
func TestWebhookDispatcherGapsAndRetryAfter(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rcv := &retryAfterReceiver{wait: 400 * time.Millisecond}
		sub := inbox.WebhookSubscriber{ID: "crm", Events: []inbox.WebhookEvent{inbox.HookMessageCreated}}
		d := inbox.NewWebhookDispatcher(inbox.WebhookOptions{Store: f.st, Sender: rcv, Subscribers: []inbox.WebhookSubscriber{sub},
			BaseDelay: 5 * time.Millisecond, MaxDelay: 10 * time.Millisecond, Poll: 10 * time.Millisecond,
			GapWait: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
		go d.Run(ctx)
		waitWebhook(t, "the cursor", func() bool { sts, _ := f.st.WebhookStates(ctx); return len(sts) == 1 })
		_, newest, _ := f.st.EventBounds(ctx)
		const insert = `INSERT INTO events (id, kind, conversation_id, queue, status, participants, payload, created_at)
			VALUES (?, 'message.created', 1, 'support', 'unassigned', '', ?, ?)`
		put := func(g *gorm.DB, id int64, text string) {
			t.Helper()
			if err := g.Exec(insert, id, `{"text":"`+text+`"}`, time.Now().UTC()).Error; err != nil {
				t.Fatal(err)
			}
		}
		texts := func() []string {
			rcv.mu.Lock()
			defer rcv.mu.Unlock()
			var out []string
			for _, g := range rcv.got {
				var m struct{ Text string }
				json.Unmarshal(g.Data, &m)
				out = append(out, m.Text)
			}
			return out
		}
		want := []string{}
		if f.st.Dialect() == store.Postgres {
			// newest+1 is written by a transaction still open while
			// newest+2 commits.
			tx := f.st.DB().Begin()
			put(tx, newest+1, "first")
			put(f.st.DB(), newest+2, "second")
			time.Sleep(300 * time.Millisecond)
			if got := texts(); len(got) != 0 {
				tx.Rollback()
				t.Fatalf("sent past an open transaction's id: %v", got)
			}
			if err := tx.Commit().Error; err != nil {
				t.Fatal(err)
			}
			want = append(want, "first", "second")
			waitWebhook(t, "both", func() bool { return len(texts()) == 2 })
			if got := texts(); strings.Join(got, ",") != "first,second" {
				t.Fatalf("order: %v", got)
			}
			// A rolled-back id.
			tx = f.st.DB().Begin()
			put(tx, newest+3, "rolled back")
			tx.Rollback()
		} else {
			put(f.st.DB(), newest+1, "first")
			want = append(want, "first")
			waitWebhook(t, "the first", func() bool { return len(texts()) == 1 })
		}
		rcv.mu.Lock()
		retried := rcv.times[1].Sub(rcv.times[0])
		rcv.mu.Unlock()
		if retried < 380*time.Millisecond {
			t.Fatalf("retried after %s, before the receiver's Retry-After (400ms)", retried)
		}
		// The hole before newest+4 never fills: it is skipped at once.
		start := time.Now()
		put(f.st.DB(), newest+4, "after a hole")
		want = append(want, "after a hole")
		waitWebhook(t, "the event after the hole", func() bool { return len(texts()) == len(want) })
		if waited := time.Since(start); waited > 3*time.Second {
			t.Fatalf("the hole was skipped after %s: waited for GapWait instead of the transactions", waited)
		}
		if got := texts(); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("sent %v, want %v", got, want)
		}
		sts, _ := d.State(ctx)
		if sts[0].Missed != 0 {
			t.Fatalf("a rolled-back id counted as missed: %+v", sts[0])
		}
	})
}

// TestWebhookReplayDuringRetryAfter: a replay made while a delivery waits
// out a receiver's long Retry-After takes effect within a poll, and the
// events after the replay's id are sent in order; replays are for owners.
func TestWebhookReplayDuringRetryAfter(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rcv := &retryAfterReceiver{wait: time.Hour}
		sub := inbox.WebhookSubscriber{ID: "crm", Events: []inbox.WebhookEvent{inbox.HookMessageCreated}}
		d := inbox.NewWebhookDispatcher(inbox.WebhookOptions{Store: f.st, Sender: rcv, Subscribers: []inbox.WebhookSubscriber{sub},
			Poll: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
		go d.Run(ctx)
		waitWebhook(t, "the cursor", func() bool { sts, _ := f.st.WebhookStates(ctx); return len(sts) == 1 })
		from, err := f.st.LastEventID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		f.ingest("crm", "m1", "c1", "one")
		f.ingest("crm", "m2", "c1", "two")
		waitWebhook(t, "the refusal", func() bool { rcv.mu.Lock(); defer rcv.mu.Unlock(); return len(rcv.times) == 1 })
		if _, err := d.Replay(ctx, f.anna, "crm", from); inbox.ErrorCode(err) != inbox.EForbidden {
			t.Fatalf("an agent's replay: %v", err)
		}
		if _, err := d.Replay(ctx, f.owner, "crm", from); err != nil {
			t.Fatal(err)
		}
		waitWebhook(t, "both messages", func() bool { return len(rcv.names()) == 2 })
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		var texts []string
		for _, g := range rcv.got {
			var m struct{ Text string }
			json.Unmarshal(g.Data, &m)
			texts = append(texts, m.Text)
		}
		if strings.Join(texts, ",") != "one,two" {
			t.Fatalf("sent %v", texts)
		}
	})
}
