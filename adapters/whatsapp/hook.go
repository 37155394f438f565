package whatsapp

import (
	"context"
	"net/http"

	"github.com/inboxd/inboxd/adapters/meta"
)

// ServeHTTP is the webhook at /hooks/whatsapp/{channel}: GET is the
// verification handshake, POST a change notification. A POST is answered
// 200 only after its messages are committed (one transaction) and its
// statuses recorded, 503 when they could not be, so that Meta retries;
// retries are no-ops because messages are unique on their wamid.
func (c *Channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		meta.ServeHandshake(w, r, c.cfg.VerifyToken)
	case http.MethodPost:
		c.serveEvents(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (c *Channel) serveEvents(w http.ResponseWriter, r *http.Request) {
	// The signature covers the raw bytes: nothing is parsed before it holds.
	body, ok := meta.ReadSigned(w, r, c.cfg.AppSecret, c.log, "whatsapp")
	if !ok {
		return
	}
	b, err := Normalize(c.cfg.PhoneNumberID, c.id, body)
	if err != nil {
		c.log.Warn("whatsapp webhook rejected", "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, why := range b.Skipped {
		c.log.Info("whatsapp webhook item skipped", "reason", why)
	}
	if status, msg := c.store(r.Context(), &b); status != http.StatusOK {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok"))
}

func (c *Channel) store(ctx context.Context, b *Batch) (int, string) {
	if len(b.Messages) > 0 {
		if _, err := c.ingest.IngestBatch(ctx, b.Messages, nil); err != nil {
			return c.storeError("ingest", err)
		}
	}
	if len(b.Updates) > 0 {
		// The messages are committed already: if this fails, Meta's retry
		// finds them duplicate and only the statuses are written again.
		if err := c.ingest.UpdateDelivery(ctx, b.Updates); err != nil {
			return c.storeError("update delivery", err)
		}
	}
	return http.StatusOK, ""
}

func (c *Channel) storeError(op string, err error) (int, string) {
	return meta.StoreStatus(c.log, "whatsapp", op, err)
}
