package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/inbox"
)

// Links is the write side of ticket links (inbox.Links).
type Links interface {
	Add(ctx context.Context, actor *inbox.User, conversationID int64, in inbox.LinkInput) (*inbox.Link, error)
	Delete(ctx context.Context, actor *inbox.User, conversationID, linkID int64) error
	CreateTicket(ctx context.Context, actor *inbox.User, conversationID int64) (*inbox.Link, bool, error)
	// TicketLabel is the "Create ticket" action's label, "" when no
	// ticket system is configured.
	TicketLabel() string
}

// LinkOptions wires ticket links (docs/DESIGN.md).
type LinkOptions struct {
	// Links serves the routes; nil leaves them out.
	Links Links
}

// linkRoutes: /api/v1/conversations/{id}/links and .../tickets. Reading
// needs what reading the conversation needs; adding, deleting and
// creating a ticket are the domain's rules (inbox.CanEditLinks,
// inbox.CanCreateTicket).
func (s *Server) linkRoutes() []Route {
	if s.o.Links.Links == nil {
		return nil
	}
	return []Route{
		{http.MethodGet, "/api/v1/conversations/:id/links", Member, s.listLinks},
		{http.MethodPost, "/api/v1/conversations/:id/links", Member, s.addLink},
		{http.MethodDelete, "/api/v1/conversations/:id/links/:linkID", Member, s.deleteLink},
		{http.MethodPost, "/api/v1/conversations/:id/tickets", Member, s.createTicket},
	}
}

// ticketAction describes the "Create ticket" action to the console.
type ticketAction struct {
	Label string `json:"label"`
}

func (s *Server) listLinks(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	links, err := s.o.Journal.Links(c.Request().Context(), currentUser(c), id)
	if err != nil {
		return err
	}
	var action *ticketAction
	if l := s.o.Links.Links.TicketLabel(); l != "" {
		action = &ticketAction{Label: l}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": links, "ticket_action": action})
}

func (s *Server) addLink(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req struct {
		URL    string `json:"url"`
		Title  string `json:"title"`
		System string `json:"system"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	l, err := s.o.Links.Links.Add(c.Request().Context(), currentUser(c), id,
		inbox.LinkInput{URL: req.URL, Title: req.Title, System: req.System})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, l)
}

func (s *Server) deleteLink(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	linkID, err := strconv.ParseInt(c.Param("linkID"), 10, 64)
	if err != nil || linkID <= 0 {
		return inbox.Errorf(inbox.ENotFound, "link not found")
	}
	if err := s.o.Links.Links.Delete(c.Request().Context(), currentUser(c), id, linkID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// createTicket has the ticket system create a ticket and links it: 201
// with the link, 200 when the system answered a ticket already linked; 502
// `upstream` naming the system's status when it failed (nothing stored;
// the agent may retry).
func (s *Server) createTicket(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	l, created, err := s.o.Links.Links.CreateTicket(c.Request().Context(), currentUser(c), id)
	if err != nil {
		return err
	}
	if !created {
		return c.JSON(http.StatusOK, l)
	}
	return c.JSON(http.StatusCreated, l)
}
