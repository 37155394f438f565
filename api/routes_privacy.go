package api

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/inbox/privacy"
)

// PrivacyOptions wires a person's data: its export and its erasure
// (docs/DESIGN.md, "Retention and erasure").
type PrivacyOptions struct {
	// Manager serves the routes; nil leaves them out.
	Manager *privacy.Manager
}

// privacyRoutes: /api/v1/contacts/{id}/export and DELETE
// /api/v1/contacts/{id}, for owners and admins (privacy.CanManage is
// checked again by the manager).
func (s *Server) privacyRoutes() []Route {
	if s.o.Privacy.Manager == nil {
		return nil
	}
	return []Route{
		{http.MethodGet, "/api/v1/contacts/:id/export", Admin, s.contactExport},
		{http.MethodDelete, "/api/v1/contacts/:id", Admin, s.contactErase},
	}
}

// contactExport answers the contact's data as a JSON download.
func (s *Server) contactExport(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	x, err := s.o.Privacy.Manager.Export(c.Request().Context(), privacy.Actor{User: currentUser(c), IP: c.RealIP()}, id)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="contact-`+strconv.FormatInt(id, 10)+`.json"`)
	h.Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, x)
}

// contactErase erases the contact and answers what was deleted (counts).
func (s *Server) contactErase(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	er, err := s.o.Privacy.Manager.Erase(c.Request().Context(), privacy.Actor{User: currentUser(c), IP: c.RealIP()}, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, er)
}
