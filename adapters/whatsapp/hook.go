package whatsapp

import (
	"context"
	"fmt"
	"net/http"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/adapters/meta"
)

// ServeHTTP is the webhook at /hooks/whatsapp/{channel}: GET is the
// verification handshake, POST a change notification. A POST is answered
// 200 only after its messages are committed (one transaction) and its
// statuses recorded, 503 with Retry-After when they could not be, so that
// Meta retries; retries are no-ops because messages are unique on their
// wamid. Errors go through adapters.WriteError: a body that can never be
// stored is 4xx, never a 503 Meta would keep retrying.
func (c *Channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		meta.ServeHandshake(w, r, c.cfg.VerifyToken, c.log)
	case http.MethodPost:
		c.serveEvents(w, r)
	default:
		adapters.MethodNotAllowed(w, "GET, POST")
	}
}

func (c *Channel) serveEvents(w http.ResponseWriter, r *http.Request) {
	// The signature covers the raw bytes: nothing is parsed before it holds.
	body, err := meta.ReadSigned(r, c.cfg.AppSecret)
	if err != nil {
		adapters.WriteError(w, c.log.With("ip", r.RemoteAddr), err)
		return
	}
	b, err := Normalize(c.cfg.PhoneNumberID, c.id, body)
	if err != nil {
		adapters.WriteError(w, c.log, err)
		return
	}
	for _, why := range b.Skipped {
		c.log.Info("whatsapp webhook item skipped", "reason", why)
	}
	if err := c.store(r.Context(), &b); err != nil {
		adapters.WriteError(w, c.log, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok"))
}

func (c *Channel) store(ctx context.Context, b *Batch) error {
	if len(b.Messages) > 0 {
		if _, err := c.ingest.IngestBatch(ctx, b.Messages, nil); err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
	}
	if len(b.Updates) > 0 {
		// The messages are committed already: if this fails, Meta's retry
		// finds them duplicate and only the statuses are written again.
		if err := c.ingest.UpdateDelivery(ctx, b.Updates); err != nil {
			return fmt.Errorf("update delivery: %w", err)
		}
	}
	return nil
}
