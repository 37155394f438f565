package viber

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/inboxd/inboxd/adapters/providerhttp"
)

// WebhookEvents are the optional callbacks set_webhook subscribes to;
// Viber always sends message events (and the webhook check).
var WebhookEvents = []string{
	EventDelivered, EventSeen, EventFailed,
	EventSubscribed, EventUnsubscribed, EventConversationStarted,
}

type setWebhook struct {
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
	// SendName asks Viber to include the customer's name in callbacks:
	// it becomes the conversation's title.
	SendName  bool `json:"send_name"`
	SendPhoto bool `json:"send_photo"`
}

// WebhookURL is where Viber must send this channel's callbacks.
func (c *Channel) WebhookURL() (string, error) {
	if c.public == "" {
		return "", errors.New("public_url: is required to register the Viber webhook")
	}
	return c.public + "/hooks/viber/" + url.PathEscape(c.id), nil
}

// RegisterWebhook points the bot's webhook at this channel's hook URL
// (set_webhook) and returns that URL; `inboxd channels register` calls it.
// Viber checks the URL while the call is in flight by sending it a signed
// "webhook" callback, so the daemon must already be serving public_url
// (over HTTPS: Viber refuses other webhooks).
func (c *Channel) RegisterWebhook(ctx context.Context) (string, error) {
	hook, err := c.WebhookURL()
	if err != nil {
		return "", err
	}
	req := setWebhook{URL: hook, EventTypes: WebhookEvents, SendName: true, SendPhoto: true}
	if _, err := c.call(ctx, "set_webhook", req); err != nil {
		return "", err
	}
	c.log.Info("viber webhook registered", "url", providerhttp.RedactURL(hook))
	return hook, nil
}

// AccountInfo is what get_account_info says of the bot.
type AccountInfo struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	URI        string   `json:"uri"`
	Webhook    string   `json:"webhook"`
	EventTypes []string `json:"event_types"`
	// SubscribersCount is a json.Number so that any size survives.
	SubscribersCount json.Number `json:"subscribers_count"`
}

// AccountInfo fetches the bot's details (get_account_info): a check that
// the auth token works and where the webhook points.
func (c *Channel) AccountInfo(ctx context.Context) (AccountInfo, error) {
	var info AccountInfo
	_, raw, err := c.callRaw(ctx, "get_account_info", struct{}{})
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		return info, fmt.Errorf("viber get_account_info: %w", err)
	}
	return info, nil
}
