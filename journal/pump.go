package journal

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// GapWait is how long the pump holds events back behind a missing id
// before it gives up on that id (a rolled-back transaction's id never
// commits).
const GapWait = time.Second

// Pump moves committed events to the local hub in id order. The service
// hands it its own events right after commit (the fast path: no query);
// events committed by other replicas arrive when Wake is called (on a
// PostgreSQL NOTIFY) and are read from the events table.
//
// On PostgreSQL, ids come from a sequence and concurrent transactions may
// commit out of id order. The pump therefore delivers only contiguous ids:
// an event after a gap waits until the gap fills or GapWait passes. That
// keeps every feed ordered, so Last-Event-ID means "everything up to here".
type Pump struct {
	r   Reader
	hub *Hub
	log *slog.Logger
	now func() time.Time

	mu       sync.Mutex
	last     int64
	held     map[int64]inbox.Event
	gapSince time.Time
	wake     chan struct{}
}

// NewPump returns a pump that starts after event id last.
func NewPump(r Reader, hub *Hub, last int64, log *slog.Logger) *Pump {
	return &Pump{r: r, hub: hub, log: log, now: time.Now, last: last,
		held: map[int64]inbox.Event{}, wake: make(chan struct{}, 1)}
}

// Publish implements inbox.Publisher for this replica's own commits.
func (p *Pump) Publish(evs []inbox.Event) {
	p.mu.Lock()
	// Hand over under the lock: two committers releasing it first could
	// reach the hub in the wrong order. Hub.Publish never blocks.
	p.hub.Publish(p.accept(evs))
	waiting := len(p.held) > 0
	p.mu.Unlock()
	if waiting {
		p.Wake()
	}
}

// Wake makes the pump read the events table now; it never blocks.
func (p *Pump) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run reads the events table when woken, and while a gap is open, until
// ctx is done.
func (p *Pump) Run(ctx context.Context) {
	t := time.NewTicker(GapWait / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-t.C:
			p.mu.Lock()
			idle := len(p.held) == 0
			p.mu.Unlock()
			if idle {
				continue
			}
		}
		p.poll(ctx)
	}
}

func (p *Pump) poll(ctx context.Context) {
	for {
		p.mu.Lock()
		after := p.last
		p.mu.Unlock()
		evs, err := p.r.EventsSince(ctx, after, 500)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("event pump: read failed", "err", err)
			}
			return
		}
		p.mu.Lock()
		p.hub.Publish(p.accept(evs))
		p.mu.Unlock()
		if len(evs) < 500 {
			return
		}
	}
}

// accept takes events in (any order, duplicates allowed) and returns those
// that can be delivered now, in id order. p.mu is held.
func (p *Pump) accept(evs []inbox.Event) []inbox.Event {
	for _, e := range evs {
		if e.ID > p.last {
			p.held[e.ID] = e
		}
	}
	var out []inbox.Event
	for {
		e, ok := p.held[p.last+1]
		if !ok {
			break
		}
		delete(p.held, e.ID)
		out = append(out, e)
		p.last = e.ID
	}
	if len(p.held) == 0 {
		p.gapSince = time.Time{}
		return out
	}
	now := p.now()
	if p.gapSince.IsZero() {
		p.gapSince = now
		return out
	}
	if now.Sub(p.gapSince) < GapWait {
		return out
	}
	// The gap did not fill: skip it and deliver what waits behind it.
	ids := make([]int64, 0, len(p.held))
	for id := range p.held {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	p.log.Debug("event pump: skipping ids that never committed", "from", p.last+1, "to", ids[0]-1)
	for _, id := range ids {
		out = append(out, p.held[id])
		delete(p.held, id)
		p.last = id
	}
	p.gapSince = time.Time{}
	return out
}
