package api

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/labstack/echo/v4"
)

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz runs every readiness check (the database, each channel's health)
// and answers 503 when one fails.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	names := make([]string, 0, len(s.o.Ready))
	for n := range s.o.Ready {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := s.o.Ready[n](ctx); err != nil {
			checks[n], ok = err.Error(), false
		} else {
			checks[n] = "ok"
		}
	}
	for id, h := range s.o.Health {
		if err := h.Health(); err != nil {
			checks["channel:"+id], ok = err.Error(), false
		} else {
			checks["channel:"+id] = "ok"
		}
	}
	status, code := "ok", http.StatusOK
	if !ok {
		status, code = "unavailable", http.StatusServiceUnavailable
	}
	return c.JSON(code, map[string]any{"status": status, "checks": checks})
}
