package notify

import (
	"sort"
	"sync"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// Batcher defaults.
const (
	DefaultQuiet       = 5 * time.Minute
	DefaultMaxWait     = 30 * time.Minute
	DefaultMaxMessages = 50
)

// Transcript is the messages one offline agent missed in one conversation,
// to be mailed as one email.
type Transcript struct {
	AgentID        int64
	ConversationID int64
	// Messages are the missed messages in arrival order, at most
	// MaxMessages of them (the latest); Omitted counts the earlier ones left
	// out.
	Messages []inbox.Message
	Omitted  int
	// First and Last are when the first and the last message were added.
	First, Last time.Time
}

// Batcher collects messages missed by offline agents per (agent,
// conversation) and hands each collection out once, as one transcript, when
// the conversation has been quiet for Quiet, or MaxWait after its first
// message so a busy conversation still gets mailed. The clock is the
// caller's: Add and Due take the instant. Safe for concurrent use.
//
// It keeps its state in memory: after a restart, pending transcripts are
// gone (the messages themselves are in the journal).
type Batcher struct {
	Quiet       time.Duration // DefaultQuiet when not positive
	MaxWait     time.Duration // DefaultMaxWait when not positive
	MaxMessages int           // DefaultMaxMessages when not positive

	mu      sync.Mutex
	pending map[batchKey]*Transcript
}

type batchKey struct{ agent, conversation int64 }

// Add records that agent missed m (m.ConversationID names the conversation)
// at now.
func (b *Batcher) Add(agentID int64, m inbox.Message, now time.Time) {
	if m.IsNote() {
		// A transcript is what the customer wrote and was answered; the
		// team's private notes are never part of it.
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == nil {
		b.pending = map[batchKey]*Transcript{}
	}
	k := batchKey{agentID, m.ConversationID}
	t := b.pending[k]
	if t == nil {
		t = &Transcript{AgentID: agentID, ConversationID: m.ConversationID, First: now}
		b.pending[k] = t
	}
	t.Messages = append(t.Messages, m)
	if max := b.maxMessages(); len(t.Messages) > max {
		drop := len(t.Messages) - max
		t.Messages = append(t.Messages[:0], t.Messages[drop:]...)
		t.Omitted += drop
	}
	t.Last = now
}

// Due removes and returns the transcripts due at now, oldest first.
func (b *Batcher) Due(now time.Time) []Transcript {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Transcript
	for k, t := range b.pending {
		if now.Sub(t.Last) >= b.quiet() || now.Sub(t.First) >= b.maxWait() {
			out = append(out, *t)
			delete(b.pending, k)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].First.Equal(out[j].First) {
			return out[i].First.Before(out[j].First)
		}
		if out[i].AgentID != out[j].AgentID {
			return out[i].AgentID < out[j].AgentID
		}
		return out[i].ConversationID < out[j].ConversationID
	})
	return out
}

// Drop forgets what agentID missed, for example when it comes back online
// and sees the conversations itself.
func (b *Batcher) Drop(agentID int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range b.pending {
		if k.agent == agentID {
			delete(b.pending, k)
		}
	}
}

// Pending returns how many transcripts are being collected.
func (b *Batcher) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

func (b *Batcher) quiet() time.Duration {
	if b.Quiet > 0 {
		return b.Quiet
	}
	return DefaultQuiet
}

func (b *Batcher) maxWait() time.Duration {
	if b.MaxWait > 0 {
		return b.MaxWait
	}
	return DefaultMaxWait
}

func (b *Batcher) maxMessages() int {
	if b.MaxMessages > 0 {
		return b.MaxMessages
	}
	return DefaultMaxMessages
}
