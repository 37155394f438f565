package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/adapters/hooksig"
	"github.com/inboxd/inboxd/adapters/providerhttp"
	"github.com/inboxd/inboxd/inbox"
)

// errNoWebhook is Health's answer until setWebhook succeeds.
var errNoWebhook = errors.New("telegram: webhook not registered yet")

// secretHeader carries setWebhook's secret_token on every webhook request.
const secretHeader = "X-Telegram-Bot-Api-Secret-Token"

// runWebhook registers the webhook, retrying until Telegram accepts it,
// then waits for ctx: updates arrive through ServeHTTP.
func (c *Channel) runWebhook(ctx context.Context) error {
	up := c.newUpstream()
	c.health.set(errNoWebhook)
	for {
		err := c.setWebhook(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		wait := up.failed(err)
		// Unregistered, no update arrives: unhealthy from the first failure,
		// with Telegram's reason (e.g. "bad webhook: HTTPS url must be provided").
		c.health.set(fmt.Errorf("%w: %w", errNoWebhook, err))
		if !sleep(ctx, wait) {
			return nil
		}
	}
	up.ok()
	c.log.Info("telegram: webhook registered", "url", providerhttp.RedactURL(c.WebhookURL()))
	<-ctx.Done()
	return nil
}

// setWebhook registers WebhookURL with a raw request: the library's
// WebhookConfig has no secret_token, and without it anyone who learns the
// URL could post updates.
func (c *Channel) setWebhook(ctx context.Context) error {
	return c.callShort(ctx, "setWebhook", map[string]any{
		"url":             c.WebhookURL(),
		"secret_token":    c.cfg.Secret,
		"allowed_updates": allowedUpdates,
	}, nil)
}

// ServeHTTP receives Telegram's webhook requests (webhook mode; 404 in
// polling mode). It answers 2xx only after the message is committed, so
// that Telegram retries anything not stored (it gives up after a number of
// attempts). Errors go through adapters.WriteError: 401 for a wrong
// secret, 400 for a body that is not an update, 413 over the limit, 503
// with Retry-After while the store is down.
func (c *Channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.cfg.Mode != ModeWebhook {
		adapters.WriteError(w, c.log, inbox.Errorf(inbox.ENotFound, "this channel polls; it has no webhook"))
		return
	}
	if r.Method != http.MethodPost {
		adapters.MethodNotAllowed(w, http.MethodPost)
		return
	}
	// Constant-time comparison; the header's value is never logged.
	if !hooksig.Equal(r.Header.Get(secretHeader), c.cfg.Secret) {
		adapters.WriteError(w, c.log.With("ip", r.RemoteAddr),
			inbox.Errorf(inbox.EUnauthorized, "wrong or missing %s", secretHeader))
		return
	}
	body, err := hooksig.ReadBody(r, hooksig.DefaultMaxBody)
	if err != nil {
		adapters.WriteError(w, c.log, err)
		return
	}
	var u tgbotapi.Update
	if err := json.Unmarshal(body, &u); err != nil {
		adapters.WriteError(w, c.log, inbox.Invalid("body", "is not a Telegram update: %s", hooksig.JSONProblem(err)))
		return
	}
	in, ok := Normalize(c.id, u, c.cfg.Groups)
	if !ok {
		c.log.Debug("telegram: update dropped", "update_id", u.UpdateID, "update_kind", updateKind(u))
		w.WriteHeader(http.StatusOK)
		return
	}
	if _, err := c.ingest.Ingest(r.Context(), in); err != nil {
		adapters.WriteError(w, c.log.With("update_id", u.UpdateID), err)
		return
	}
	// An empty 200: Telegram would execute a Bot API method named in a
	// JSON answer.
	w.WriteHeader(http.StatusOK)
}
