package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/hours"
	"github.com/inboxd/inboxd/inbox/queues"
)

// QueueOptions wires opening hours, presence, registered contacts and
// notifications (docs/DESIGN.md; issue "Opening hours, agent presence,
// offline contacts, notifications").
type QueueOptions struct {
	// Manager serves the routes; nil leaves them out. The widget's
	// config and contact routes are the widget's (adapters/widget).
	Manager *queues.Manager
}

// notificationReplayCap is the most notifications a resuming
// notifications feed is sent.
const notificationReplayCap = 500

// queueRoutes: /api/v1/queues..., /api/v1/me/notifications.
func (s *Server) queueRoutes() []Route {
	o := &s.o.Queues
	if o.Manager == nil {
		return nil
	}
	return []Route{
		{http.MethodGet, "/api/v1/queues", Member, s.queueList},
		{http.MethodPut, "/api/v1/queues/:id/override", Admin, s.queueOverride},
		{http.MethodGet, "/api/v1/queues/:id/contacts", Member, s.queueContacts},
		// The core route, wrapped: the change is also recorded as the
		// agent's own choice (it wins over business hours until their
		// next transition) and published to the live feed.
		{http.MethodPut, "/api/v1/me/status", Member, s.setStatusLive},
		{http.MethodGet, "/api/v1/me/hours", Member, s.myHours},
		{http.MethodPut, "/api/v1/me/hours", Member, s.setMyHours},
		{http.MethodGet, "/api/v1/me/notifications", Member, s.myNotifications},
		{http.MethodPut, "/api/v1/me/notifications", Member, s.setMyNotifications},
		{http.MethodGet, "/api/v1/me/notifications/events", Member, s.notificationEvents},
	}
}

