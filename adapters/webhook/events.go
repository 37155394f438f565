package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/adapters/providerhttp"
	"github.com/inboxd/inboxd/inbox"
)

// Outgoing event webhooks (integrations.webhooks) are signed like this
// channel's callbacks: the receiver checks them with the same code.

// Headers of an event delivery.
const (
	// EventIDHeader is the delivery's id, the same on every retry and
	// replay: a receiver drops repeats by it.
	EventIDHeader = "X-Inboxd-Event-Id"
	// EventHeader names the webhook event (conversation.created, ...).
	EventHeader = "X-Inboxd-Event"
)

// EventSender posts event deliveries to their subscribers
// (inbox.WebhookSender).
type EventSender struct {
	Client *http.Client
}

// SendWebhook implements inbox.WebhookSender: a 2xx answer is success;
// anything else is an error carrying the receiver's Retry-After, if any.
// Errors name the status and at most 200 bytes of the answer, never the
// URL's secrets or the signing secret.
func (s EventSender) SendWebhook(ctx context.Context, sub *inbox.WebhookSubscriber, d *inbox.WebhookDelivery) error {
	body := d.Envelope()
	status, h, resp, err := providerhttp.Call(ctx, s.Client, http.MethodPost, sub.URL, map[string]string{
		SignatureHeader: "sha256=" + hooksig.Sign([]byte(sub.Secret), body),
		EventIDHeader:   d.ID,
		EventHeader:     string(d.Event),
	}, json.RawMessage(body))
	if err != nil {
		return err
	}
	if status >= 200 && status < 300 {
		return nil
	}
	reason := strings.ToValidUTF8(string(bytes.TrimSpace(truncate(resp, 200))), "")
	return inbox.RetryAfter(fmt.Errorf("receiver answered %d: %s", status, reason), providerhttp.RetryAfterHeader(h))
}

var _ inbox.WebhookSender = EventSender{}
