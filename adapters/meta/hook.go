package meta

import (
	"context"
	"net/http"

	"github.com/inboxd/inboxd/inbox"
)

// ServeHTTP is the webhook at /hooks/meta/{channel}: GET is the
// verification handshake, POST an event batch. A POST is answered 200 only
// after every message of the batch is committed (one transaction), 503
// when it could not be, so that Meta retries; retries are no-ops because
// messages are unique on their mid.
func (c *Channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		ServeHandshake(w, r, c.cfg.VerifyToken)
	case http.MethodPost:
		c.serveEvents(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (c *Channel) serveEvents(w http.ResponseWriter, r *http.Request) {
	// The signature covers the raw bytes: nothing is parsed before it holds.
	body, ok := ReadSigned(w, r, c.cfg.AppSecret, c.log, "meta")
	if !ok {
		return
	}
	b, err := Normalize(c.platform, c.id, body)
	if err != nil {
		c.log.Warn("meta webhook rejected", "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, why := range b.Skipped {
		c.log.Info("meta webhook event skipped", "reason", why)
	}
	if status, msg := c.store(r.Context(), &b); status != http.StatusOK {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok"))
}

// store commits the batch's messages, then its delivery reports, and
// returns the status to answer.
func (c *Channel) store(ctx context.Context, b *Batch) (int, string) {
	if len(b.Messages) > 0 {
		c.nameContacts(ctx, b.Messages)
		if _, err := c.ingest.IngestBatch(ctx, b.Messages, nil); err != nil {
			return c.storeError("ingest", err)
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
			return c.storeError("update delivery", err)
		}
	}
	return http.StatusOK, ""
}

func (c *Channel) storeError(op string, err error) (int, string) {
	return StoreStatus(c.log, "meta", op, err)
}
