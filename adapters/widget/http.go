package widget

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
)

// Visitors stores visitors (inbox/store).
type Visitors interface {
	CreateVisitor(ctx context.Context, channelID, contactKey string, verified bool, tokenHash string, now time.Time) error
	// VisitorByToken returns the contact key, "" for an unknown token.
	VisitorByToken(ctx context.Context, channelID, tokenHash string, now time.Time) (string, error)
	// VisitorConversation is the visitor's newest conversation (zeros: none).
	VisitorConversation(ctx context.Context, channelID, contactKey string) (id, number int64, err error)
}

// Messages reads a conversation's messages, oldest first, after an id.
type Messages interface {
	Messages(ctx context.Context, conversationID, afterID int64, limit int) ([]inbox.Message, error)
}

// Host is what the widget's handlers borrow from the API that mounts them
// (package api): its JSON decoding and errors, its live feeds, its typing
// notices.
type Host interface {
	// DecodeJSON reads the request's JSON body (400 naming the field, 413).
	DecodeJSON(c echo.Context, into any) error
	// Stream serves a live feed over SSE.
	Stream(c echo.Context, f adapters.Feed) error
	// PublishTyping tells a conversation's viewers someone is typing.
	PublishTyping(ctx context.Context, conversationID int64, payload map[string]string) error
}

// HTTPOptions wires the widget's HTTP.
type HTTPOptions struct {
	// Channels are the widget channels by id.
	Channels map[string]*Channel
	Visitors Visitors
	// Ingest takes visitors' messages.
	Ingest   inbox.Ingester
	Messages Messages
	// Queues serve /config and /contact (nil: those routes are left out).
	Queues Queues
	// ContactRate and ContactBurst limit contact forms per client address
	// (defaults: DefaultContactRate, DefaultContactBurst).
	ContactRate  rate.Limit
	ContactBurst int
	Host         Host
	Clock        inbox.Clock
}

// HTTP serves the widget's routes: its files, the demo page, and the
// visitors' API under /widget/v1/<channel>/.
type HTTP struct {
	o        HTTPOptions
	assets   map[string]asset
	contacts *ipLimiter
}

// NewHTTP builds the widget's handlers.
func NewHTTP(o HTTPOptions) *HTTP {
	if o.Clock == nil {
		o.Clock = inbox.SystemClock{}
	}
	if o.ContactRate == 0 {
		o.ContactRate = DefaultContactRate
	}
	if o.ContactBurst == 0 {
		o.ContactBurst = DefaultContactBurst
	}
	return &HTTP{o: o, assets: loadAssets(Assets),
		contacts: &ipLimiter{every: o.ContactRate, burst: o.ContactBurst, m: map[string]*rate.Limiter{}}}
}

// Route is one of the widget's routes; every one is public (visitors
// authenticate with their token where a route needs it).
type Route struct {
	Method, Path string
	Handler      echo.HandlerFunc
}

// Routes are the widget's routes: /widget.js, /widget.css, the demo page,
// /widget/v1/:channel/settings, visitors, messages, typing and events, and
// with Queues, config and contact.
func (h *HTTP) Routes() []Route {
	rs := []Route{
		{http.MethodGet, "/widget.js", h.asset("widget.js")},
		{http.MethodGet, "/widget.css", h.asset("widget.css")},
		{http.MethodGet, "/widget/v1/:channel/demo", h.demo},
		{http.MethodOptions, "/widget/v1/:channel/*", h.widget(func(c echo.Context, ch *Channel) error {
			return c.NoContent(http.StatusNoContent)
		})},
		{http.MethodGet, "/widget/v1/:channel/settings", h.widget(h.settings)},
		{http.MethodPost, "/widget/v1/:channel/visitors", h.widget(h.newVisitor)},
		{http.MethodGet, "/widget/v1/:channel/messages", h.widget(h.messages)},
		{http.MethodPost, "/widget/v1/:channel/messages", h.widget(h.post)},
		{http.MethodPost, "/widget/v1/:channel/typing", h.widget(h.typing)},
		{http.MethodGet, "/widget/v1/:channel/events", h.widget(h.events)},
	}
	if h.o.Queues != nil {
		// The queue decides these, for any channel it serves a widget
		// on; they are not counted against the widget's request limit.
		rs = append(rs, Route{http.MethodGet, "/widget/v1/:channel/config", h.config},
			Route{http.MethodPost, "/widget/v1/:channel/contact", h.contact})
	}
	return rs
}

