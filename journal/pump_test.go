package journal

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

type fakeEvents struct {
	Reader
	evs []inbox.Event
}

func (f *fakeEvents) EventsSince(_ context.Context, after int64, limit int) ([]inbox.Event, error) {
	var out []inbox.Event
	for _, e := range f.evs {
		if e.ID > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func ids(evs ...int64) []inbox.Event {
	var out []inbox.Event
	for _, id := range evs {
		out = append(out, inbox.Event{ID: id})
	}
	return out
}

func drain(s *Subscription) string {
	var got []int64
	for len(s.C) > 0 {
		got = append(got, (<-s.C).ID)
	}
	return fmt.Sprint(got)
}

func TestPumpDeliversInOrderAcrossGaps(t *testing.T) {
	hub := NewHub()
	sub := hub.Subscribe(nil)
	now := time.Unix(0, 0)
	p := NewPump(&fakeEvents{}, hub, 4, slog.New(slog.DiscardHandler))
	p.now = func() time.Time { return now }

	p.Publish(ids(5, 6))
	if got := drain(sub); got != "[5 6]" {
		t.Fatalf("fast path: %s", got)
	}
	// 9 and 10 commit before 7 and 8: held back, then delivered in order.
	p.Publish(ids(9, 10))
	if got := drain(sub); got != "[]" {
		t.Fatalf("delivered across a gap: %s", got)
	}
	p.Publish(ids(7, 8))
	if got := drain(sub); got != "[7 8 9 10]" {
		t.Fatalf("after the gap filled: %s", got)
	}
	// 11 never commits (rolled back): 12 waits GapWait, then goes.
	p.Publish(ids(12))
	now = now.Add(GapWait / 2)
	p.Publish(nil)
	if got := drain(sub); got != "[]" {
		t.Fatalf("skipped the gap too early: %s", got)
	}
	now = now.Add(GapWait)
	p.Publish(nil)
	if got := drain(sub); got != "[12]" {
		t.Fatalf("after GapWait: %s", got)
	}
	// Duplicates and old ids are ignored.
	p.Publish(ids(12, 10, 13))
	if got := drain(sub); got != "[13]" {
		t.Fatalf("duplicates: %s", got)
	}
}

func TestPumpReadsOtherReplicasEvents(t *testing.T) {
	hub := NewHub()
	sub := hub.Subscribe(nil)
	src := &fakeEvents{evs: ids(1, 2, 3)}
	p := NewPump(src, hub, 1, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	p.Wake()
	deadline := time.Now().Add(5 * time.Second)
	for len(sub.C) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := drain(sub); got != "[2 3]" {
		t.Fatalf("from the table: %s", got)
	}
}

// Concurrent committers publishing contiguous batches: every subscriber
// sees every id exactly once, in order.
func TestPumpConcurrentPublishKeepsOrder(t *testing.T) {
	hub := NewHub()
	sub := hub.Subscribe(nil)
	p := NewPump(&fakeEvents{}, hub, 0, slog.New(slog.DiscardHandler))
	const writers, per = 8, 30 // 480 events: within one subscriber buffer
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex // ids are taken in order, like a sequence; commits race
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				mu.Lock()
				a := next.Add(2) - 1
				mu.Unlock()
				p.Publish(ids(a, a+1))
			}
		}()
	}
	wg.Wait()
	var last int64
	n := 0
	for len(sub.C) > 0 {
		e := <-sub.C
		if e.ID != last+1 {
			t.Fatalf("got %d after %d", e.ID, last)
		}
		last = e.ID
		n++
	}
	if n != writers*per*2 {
		t.Fatalf("got %d events, want %d", n, writers*per*2)
	}
}
