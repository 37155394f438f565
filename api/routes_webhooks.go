package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/inbox"
)

// WebhookOptions wires the outgoing event webhooks' state and replay
// (integrations.webhooks).
type WebhookOptions struct {
	// Admin serves the routes; nil: no subscriber is configured.
	Admin WebhookAdmin
}

// WebhookAdmin is what the routes need of the webhook dispatcher.
type WebhookAdmin interface {
	State(ctx context.Context) ([]inbox.WebhookState, error)
	Replay(ctx context.Context, actor *inbox.User, id string, from int64) (inbox.WebhookState, error)
}

// webhookRoutes: the subscribers' state (owners and admins), a replay
// (owners: inbox.CanReplayWebhooks) and their console page.
func (s *Server) webhookRoutes() []Route {
	return []Route{
		{http.MethodGet, "/integrations", Public, s.consolePage("integrations", "Integrations", true, nil)},
		{http.MethodGet, "/api/v1/integrations/webhooks", Admin, s.webhookList},
		{http.MethodPost, "/api/v1/integrations/webhooks/:id/replay", Admin, s.webhookReplay},
	}
}

func (s *Server) webhookList(c echo.Context) error {
	items := []inbox.WebhookState{}
	if a := s.o.Webhooks.Admin; a != nil {
		st, err := a.State(c.Request().Context())
		if err != nil {
			return err
		}
		items = append(items, st...)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

func (s *Server) webhookReplay(c echo.Context) error {
	u := currentUser(c)
	if !inbox.CanReplayWebhooks(u) {
		return inbox.Errorf(inbox.EForbidden, "only owners may replay webhook events")
	}
	var req struct {
		FromEventID *int64 `json:"from_event_id"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.FromEventID == nil {
		return inbox.Invalid("from_event_id", "is required")
	}
	a := s.o.Webhooks.Admin
	if a == nil {
		return inbox.Errorf(inbox.ENotFound, "no webhook subscriber %q", c.Param("id"))
	}
	st, err := a.Replay(c.Request().Context(), u, c.Param("id"), *req.FromEventID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, st)
}
