package main

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func TestSubscriberRecordsDelayRepeatsAndMisses(t *testing.T) {
	f := &fanout{run: "ab12", base: time.Now().Add(-time.Second), ackAt: make([]atomic.Int64, 10), sentAt: make([]atomic.Int64, 10)}
	s := &subscriber{f: f, seen: make([]atomic.Uint64, 1)}
	ev := func(kind string, seq int) sseEvent {
		return sseEvent{ID: fmt.Sprint(seq), Event: kind,
			Data: fmt.Sprintf(`{"id":%d,"kind":%q,"payload":{"text":"inboxbench message ab12-%d"}}`, seq, kind, seq)}
	}
	// Message 1 was acknowledged 200 ms ago; message 2 not yet (its
	// event beat the 202).
	f.sentAt[1].Store(int64(time.Since(f.base)-300*time.Millisecond) + 1)
	f.ackAt[1].Store(int64(time.Since(f.base)-200*time.Millisecond) + 1)
	s.handle(ev("message.created", 1))
	s.handle(ev("message.created", 2))
	s.handle(ev("message.created", 1))  // a repeat
	s.handle(ev("message.updated", 3))  // not a creation
	s.handle(ev("message.created", 99)) // beyond the plan
	if s.events.Load() != 3 || s.dups.Load() != 1 || s.early.Load() != 1 {
		t.Fatalf("events %d dups %d early %d, want 3 1 1", s.events.Load(), s.dups.Load(), s.early.Load())
	}
	if s.delay.Count() != 2 || s.delay.Max() < 200*time.Millisecond || s.delay.Max() > 2*time.Second {
		t.Errorf("delay: %s, want one sample ≈200ms and one 0", s.delay.Summary())
	}
	if s.fromPost.Count() != 1 || s.fromPost.Max() < 300*time.Millisecond {
		t.Errorf("post to event: %s, want one sample ≥300ms", s.fromPost.Summary())
	}
	if got := s.misses([]int64{1, 2, 3, 4}); got != 2 {
		t.Errorf("misses = %d, want 2 (messages 3 and 4)", got)
	}
	other := &subscriber{f: f, seen: make([]atomic.Uint64, 1)}
	other.handle(ev("message.created", 3))
	if some, all := missedMessages([]*subscriber{s, other}, []int64{1, 2, 3, 4}); some != 4 || all != 1 {
		t.Errorf("missedMessages = %d, %d; want 4 (1, 2, 3, 4), 1 (4)", some, all)
	}
}