func (s *Server) queueList(c echo.Context) error {
	vs, err := s.o.Queues.Manager.List(c.Request().Context(), currentUser(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": vs})
}

func (s *Server) queueOverride(c echo.Context) error {
	var req struct {
		Override hours.Override `json:"override"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	before := s.queueOverrideOf(c, c.Param("id"))
	v, err := s.o.Queues.Manager.SetOverride(ctx, currentUser(c), c.Param("id"), req.Override)
	if err != nil {
		return err
	}
	s.record(c, &inbox.AuditEntry{Action: inbox.AuditQueueOverride, TargetType: "queue", TargetID: v.ID,
		Data: map[string]string{"before.override": before, "after.override": string(v.Override), "after.open": strconv.FormatBool(v.Open)}})
	return c.JSON(http.StatusOK, v)
}

// queueOverrideOf is a queue's switch before a change, for the audit
// log ("" when it cannot be read: the change goes on).
func (s *Server) queueOverrideOf(c echo.Context, id string) string {
	vs, err := s.o.Queues.Manager.List(c.Request().Context(), currentUser(c))
	if err != nil {
		return ""
	}
	for _, v := range vs {
		if v.ID == id {
			return string(v.Override)
		}
	}
	return ""
}

// queueContacts lists registered contacts (JSON pages, or all as CSV);
// the manager applies the object rule: admins, and agents serving the
// queue.
func (s *Server) queueContacts(c echo.Context) error {
	m, u, queue := s.o.Queues.Manager, currentUser(c), c.Param("id")
	ctx := c.Request().Context()
	switch c.QueryParam("format") {
	case "csv":
		if _, err := m.Questions(u, queue); err != nil {
			return err
		}
		tag := c.QueryParam("tag")
		if tag != "" {
			n, err := inbox.NormalizeTagName(tag)
			if err != nil {
				return inbox.Invalid("tag", "is not a tag name")
			}
			tag = n
		}
		h := c.Response().Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="contacts-`+queue+`.csv"`)
		h.Set("Cache-Control", "no-store")
		c.Response().WriteHeader(http.StatusOK)
		if err := m.WriteContactsCSV(ctx, u, queue, tag, c.Response()); err != nil {
			s.o.Logger.Warn("contacts export cut short", "queue", queue, "err", err)
		}
		return nil
	case "", "json":
	default:
		return inbox.Invalid("format", "must be json or csv")
	}
	before, err := queryInt(c, "before")
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit")
	if err != nil {
		return err
	}
	cs, err := m.Contacts(ctx, u, queue, before, int(min(limit, 1<<20)))
	if err != nil {
		return err
	}
	next := ""
	if len(cs) > 0 && (limit == 0 && len(cs) == queues.DefaultContactLimit || limit > 0 && len(cs) == int(limit)) {
		next = strconv.FormatInt(cs[len(cs)-1].ID, 10)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": cs, "next_before": next})
}

func (s *Server) setStatusLive(c echo.Context) error {
	if err := s.setStatus(c); err != nil {
		return err
	}
	u := currentUser(c)
	if c.Response().Status == http.StatusOK {
		if err := s.o.Queues.Manager.PresenceChanged(c.Request().Context(), u, u.Presence); err != nil {
			// The status is stored; only the live update and the manual
			// mark are missing, and the presence job catches up.
			s.o.Logger.Warn("presence change not recorded", "user_id", u.ID, "err", err)
		}
	}
	return nil
}

func (s *Server) myHours(c echo.Context) error {
	v, err := s.o.Queues.Manager.AgentHours(c.Request().Context(), currentUser(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) setMyHours(c echo.Context) error {
	var req struct {
		Timezone string `json:"timezone"`
		Open     string `json:"open"`
		Close    string `json:"close"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	v, err := s.o.Queues.Manager.SetAgentHours(c.Request().Context(), currentUser(c),
		queues.HoursView{Timezone: req.Timezone, Open: req.Open, Close: req.Close})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) myNotifications(c echo.Context) error {
	st, err := s.o.Queues.Manager.NotificationSettings(c.Request().Context(), currentUser(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// setMyNotifications takes the settings object; absent keys keep their
// values (inbox/notify decodes it and names the field at fault).
func (s *Server) setMyNotifications(c echo.Context) error {
	r := c.Request()
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "the body is too large")
		}
		return inbox.Invalid("body", "could not be read")
	}
	if !utf8.Valid(body) {
		return inbox.Invalid("body", "is not valid UTF-8")
	}
	st, err := s.o.Queues.Manager.SetNotificationSettings(r.Context(), currentUser(c), body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// notificationEvents is the caller's in-app notifications as SSE,
// resumable with Last-Event-ID (notification ids).
func (s *Server) notificationEvents(c echo.Context) error {
	m, u := s.o.Queues.Manager, currentUser(c)
	last, resuming, err := resumeID(c)
	if err != nil {
		return err
	}
	lease, err := s.staffLease(c)
	if err != nil {
		return err
	}
	defer lease.release()
	// The feed ends when the client goes or its credential is revoked.
	ctx, end := context.WithCancel(c.Request().Context())
	defer end()
	lease.bind(end)
	ch, cancel := m.SubscribeNotifications(u.ID)
	defer cancel()
	defer s.feeds.hold(FeedNotifications)()
	w := openStream(c, 2*time.Second)
	write := func(n queues.Notification) error {
		b, _ := json.Marshal(map[string]any{"id": n.ID, "kind": n.Kind, "conversation_id": n.ConversationID,
			"queue": n.Queue, "payload": json.RawMessage(n.Payload), "created_at": n.CreatedAt})
		last = n.ID
		return writeEvent(w, n.ID, "notification", b)
	}
	if resuming {
		// A replay sends at most notificationReplayCap notifications (one
		// indexed read): a client further behind is told to start afresh
		// ("reload", then it reconnects without a resume point) instead of
		// ringing for thousands of old ones.
		ns, err := m.NotificationsSince(ctx, u.ID, last, notificationReplayCap+1)
		if err != nil {
			return nil // the client reconnects and resumes
		}
		if len(ns) > notificationReplayCap {
			writeEvent(w, 0, "reload", []byte("{}"))
			return nil
		}
		for _, n := range ns {
			if err := write(n); err != nil {
				return nil
			}
		}
	}
	follow(ctx, w, s.o.Heartbeat, ch, func(n queues.Notification) error {
		if n.ID <= last {
			return nil
		}
		return write(n)
	})
	return nil
}