// Gate is middleware that checks the page's Origin on /widget/v1/<channel>/
// paths of widget channels (403, with no CORS grant, for a site that is
// not allowed) and grants CORS to allowed ones. It covers every route
// under the prefix, also those of other features (the queues' config and
// contact form), so that a page of a site that is not allowed can use none
// of them, and an allowed site's widget can read them all. Other paths
// pass untouched.
func (h *HTTP) Gate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		rest, ok := strings.CutPrefix(r.URL.Path, "/widget/v1/")
		if !ok {
			return next(c)
		}
		id, _, _ := strings.Cut(rest, "/")
		ch, ok := h.o.Channels[id]
		if !ok {
			return next(c) // not a widget channel: the route answers 404
		}
		origin := r.Header.Get("Origin")
		if !ch.AllowOrigin(origin, r.Host) {
			return inbox.Errorf(inbox.EForbidden, "this site may not use the widget: add its origin to allowed_origins")
		}
		hd := c.Response().Header()
		hd.Add("Vary", "Origin")
		if origin != "" {
			hd.Set("Access-Control-Allow-Origin", origin)
			hd.Set("Access-Control-Allow-Methods", "GET, POST")
			hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID")
			hd.Set("Access-Control-Expose-Headers", "Retry-After")
			hd.Set("Access-Control-Max-Age", "600")
		}
		return next(c)
	}
}

// widget wraps a visitors' route: the channel must be a widget channel
// (404) and the caller's address within its rate limit (429). Gate has
// checked the origin.
func (h *HTTP) widget(next func(c echo.Context, ch *Channel) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		ch, ok := h.o.Channels[c.Param("channel")]
		if !ok {
			return inbox.Errorf(inbox.ENotFound, "no widget channel %q", c.Param("channel"))
		}
		if err := rateLimited(c, ch.AllowRequest(c.RealIP())); err != nil {
			return err
		}
		return next(c, ch)
	}
}

func rateLimited(c echo.Context, wait time.Duration) error {
	if wait <= 0 {
		return nil
	}
	c.Response().Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	return inbox.Errorf(inbox.ERateLimited, "too many requests, retry later")
}

func (h *HTTP) settings(c echo.Context, ch *Channel) error {
	accept := c.QueryParam("lang")
	if accept == "" {
		accept = c.Request().Header.Get("Accept-Language")
	}
	if len(accept) > 200 {
		accept = accept[:200]
	}
	return c.JSON(http.StatusOK, ch.Settings(accept))
}

// newVisitor issues a visitor token: anonymous, or for a site user whose
// user_hash verifies (then every device of the user shares one contact
// and its conversation).
func (h *HTTP) newVisitor(c echo.Context, ch *Channel) error {
	var in struct {
		UserID   string `json:"user_id"`
		UserHash string `json:"user_hash"`
	}
	if err := h.o.Host.DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.UserID == "" && in.UserHash != "" {
		return inbox.Invalid("user_id", "is required with user_hash")
	}
	token, hash, key, verified, err := ch.NewVisitor(in.UserID, in.UserHash)
	if err != nil {
		return err
	}
	if err := h.o.Visitors.CreateVisitor(c.Request().Context(), ch.ID(), key, verified, hash, h.o.Clock.Now()); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"token": token, "verified": verified})
}

// visitor returns the contact key of the visitor whose token the request
// carries (Authorization: Bearer; the query's token for EventSource,
// which cannot set headers: there, no token at all is an anonymous page
// that gets mode notices only, and the key is ""). A token that is
// claimed, even empty, must be valid (401).
func (h *HTTP) visitor(c echo.Context, ch *Channel, queryToken bool) (string, error) {
	tok := bearer(c)
	if tok == "" && queryToken {
		tok = c.QueryParam("token")
		if tok == "" && !c.QueryParams().Has("token") && c.Request().Header.Get("Authorization") == "" {
			return "", nil // the feed's anonymous form: mode notices only
		}
	}
	if tok == "" || len(tok) > 200 {
		return "", inbox.Errorf(inbox.EUnauthorized, "a visitor token is required")
	}
	key, err := h.o.Visitors.VisitorByToken(c.Request().Context(), ch.ID(), HashToken(tok), h.o.Clock.Now())
	if err != nil {
		return "", err
	}
	if key == "" {
		return "", inbox.Errorf(inbox.EUnauthorized, "unknown visitor token: register again")
	}
	return key, nil
}

func bearer(c echo.Context) string {
	v := c.Request().Header.Get("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

// conversation resolves the visitor's own conversation. A request may
// name the conversation it means (its number, as the widget shows it);
// naming any other is not found, exactly as one that does not exist.
func (h *HTTP) conversation(ctx context.Context, ch *Channel, key, named string) (id, number int64, err error) {
	id, number, err = h.o.Visitors.VisitorConversation(ctx, ch.ID(), key)
	if err != nil {
		return 0, 0, err
	}
	if named != "" && named != strconv.FormatInt(number, 10) {
		return 0, 0, inbox.Errorf(inbox.ENotFound, "conversation not found")
	}
	return id, number, nil
}
