// Package inboxtest provides fakes of inbox interfaces for adapter unit
// tests. End-to-end tests use the real service and store instead.
package inboxtest

import (
	"context"
	"sync"

	"github.com/inboxd/inboxd/inbox"
)

// Ingester is an in-memory inbox.Ingester with the real one's contract:
// (channel, external id) is unique, a batch and its cursor commit together,
// and Fail makes every call fail (storage down).
type Ingester struct {
	mu       sync.Mutex
	byKey    map[string]int64
	Messages []inbox.Inbound // stored, in order; edits replace the text
	Edits    []inbox.Inbound
	Updates  []inbox.DeliveryUpdate
	cursors  map[string]string
	// Fail, when set, is returned by every call and nothing is stored.
	Fail error
}

// NewIngester returns an empty Ingester.
func NewIngester() *Ingester {
	return &Ingester{byKey: map[string]int64{}, cursors: map[string]string{}}
}

// SetFail sets (nil: clears) the error every call returns.
func (g *Ingester) SetFail(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.Fail = err
}

// Ingest implements inbox.Ingester.
func (g *Ingester) Ingest(ctx context.Context, in inbox.Inbound) (inbox.IngestResult, error) {
	rs, err := g.IngestBatch(ctx, []inbox.Inbound{in}, nil)
	if err != nil {
		return inbox.IngestResult{}, err
	}
	return rs[0], nil
}

// IngestBatch implements inbox.Ingester.
func (g *Ingester) IngestBatch(_ context.Context, ins []inbox.Inbound, c *inbox.Cursor) ([]inbox.IngestResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.Fail != nil {
		return nil, g.Fail
	}
	for i := range ins {
		if err := ins[i].Validate(); err != nil {
			return nil, err
		}
	}
	var out []inbox.IngestResult
	for _, in := range ins {
		key := in.ChannelID + "\x00" + in.ExternalID
		if id, ok := g.byKey[key]; ok {
			if in.Kind == inbox.InboundEdit {
				g.Messages[id-1].Text = in.Text
				g.Edits = append(g.Edits, in)
			}
			out = append(out, inbox.IngestResult{MessageID: id, Duplicate: in.Kind != inbox.InboundEdit})
			continue
		}
		g.Messages = append(g.Messages, in)
		id := int64(len(g.Messages))
		g.byKey[key] = id
		out = append(out, inbox.IngestResult{MessageID: id})
	}
	if c != nil {
		g.cursors[c.ChannelID+"\x00"+c.Key] = c.Value
	}
	return out, nil
}

// UpdateDelivery implements inbox.Ingester.
func (g *Ingester) UpdateDelivery(_ context.Context, ups []inbox.DeliveryUpdate) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.Fail != nil {
		return g.Fail
	}
	g.Updates = append(g.Updates, ups...)
	return nil
}

// Cursor implements inbox.Ingester.
func (g *Ingester) Cursor(_ context.Context, channelID, key string) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.Fail != nil {
		return "", g.Fail
	}
	return g.cursors[channelID+"\x00"+key], nil
}

// SaveCursor implements inbox.Ingester.
func (g *Ingester) SaveCursor(_ context.Context, c inbox.Cursor) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.Fail != nil {
		return g.Fail
	}
	g.cursors[c.ChannelID+"\x00"+c.Key] = c.Value
	return nil
}

// Stored returns a copy of the stored messages.
func (g *Ingester) Stored() []inbox.Inbound {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]inbox.Inbound(nil), g.Messages...)
}

// DeliveryUpdates returns a copy of the recorded delivery updates.
func (g *Ingester) DeliveryUpdates() []inbox.DeliveryUpdate {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]inbox.DeliveryUpdate(nil), g.Updates...)
}

var _ inbox.Ingester = (*Ingester)(nil)
