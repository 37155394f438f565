package journal

import (
	"sync"

	"github.com/inboxd/inboxd/inbox"
)

// SubscriberBuffer is how many events a subscriber may lag behind before
// it is disconnected (it reconnects with Last-Event-ID and replays).
const SubscriberBuffer = 512

// Hub fans committed events out to live subscribers. Publish never blocks:
// a subscriber whose buffer is full is dropped, so one slow client cannot
// hold up the writers or the others.
//
// Two kinds of subscriber: a Subscription (a goroutine reading a channel,
// for the daemon's own consumers) and a Sink, which takes every batch in a
// call and queues it itself (the HTTP live feeds: one sink holds thousands
// of connections without a goroutine or a channel each).
type Hub struct {
	mu    sync.RWMutex
	subs  map[*Subscription]struct{}
	sinks []Sink
}

// Sink takes what Publish publishes, in the order of the Publish calls
// (concurrent calls in any order). Deliver must not block: it queues, or
// drops its own laggards. Events are shared by every subscriber: read
// them, never change them.
type Sink interface {
	Deliver(events []inbox.Event)
	// Subscribers is how many subscribers the sink serves.
	Subscribers() int
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[*Subscription]struct{}{}} }

// Subscription receives the events its filter accepts. C is closed when
// the subscription ends (Close, or dropped for lagging: Dropped is then
// true). Events are shared by every subscriber: read them, never change
// them. Pointers keep each subscriber's buffer small (4 KiB, not 70), which
// is what 10,000 idle feeds cost.
type Subscription struct {
	C       chan *inbox.Event
	filter  func(*inbox.Event) bool
	hub     *Hub
	once    sync.Once
	dropped bool
}

// Subscribe registers a subscriber; filter decides per event.
func (h *Hub) Subscribe(filter func(*inbox.Event) bool) *Subscription {
	s := &Subscription{C: make(chan *inbox.Event, SubscriberBuffer), filter: filter, hub: h}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Close ends the subscription.
func (s *Subscription) Close() { s.hub.remove(s, false) }

// Dropped reports whether the hub dropped the subscriber for lagging.
func (s *Subscription) Dropped() bool {
	s.hub.mu.RLock()
	defer s.hub.mu.RUnlock()
	return s.dropped
}

func (h *Hub) remove(s *Subscription, dropped bool) {
	h.mu.Lock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		s.dropped = dropped
	}
	h.mu.Unlock()
	s.once.Do(func() { close(s.C) })
}

// Attach adds a sink; detach removes it.
func (h *Hub) Attach(s Sink) (detach func()) {
	h.mu.Lock()
	h.sinks = append(h.sinks, s)
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		for i, x := range h.sinks {
			if x == s {
				h.sinks = append(h.sinks[:i:i], h.sinks[i+1:]...)
				return
			}
		}
	}
}

// Publish implements inbox.Publisher.
func (h *Hub) Publish(events []inbox.Event) {
	if len(events) == 0 {
		return
	}
	var lagging []*Subscription
	h.mu.RLock()
	sinks := h.sinks
	for s := range h.subs {
		for i := range events {
			if s.filter != nil && !s.filter(&events[i]) {
				continue
			}
			select {
			case s.C <- &events[i]:
			default:
				lagging = append(lagging, s)
			}
			if len(lagging) > 0 && lagging[len(lagging)-1] == s {
				break
			}
		}
	}
	h.mu.RUnlock()
	for _, s := range lagging {
		h.remove(s, true)
	}
	for _, s := range sinks {
		s.Deliver(events)
	}
}

// Subscribers returns how many subscribers are connected: subscriptions
// and the sinks' subscribers.
func (h *Hub) Subscribers() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := len(h.subs)
	for _, s := range h.sinks {
		n += s.Subscribers()
	}
	return n
}
