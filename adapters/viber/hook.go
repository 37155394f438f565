package viber

import (
	"net/http"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/inbox"
)

// SignatureHeader carries hex(HMAC-SHA256(auth token, raw body)).
const SignatureHeader = "X-Viber-Content-Signature"

// ServeHTTP receives Viber's callbacks at /hooks/viber/{channel}. It
// answers 200 only after what the callback carries is committed, so that
// Viber retries anything we could not store (503 with Retry-After); a
// retried message is deduplicated on its message_token. Errors go through
// adapters.WriteError: what Viber sent that can never be stored is 4xx
// (400, 401, 413), so that it is not retried forever.
func (c *Channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		adapters.MethodNotAllowed(w, http.MethodPost)
		return
	}
	body, err := hooksig.ReadBody(r, c.maxBody)
	if err != nil {
		adapters.WriteError(w, c.log, err)
		return
	}
	// Nothing of the body is looked at before the signature holds.
	if !hooksig.Verify([]byte(c.cfg.AuthToken), body, r.Header.Get(SignatureHeader), "") {
		adapters.WriteError(w, c.log.With("ip", r.RemoteAddr),
			inbox.Errorf(inbox.EUnauthorized, "missing or wrong %s", SignatureHeader))
		return
	}
	n, err := Normalize(c.id, body, c.clock.Now())
	if err != nil {
		adapters.WriteError(w, c.log, err)
		return
	}
	if c.ingest == nil && (n.Inbound != nil || n.Delivery != nil) {
		adapters.WriteError(w, c.log, inbox.ErrUnavailable)
		return
	}
	ctx := r.Context()
	switch {
	case n.Inbound != nil:
		res, err := c.ingest.Ingest(ctx, *n.Inbound)
		if err != nil {
			adapters.WriteError(w, c.log.With("message_token", n.Inbound.ExternalID), err)
			return
		}
		c.log.Debug("viber message stored", "message_token", n.Inbound.ExternalID,
			"message_id", res.MessageID, "duplicate", res.Duplicate)
	case n.Delivery != nil:
		if err := c.ingest.UpdateDelivery(ctx, []inbox.DeliveryUpdate{*n.Delivery}); err != nil {
			adapters.WriteError(w, c.log.With("message_token", n.Delivery.ProviderID), err)
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
