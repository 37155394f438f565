package widget

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/queues"
)

// Queues is what the widget shows and takes when its queue is not live
// (inbox/queues): the mode, hours and messages of a channel's queue, and
// the contact form.
type Queues interface {
	Widget(ctx context.Context, channelID string) (queues.WidgetConfig, error)
	SubmitContact(ctx context.Context, channelID string, f queues.ContactForm) (queues.Contact, error)
}

// Defaults of the contact form's limit per client address.
const (
	DefaultContactRate  = rate.Limit(1.0 / 60) // one a minute
	DefaultContactBurst = 10
)

// config is what the channel's widget shows now: live chat, the contact
// form, an offline message, or nothing.
func (h *HTTP) config(c echo.Context) error {
	wc, err := h.o.Queues.Widget(c.Request().Context(), c.Param("channel"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, wc)
}

// contact takes a contact form (a conversation of its own).
func (h *HTTP) contact(c echo.Context) error {
	if _, err := h.o.Queues.Widget(c.Request().Context(), c.Param("channel")); err != nil {
		return err // unknown channels are not found before anything is counted
	}
	if wait, ok := h.contacts.allow(c.RealIP(), h.o.Clock.Now()); !ok {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return inbox.Errorf(inbox.ERateLimited, "too many contact forms from this address; retry later")
	}
	var form queues.ContactForm
	if err := h.o.Host.DecodeJSON(c, &form); err != nil {
		return err
	}
	ct, err := h.o.Queues.SubmitContact(c.Request().Context(), c.Param("channel"), form)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"id": ct.ID, "conversation_id": ct.ConversationID})
}

// ipLimiter is a token bucket per client IP.
type ipLimiter struct {
	every rate.Limit
	burst int
	mu    sync.Mutex
	m     map[string]*rate.Limiter
}

// maxTrackedIPs bounds the limiter's memory; beyond it, buckets that have
// refilled are forgotten (they would allow a full burst anyway).
const maxTrackedIPs = 10000

// allow takes a token for ip at now, or says how long until one is free.
func (l *ipLimiter) allow(ip string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.m[ip]
	if !ok {
		if len(l.m) >= maxTrackedIPs {
			for k, v := range l.m {
				if v.TokensAt(now) >= float64(l.burst) {
					delete(l.m, k)
				}
			}
		}
		lim = rate.NewLimiter(l.every, l.burst)
		l.m[ip] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}
