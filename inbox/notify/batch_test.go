package notify

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

var t0 = time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)

func msg(conv int64, text string) inbox.Message {
	return inbox.Message{ConversationID: conv, Direction: inbox.DirectionIn, Text: text}
}

func TestBatcherQuietPeriod(t *testing.T) {
	b := &Batcher{Quiet: 5 * time.Minute}
	for i := 0; i < 5; i++ {
		b.Add(7, msg(42, fmt.Sprint("m", i)), t0.Add(time.Duration(i)*time.Minute))
	}
	last := t0.Add(4 * time.Minute)
	if got := b.Due(last.Add(5*time.Minute - time.Second)); len(got) != 0 {
		t.Fatalf("due before the quiet period: %v", got)
	}
	got := b.Due(last.Add(5 * time.Minute))
	if len(got) != 1 {
		t.Fatalf("5 messages gave %d transcripts, want 1", len(got))
	}
	tr := got[0]
	if tr.AgentID != 7 || tr.ConversationID != 42 || len(tr.Messages) != 5 || tr.Omitted != 0 ||
		!tr.First.Equal(t0) || !tr.Last.Equal(last) {
		t.Fatalf("transcript %+v", tr)
	}
	for i, m := range tr.Messages {
		if m.Text != fmt.Sprint("m", i) {
			t.Errorf("message %d = %q: order lost", i, m.Text)
		}
	}
	if again := b.Due(last.Add(time.Hour)); len(again) != 0 || b.Pending() != 0 {
		t.Fatalf("a transcript was handed out twice: %v", again)
	}
}

func TestBatcherMaxWait(t *testing.T) {
	b := &Batcher{Quiet: 5 * time.Minute, MaxWait: 20 * time.Minute}
	// A message every 2 minutes never leaves 5 quiet minutes.
	var due []Transcript
	for now := t0; now.Before(t0.Add(30 * time.Minute)); now = now.Add(2 * time.Minute) {
		b.Add(1, msg(9, "again"), now)
		due = append(due, b.Due(now)...)
	}
	if len(due) != 1 || !due[0].First.Equal(t0) || len(due[0].Messages) != 11 {
		t.Fatalf("busy conversation: got %d transcripts %+v, want one after MaxWait with 11 messages", len(due), due)
	}
	if b.Pending() != 1 {
		t.Fatalf("the messages after the flush start a new transcript, pending=%d", b.Pending())
	}
}

func TestBatcherKeysAndOrder(t *testing.T) {
	var b Batcher // zero value: defaults
	b.Add(2, msg(10, "x"), t0.Add(time.Minute))
	b.Add(1, msg(10, "x"), t0.Add(time.Minute))
	b.Add(1, msg(11, "x"), t0)
	b.Add(1, msg(10, "y"), t0.Add(2*time.Minute))
	if b.Pending() != 3 {
		t.Fatalf("pending = %d, want 3 (per agent and conversation)", b.Pending())
	}
	got := b.Due(t0.Add(time.Hour))
	want := [][3]int64{{1, 11, 1}, {1, 10, 2}, {2, 10, 1}} // agent, conversation, messages; oldest first
	if len(got) != len(want) {
		t.Fatalf("got %d transcripts", len(got))
	}
	for i, w := range want {
		if got[i].AgentID != w[0] || got[i].ConversationID != w[1] || int64(len(got[i].Messages)) != w[2] {
			t.Errorf("transcript %d = agent %d conversation %d with %d messages, want %v",
				i, got[i].AgentID, got[i].ConversationID, len(got[i].Messages), w)
		}
	}
}

func TestBatcherMaxMessages(t *testing.T) {
	b := &Batcher{MaxMessages: 3}
	for i := 0; i < 8; i++ {
		b.Add(1, msg(1, fmt.Sprint(i)), t0)
	}
	got := b.Due(t0.Add(time.Hour))
	if len(got) != 1 || got[0].Omitted != 5 || len(got[0].Messages) != 3 ||
		got[0].Messages[0].Text != "5" || got[0].Messages[2].Text != "7" {
		t.Fatalf("got %+v, want the last 3 messages and 5 omitted", got)
	}
}

func TestBatcherDrop(t *testing.T) {
	var b Batcher
	b.Add(1, msg(1, "a"), t0)
	b.Add(1, msg(2, "a"), t0)
	b.Add(2, msg(1, "a"), t0)
	b.Drop(1)
	got := b.Due(t0.Add(time.Hour))
	if len(got) != 1 || got[0].AgentID != 2 {
		t.Fatalf("after Drop(1): %+v", got)
	}
}

func TestBatcherConcurrent(t *testing.T) {
	var b Batcher
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				b.Add(1, msg(1, "x"), t0)
				b.Due(t0) // nothing due yet: the period starts at t0
			}
		}()
	}
	wg.Wait()
	got := b.Due(t0.Add(time.Hour))
	if len(got) != 1 || len(got[0].Messages)+got[0].Omitted != 400 {
		t.Fatalf("lost messages: %+v", got)
	}
}
