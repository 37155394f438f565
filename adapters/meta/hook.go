package meta

import (
	"context"
	"fmt"
	"net/http"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
)

// ServeHTTP is the webhook at /hooks/meta/{channel}: GET is the
// verification handshake, POST an event batch. A POST is answered 200 only
// after every message of the batch is committed (one transaction), 503
// with Retry-After when it could not be, so that Meta retries; retries are
// no-ops because messages are unique on their mid. Errors go through
// adapters.WriteError: a batch that can never be stored (too large,
// malformed, refused by the journal) is 4xx, never a 503 Meta would retry
// for as long as it retries.
func (c *Channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		ServeHandshake(w, r, c.cfg.VerifyToken, c.log)
	case http.MethodPost:
		c.serveEvents(w, r)
	default:
		adapters.MethodNotAllowed(w, "GET, POST")
	}
}

func (c *Channel) serveEvents(w http.ResponseWriter, r *http.Request) {
	// The signature covers the raw bytes: nothing is parsed before it holds.
	body, err := ReadSigned(r, c.cfg.AppSecret)
	if err != nil {
		adapters.WriteError(w, c.log.With("ip", r.RemoteAddr), err)
		return
	}
	b, err := Normalize(c.platform, c.id, body)
	if err != nil {
		adapters.WriteError(w, c.log, err)
		return
	}
	for _, why := range b.Skipped {
		c.log.Info("meta webhook event skipped", "reason", why)
	}
	if err := c.store(r.Context(), &b); err != nil {
		adapters.WriteError(w, c.log, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok"))
}

// store commits the batch's messages, then its delivery reports.
func (c *Channel) store(ctx context.Context, b *Batch) error {
	if len(b.Messages) > 0 {
		c.nameContacts(ctx, b.Messages)
		if _, err := c.ingest.IngestBatch(ctx, b.Messages, nil); err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
	}
	ups := b.Updates
	for _, u := range ups {
		if u.State == inbox.DeliverySent {
			c.sent.confirm(u.ProviderID, u.At)
		}
	}
	for _, wm := range b.Watermarks {
		ups = append(ups, c.sent.resolve(c.id, wm)...)
	}
	if len(ups) > 0 {
		// The messages are committed already: if this fails, Meta's retry
		// finds them duplicate and only the reports are written again.
		if err := c.ingest.UpdateDelivery(ctx, ups); err != nil {
			return fmt.Errorf("update delivery: %w", err)
		}
	}
	return nil
}
