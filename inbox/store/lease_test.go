package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// slowSender takes hold for its time per send and counts sends per message.
type slowSender struct {
	hold    time.Duration
	mu      sync.Mutex
	sent    map[int64]int
	started chan inbox.Outbound // told of each send as it starts, when not nil
}

func (s *slowSender) Send(ctx context.Context, out inbox.Outbound) (inbox.SendResult, error) {
	if s.started != nil {
		s.started <- out
	}
	select {
	case <-time.After(s.hold):
	case <-ctx.Done():
		return inbox.SendResult{}, ctx.Err()
	}
	s.mu.Lock()
	s.sent[out.MessageID]++
	s.mu.Unlock()
	return inbox.SendResult{ProviderID: "p"}, nil
}

// TestOutboxLease: a send that outlasts several leases is renewed, so a
// second dispatcher never takes it over (no double send); a row whose
// dispatcher died mid-send is taken over once its lease runs out.
func TestOutboxLease(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		const lease = 300 * time.Millisecond
		slow := &slowSender{hold: 4 * lease, sent: map[int64]int{}, started: make(chan inbox.Outbound, 1)}
		dispatcher := func(s inbox.Sender) *inbox.Dispatcher {
			return inbox.NewDispatcher(inbox.DispatcherOptions{Store: f.st, Service: f.svc,
				Senders: map[string]inbox.Sender{"crm": s}, Lease: lease, Poll: 20 * time.Millisecond})
		}
		r := f.ingest("crm", "m1", "c1", "hello")
		m, err := f.svc.Reply(ctx, f.anna, r.ConversationID, "a slow reply")
		if err != nil {
			t.Fatal(err)
		}
		first, second := dispatcher(slow), dispatcher(slow)
		done := make(chan int)
		go func() { n, _ := first.RunOnce(ctx); done <- n }()
		<-slow.started
		deadline := time.Now().Add(slow.hold - lease/2)
		for time.Now().Before(deadline) {
			if n, err := second.RunOnce(ctx); n != 0 || err != nil {
				t.Fatalf("second dispatcher claimed a row being sent: %d, %v", n, err)
			}
			time.Sleep(lease / 4)
		}
		if n := <-done; n != 1 {
			t.Fatalf("first dispatcher handled %d rows", n)
		}
		if slow.sent[m.ID] != 1 {
			t.Fatalf("sent %d times, want 1", slow.sent[m.ID])
		}

		// A dispatcher that dies mid-send: its claim is never renewed nor
		// finished (a claim of its own stands in for the dead process).
		m2, err := f.svc.Reply(ctx, f.anna, r.ConversationID, "after a crash")
		if err != nil {
			t.Fatal(err)
		}
		if items, err := f.st.ClaimOutbox(ctx, time.Now(), lease, 10); err != nil || len(items) != 1 {
			t.Fatalf("claim: %v %v", items, err)
		}
		quick := &slowSender{hold: 0, sent: map[int64]int{}}
		takeover := dispatcher(quick)
		if n, _ := takeover.RunOnce(ctx); n != 0 {
			t.Fatal("a live lease was taken over")
		}
		start := time.Now()
		for quick.sent[m2.ID] == 0 {
			if time.Since(start) > 5*lease {
				t.Fatalf("not taken over %s after the lease ran out", time.Since(start))
			}
			time.Sleep(lease / 10)
			takeover.RunOnce(ctx)
		}
		if waited := time.Since(start); waited < lease/2 {
			t.Fatalf("taken over after %s, before its lease of %s ran out", waited, lease)
		}
	})
}
