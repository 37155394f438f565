package viber

import (
	"errors"
	"net/http"

	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/inbox"
)

// SignatureHeader carries hex(HMAC-SHA256(auth token, raw body)).
const SignatureHeader = "X-Viber-Content-Signature"

// ServeHTTP receives Viber's callbacks at /hooks/viber/{channel}. It
// answers 200 only after what the callback carries is committed, so that
// Viber retries anything we could not store (503); a retried message is
// deduplicated on its message_token.
func (c *Channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := hooksig.ReadBody(r, c.maxBody)
	switch {
	case errors.Is(err, hooksig.ErrTooLarge):
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		http.Error(w, "cannot read request body", http.StatusBadRequest)
		return
	}
	// Nothing of the body is looked at before the signature holds.
	if !hooksig.Verify([]byte(c.cfg.AuthToken), body, r.Header.Get(SignatureHeader), "") {
		c.log.Warn("viber callback with a bad signature", "remote_addr", r.RemoteAddr)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	n, err := Normalize(c.id, body, c.clock.Now())
	if err != nil {
		c.log.Warn("malformed viber callback", "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if c.ingest == nil && (n.Inbound != nil || n.Delivery != nil) {
		http.Error(w, "storage unavailable", http.StatusServiceUnavailable)
		return
	}
	ctx := r.Context()
	switch {
	case n.Inbound != nil:
		res, err := c.ingest.Ingest(ctx, *n.Inbound)
		if err != nil {
			c.fail(w, err, "message_token", n.Inbound.ExternalID)
			return
		}
		c.log.Debug("viber message stored", "message_token", n.Inbound.ExternalID,
			"message_id", res.MessageID, "duplicate", res.Duplicate)
	case n.Delivery != nil:
		if err := c.ingest.UpdateDelivery(ctx, []inbox.DeliveryUpdate{*n.Delivery}); err != nil {
			c.fail(w, err, "message_token", n.Delivery.ProviderID)
			return
		}
		c.log.Debug("viber delivery report stored", "message_token", n.Delivery.ProviderID,
			"delivery", n.Delivery.State)
	default:
		// subscribed, unsubscribed, conversation_started, webhook (the
		// check set_webhook makes) and events newer than this code: the
		// conversation starts with the customer's first message. An empty
		// answer to conversation_started sends no welcome message.
		c.log.Debug("viber event acknowledged", "event", n.Event)
	}
	w.WriteHeader(http.StatusOK)
}

// fail answers an ingest error: 400 for a message the journal refuses
// (Viber must not retry it forever), 503 otherwise so that Viber retries.
func (c *Channel) fail(w http.ResponseWriter, err error, args ...any) {
	switch inbox.ErrorCode(err) {
	case inbox.EInvalid, inbox.ETooLarge:
		c.log.Warn("viber callback refused by the journal", append(args, "err", err)...)
		http.Error(w, inbox.ErrorMessage(err), http.StatusBadRequest)
	default:
		c.log.Error("cannot store viber callback", append(args, "err", err)...)
		http.Error(w, "storage unavailable, retry later", http.StatusServiceUnavailable)
	}
}
