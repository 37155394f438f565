package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/inboxd/inboxd/inbox"
)

func newRequestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// maxRequestID bounds a client's own X-Request-Id.
const maxRequestID = 200

// requestIDs gives every request an id, answered in X-Request-Id and
// logged with it. A client's own id (a proxy's, say) is kept when it is
// at most 200 characters of letters, digits and . _ : -; any other is
// replaced, so that nothing a client chose reaches the log unchecked.
func (s *Server) requestIDs(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch b := id[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '.', b == '_', b == ':', b == '-':
		default:
			return false
		}
	}
	return true
}

// accessLog writes one slog line per request and feeds the metrics.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		route, _ := c.Get(routeKey).(string)
		if route == "" {
			route = "unmatched"
		}
		d := time.Since(start)
		s.metrics.observe(route, c.Request().Method, status, d)
		path := c.Request().URL.Path
		if linkRoutes[route] {
			path = route // a one-time link's token is a credential
		}
		attrs := []any{"method", c.Request().Method, "path", path, "status", status,
			"duration_ms", float64(d.Microseconds()) / 1000, "request_id", requestID(c), "ip", c.RealIP()}
		if u := currentUser(c); u != nil {
			attrs = append(attrs, "user_id", u.ID)
		}
		if status >= 500 {
			s.o.Logger.Warn("request", attrs...)
		} else {
			s.o.Logger.Debug("request", attrs...)
		}
		return nil
	}
}

// recoverPanic turns a handler panic into a logged 500, never a crash.
func (s *Server) recoverPanic(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.o.Logger.Error("panic in handler", "request_id", requestID(c), "panic", fmt.Sprint(r))
				err = errors.New("panic")
			}
		}()
		return next(c)
	}
}

// securityHeaders sets what every response carries. The API serves JSON
// only; a strict CSP and nosniff keep any of it from running as a page.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		return next(c)
	}
}

// limitBody refuses bodies over MaxBody with 413: at once when the length
// is declared, while reading otherwise. Provider hooks enforce their own
// limit when reading (they must see the raw body for the signature).
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength > s.o.MaxBody {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge,
				"the body is larger than "+strconv.FormatInt(s.o.MaxBody, 10)+" bytes")
		}
		if !strings.HasPrefix(r.URL.Path, "/hooks/") {
			r.Body = http.MaxBytesReader(c.Response(), r.Body, s.o.MaxBody)
		}
		return next(c)
	}
}

// refuseNUL answers 400 to a request whose path or query holds a NUL
// character (raw or %00), before any handler: no store keeps one
// (PostgreSQL refuses it with an error), and none is meaningful in a
// path, a filter or a name. JSON bodies are checked by decodeJSON.
func (s *Server) refuseNUL(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if strings.IndexByte(r.URL.Path, 0) >= 0 || strings.IndexByte(r.URL.RawPath, 0) >= 0 {
			field := "path"
			for i, name := range c.ParamNames() {
				if vs := c.ParamValues(); i < len(vs) && strings.IndexByte(vs[i], 0) >= 0 {
					field = name
					break
				}
			}
			return inbox.Invalid(field, "must not contain NUL characters")
		}
		if strings.IndexByte(r.URL.RawQuery, 0) >= 0 || strings.Contains(r.URL.RawQuery, "%00") {
			for name, vs := range c.QueryParams() {
				bad := strings.IndexByte(name, 0) >= 0
				for _, v := range vs {
					bad = bad || strings.IndexByte(v, 0) >= 0
				}
				if bad {
					return inbox.Invalid(strings.ReplaceAll(name, "\x00", ""), "must not contain NUL characters")
				}
			}
			if strings.IndexByte(r.URL.RawQuery, 0) >= 0 {
				return inbox.Invalid("query", "must not contain NUL characters")
			}
		}
		return next(c)
	}
}

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry, subscribers func() float64, feeds func() map[string]int) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inboxd_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "inboxd_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "inboxd_sse_subscribers", Help: "Connected live-feed subscribers.",
	}, subscribers), feedGauge{feeds})
	return m
}

// feedGauge is inboxd_feeds{kind}: the open live feeds of each kind, read
// from the feed set at scrape time (every kind, 0 included).
type feedGauge struct{ counts func() map[string]int }

var feedsDesc = prometheus.NewDesc("inboxd_feeds", "Open live feeds (SSE) by kind.", []string{"kind"}, nil)

func (g feedGauge) Describe(ch chan<- *prometheus.Desc) { ch <- feedsDesc }

func (g feedGauge) Collect(ch chan<- prometheus.Metric) {
	n := g.counts()
	for _, k := range FeedKinds {
		ch <- prometheus.MustNewConstMetric(feedsDesc, prometheus.GaugeValue, float64(n[k]), k)
	}
}

func (m *metrics) observe(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	if !strings.HasSuffix(route, "/events") {
		m.duration.WithLabelValues(route).Observe(d.Seconds())
	}
}
