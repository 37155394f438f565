package api

import (
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// serverTiming adds `Server-Timing: app;dur=<ms>` to every answer: the
// time from the request reaching this middleware to its headers being
// written (authentication, the handler's queries and, for JSON, the
// encoding, which echo finishes before the first write). Load tools read
// it to tell the server's time from the network's. Event streams get none:
// their headers go out at once and their duration is the connection's.
func (s *Server) serverTiming(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		w := c.Response()
		w.Before(func() {
			h := w.Header()
			if strings.HasPrefix(h.Get(echo.HeaderContentType), "text/event-stream") {
				return
			}
			ms := float64(time.Since(start).Microseconds()) / 1000
			h.Set("Server-Timing", "app;dur="+strconv.FormatFloat(ms, 'f', 2, 64))
		})
		return next(c)
	}
}
