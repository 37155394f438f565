package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/journal"
)

// ContactOptions wires the customer's history: contact search, a
// contact's conversations on every channel, and linking contacts that are
// the same person.
type ContactOptions struct {
	// Reads answers searches and contact pages; nil leaves the routes out.
	Reads *journal.Contacts
	Links ContactLinker
}

// ContactLinker is the write side of contact links (inbox.ContactLinks).
type ContactLinker interface {
	Link(ctx context.Context, actor *inbox.User, id, into int64) (inbox.LinkResult, error)
	Unlink(ctx context.Context, actor *inbox.User, id int64) (inbox.LinkResult, error)
}

// contactRoutes: /api/v1/contacts... and the console's contacts page.
// Reading is for every member (agents: their queues' contacts, and the
// contacts of conversations they see); linking is for owners and admins.
func (s *Server) contactRoutes() []Route {
	if s.o.Contacts.Reads == nil || s.o.Contacts.Links == nil {
		return nil
	}
	return []Route{
		{http.MethodGet, "/api/v1/contacts", Member, s.contactList},
		{http.MethodGet, "/api/v1/contacts/:id", Member, s.contactDetail},
		{http.MethodPost, "/api/v1/contacts/:id/merge", Admin, s.contactMerge},
		{http.MethodDelete, "/api/v1/contacts/:id/merge", Admin, s.contactUnmerge},
		{http.MethodGet, "/contacts", Public, s.consolePage("contacts", "Contacts", false, nil)},
		{http.MethodGet, "/contacts/:id", Public, s.consolePage("contacts", "Contact", false, contactPageData)},
	}
}

func contactPageData(c echo.Context, _ *inbox.User) (any, error) {
	return pathID(c)
}

func (s *Server) contactList(c echo.Context) error {
	limit, err := queryInt(c, "limit")
	if err != nil {
		return err
	}
	p, err := s.o.Contacts.Reads.Search(c.Request().Context(), currentUser(c), c.QueryParam("q"), c.QueryParam("cursor"),
		int(min(limit, 1<<20)))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (s *Server) contactDetail(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	d, err := s.o.Contacts.Reads.Detail(c.Request().Context(), currentUser(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (s *Server) contactMerge(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req struct {
		Into int64 `json:"into"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	r, err := s.o.Contacts.Links.Link(c.Request().Context(), currentUser(c), id, req.Into)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (s *Server) contactUnmerge(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	r, err := s.o.Contacts.Links.Unlink(c.Request().Context(), currentUser(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}
