package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/journal"
)

// WidgetOptions wires the website chat widget.
type WidgetOptions struct {
	// Channels are the widget channels by id.
	Channels map[string]WidgetChannel
	Visitors WidgetVisitors
	// Ingest takes visitors' messages.
	Ingest inbox.Ingester
	// Assets holds widget.js and widget.css.
	Assets fs.FS
}

// WidgetChannel is a widget channel as its routes use it
// (adapters/widget.Channel, adapted by the daemon).
type WidgetChannel interface {
	Queue() string
	// AllowOrigin: may a page of origin use the widget (host: the
	// request's Host, for inboxd's own pages)?
	AllowOrigin(origin, host string) bool
	// AllowRequest and AllowVisitor count a request from an address and a
	// message of a visitor; a positive result is the wait (429).
	AllowRequest(ip string) time.Duration
	AllowVisitor(contactKey string) time.Duration
	// NewVisitor issues a token for an anonymous visitor (userID empty) or
	// a site user whose userHash verifies.
	NewVisitor(userID, userHash string) (token, tokenHash, contactKey string, verified bool, err error)
	HashToken(token string) string
	// Settings: language, strings, colours, position, limits (JSON).
	Settings(accept string) any
	// Inbound normalizes a visitor's message.
	Inbound(p WidgetPost) (inbox.Inbound, error)
}

// WidgetPost is a visitor's message as the routes received it.
type WidgetPost struct {
	ContactKey string
	ClientID   string
	Text       string
	Email      string
	Meta       map[string]string
}

// WidgetVisitors stores visitors (inbox/store).
type WidgetVisitors interface {
	CreateVisitor(ctx context.Context, channelID, contactKey string, verified bool, tokenHash string, now time.Time) error
	// VisitorByToken returns the contact key, "" for an unknown token.
	VisitorByToken(ctx context.Context, channelID, tokenHash string, now time.Time) (string, error)
	// VisitorConversation is the visitor's newest conversation (zeros: none).
	VisitorConversation(ctx context.Context, channelID, contactKey string) (id, number int64, err error)
}

// EventTyping is a live-only event (never stored, id 0): someone is
// typing in a conversation. Payload: {"who":"agent|visitor","name"}.
const EventTyping inbox.EventKind = "typing"

// widgetCSP is the policy of inboxd's own widget page: scripts, styles and
// calls from inboxd only, no inline code, no framing, no forms elsewhere.
const widgetCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// widgetRoutes: /widget.js, /widget/v1/:channel/visitors, messages, events.
func (s *Server) widgetRoutes() []Route {
	assets := loadWidgetAssets(s.o.Widget.Assets)
	// The origin check and CORS cover every /widget/v1/<channel>/ route,
	// also those of other features (config, contact), so that a page of
	// a site that is not allowed can use none of them, and an allowed
	// site's widget can read them all. Echo applies Use'd middleware at
	// request time, after routing, so adding it here covers every route.
	return []Route{
		{http.MethodGet, "/widget.js", Public, s.widgetAsset(assets, "widget.js")},
		{http.MethodGet, "/widget.css", Public, s.widgetAsset(assets, "widget.css")},
		{http.MethodGet, "/widget/v1/:channel/demo", Public, s.widgetDemo},
		{http.MethodOptions, "/widget/v1/:channel/*", Public, s.widget(func(c echo.Context, ch WidgetChannel) error {
			return c.NoContent(http.StatusNoContent)
		})},
		{http.MethodGet, "/widget/v1/:channel/settings", Public, s.widget(s.widgetSettings)},
		{http.MethodPost, "/widget/v1/:channel/visitors", Public, s.widget(s.widgetNewVisitor)},
		{http.MethodGet, "/widget/v1/:channel/messages", Public, s.widget(s.widgetMessages)},
		{http.MethodPost, "/widget/v1/:channel/messages", Public, s.widget(s.widgetPost)},
		{http.MethodPost, "/widget/v1/:channel/typing", Public, s.widget(s.widgetTyping)},
		{http.MethodGet, "/widget/v1/:channel/events", Public, s.widget(s.widgetEvents)},
		{http.MethodPost, "/api/v1/conversations/:id/typing", Member, s.agentTyping},
	}
}

// widgetGate checks the page's Origin on /widget/v1/<channel>/ paths of
// widget channels (403, with no CORS grant, for a site that is not
// allowed) and grants CORS to allowed ones. Other paths pass untouched.
func (s *Server) widgetGate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		rest, ok := strings.CutPrefix(r.URL.Path, "/widget/v1/")
		if !ok {
			return next(c)
		}
		id, _, _ := strings.Cut(rest, "/")
		ch, ok := s.o.Widget.Channels[id]
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

// widget wraps a widget route: the channel must be a widget channel (404)
// and the caller's address within its rate limit (429). widgetGate has
// checked the origin.
func (s *Server) widget(h func(c echo.Context, ch WidgetChannel) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		ch, ok := s.o.Widget.Channels[c.Param("channel")]
		if !ok {
			return inbox.Errorf(inbox.ENotFound, "no widget channel %q", c.Param("channel"))
		}
		if err := rateLimited(c, ch.AllowRequest(c.RealIP())); err != nil {
			return err
		}
		return h(c, ch)
	}
}

func rateLimited(c echo.Context, wait time.Duration) error {
	if wait <= 0 {
		return nil
	}
	c.Response().Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	return inbox.Errorf(inbox.ERateLimited, "too many requests, retry later")
}

func (s *Server) widgetSettings(c echo.Context, ch WidgetChannel) error {
	accept := c.QueryParam("lang")
	if accept == "" {
		accept = c.Request().Header.Get("Accept-Language")
	}
	if len(accept) > 200 {
		accept = accept[:200]
	}
	return c.JSON(http.StatusOK, ch.Settings(accept))
}

// widgetNewVisitor issues a visitor token: anonymous, or for a site user
// whose user_hash verifies (then every device of the user shares one
// contact and its conversation).
func (s *Server) widgetNewVisitor(c echo.Context, ch WidgetChannel) error {
	var in struct {
		UserID   string `json:"user_id"`
		UserHash string `json:"user_hash"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.UserID == "" && in.UserHash != "" {
		return inbox.Invalid("user_id", "is required with user_hash")
	}
	token, hash, key, verified, err := ch.NewVisitor(in.UserID, in.UserHash)
	if err != nil {
		return err
	}
	if err := s.o.Widget.Visitors.CreateVisitor(c.Request().Context(), c.Param("channel"), key, verified, hash, s.o.Clock.Now()); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"token": token, "verified": verified})
}

// widgetVisitor returns the contact key of the visitor whose token the
// request carries (Authorization: Bearer; the query's token for
// EventSource, which cannot set headers: there, no token at all is an
// anonymous page that gets mode notices only, and the key is ""). A
// token that is claimed, even empty, must be valid (401).
func (s *Server) widgetVisitor(c echo.Context, ch WidgetChannel, queryToken bool) (string, error) {
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
	key, err := s.o.Widget.Visitors.VisitorByToken(c.Request().Context(), c.Param("channel"), ch.HashToken(tok), s.o.Clock.Now())
	if err != nil {
		return "", err
	}
	if key == "" {
		return "", inbox.Errorf(inbox.EUnauthorized, "unknown visitor token: register again")
	}
	return key, nil
}

// visitorConversation resolves the visitor's own conversation. A request
// may name the conversation it means (its number, as the widget shows
// it); naming any other is not found, exactly as one that does not exist.
func (s *Server) visitorConversation(c echo.Context, key, named string) (id, number int64, err error) {
	id, number, err = s.o.Widget.Visitors.VisitorConversation(c.Request().Context(), c.Param("channel"), key)
	if err != nil {
		return 0, 0, err
	}
	if named != "" && named != strconv.FormatInt(number, 10) {
		return 0, 0, inbox.Errorf(inbox.ENotFound, "conversation not found")
	}
	return id, number, nil
}

// visitorMessage is a message as a visitor sees it: never internal
// fields (delivery, errors, agent ids, attachments' storage).
type visitorMessage struct {
	ID        int64     `json:"id"`
	Direction string    `json:"direction"`
	Text      string    `json:"text"`
	Author    string    `json:"author,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ClientID  string    `json:"client_id,omitempty"`
}

func toVisitorMessage(m *inbox.Message) visitorMessage {
	v := visitorMessage{ID: m.ID, Direction: string(m.Direction), Text: m.Text, CreatedAt: m.CreatedAt}
	if m.Direction == inbox.DirectionOut {
		v.Author = m.AuthorName
	} else if i := strings.LastIndexByte(m.ExternalID, '/'); i >= 0 {
		v.ClientID = m.ExternalID[i+1:]
	}
	return v
}

const widgetPage = 200

func (s *Server) widgetMessages(c echo.Context, ch WidgetChannel) error {
	key, err := s.widgetVisitor(c, ch, false)
	if err != nil {
		return err
	}
	after, err := queryInt(c, "after")
	if err != nil {
		return err
	}
	id, number, err := s.visitorConversation(c, key, c.QueryParam("conversation"))
	if err != nil {
		return err
	}
	out := struct {
		Conversation int64            `json:"conversation,omitempty"`
		Items        []visitorMessage `json:"items"`
		NextCursor   string           `json:"next_cursor"`
	}{Conversation: number, Items: []visitorMessage{}}
	if id == 0 {
		return c.JSON(http.StatusOK, out)
	}
	ms, err := s.o.Reader.Messages(c.Request().Context(), id, after, widgetPage)
	if err != nil {
		return err
	}
	for i := range ms {
		out.Items = append(out.Items, toVisitorMessage(&ms[i]))
	}
	if len(ms) == widgetPage {
		out.NextCursor = strconv.FormatInt(ms[len(ms)-1].ID, 10)
	}
	return c.JSON(http.StatusOK, out)
}

// maxUserAgent bounds the browser string recorded on the contact.
const maxUserAgent = 300

// widgetPost takes a visitor's message. Resending the same client_id
// returns the stored message (200) instead of storing it again (201).
func (s *Server) widgetPost(c echo.Context, ch WidgetChannel) error {
	key, err := s.widgetVisitor(c, ch, false)
	if err != nil {
		return err
	}
	if err := rateLimited(c, ch.AllowVisitor(key)); err != nil {
		return err
	}
	var in struct {
		ClientID     string `json:"client_id"`
		Text         string `json:"text"`
		Email        string `json:"email"`
		PageURL      string `json:"page_url"`
		Referrer     string `json:"referrer"`
		Language     string `json:"language"`
		Conversation string `json:"conversation"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if _, _, err := s.visitorConversation(c, key, in.Conversation); err != nil {
		return err
	}
	ua := c.Request().UserAgent()
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	msg, err := ch.Inbound(WidgetPost{ContactKey: key, ClientID: in.ClientID, Text: in.Text, Email: in.Email,
		Meta: map[string]string{"page_url": in.PageURL, "referrer": in.Referrer, "browser": ua, "language": in.Language}})
	if err != nil {
		return err
	}
	res, err := s.o.Widget.Ingest.Ingest(c.Request().Context(), msg)
	if err != nil {
		return err
	}
	_, number, err := s.o.Widget.Visitors.VisitorConversation(c.Request().Context(), c.Param("channel"), key)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	return c.JSON(status, map[string]any{
		"conversation": number,
		"message": visitorMessage{ID: res.MessageID, Direction: string(inbox.DirectionIn), Text: msg.Text,
			CreatedAt: s.o.Clock.Now(), ClientID: in.ClientID},
	})
}

// widgetTyping tells the agents of the visitor's conversation that the
// visitor is typing (a live-only event).
func (s *Server) widgetTyping(c echo.Context, ch WidgetChannel) error {
	key, err := s.widgetVisitor(c, ch, false)
	if err != nil {
		return err
	}
	if err := rateLimited(c, ch.AllowVisitor(key)); err != nil {
		return err
	}
	id, _, err := s.visitorConversation(c, key, "")
	if err != nil {
		return err
	}
	if id == 0 {
		return c.NoContent(http.StatusNoContent) // nobody to tell before the first message
	}
	conv, _, err := s.o.Reader.ConversationView(c.Request().Context(), id)
	if err != nil {
		return err
	}
	s.publishTyping(conv, map[string]string{"who": "visitor"})
	return c.NoContent(http.StatusNoContent)
}

// agentTyping tells the visitor (and the other agents) that an agent is
// typing in a conversation the agent may see.
func (s *Server) agentTyping(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	u := currentUser(c)
	if _, err := s.o.Journal.Conversation(c.Request().Context(), u, id); err != nil {
		return err
	}
	conv, _, err := s.o.Reader.ConversationView(c.Request().Context(), id)
	if err != nil {
		return err
	}
	s.publishTyping(conv, map[string]string{"who": "agent", "name": u.Name})
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) publishTyping(conv *inbox.Conversation, payload map[string]string) {
	b, _ := json.Marshal(payload)
	ids := make([]int64, 0, len(conv.Participants))
	for _, p := range conv.Participants {
		ids = append(ids, p.ID)
	}
	s.o.Hub.Publish([]inbox.Event{{Kind: EventTyping, ConversationID: conv.ID, Queue: conv.Queue, Status: conv.Status,
		Participants: ids, Payload: b, CreatedAt: s.o.Clock.Now()}})
}

// isModeEvent reports whether e may change what the widget of queue shows:
// its queue opened or closed, the global switch flipped, agents' presence.
func isModeEvent(e *inbox.Event, queue string) bool {
	k := string(e.Kind)
	return (strings.HasPrefix(k, "queue.") || strings.HasPrefix(k, "presence.")) && (e.Queue == queue || e.Queue == "")
}

// widgetEvents is the visitor's live feed: its conversation's messages
// (as visitorMessage), agents typing, and "mode" notices telling the
// widget to fetch /config again. A visitor's feed (?token=, which must be
// valid: 401 otherwise) resumes after Last-Event-ID with its own
// conversation's messages, read by the conversation's index. A page
// without a token gets mode notices only, and resumes with one mode
// notice, without reading the events table. The widget reconnects when
// its conversation changes (its first message, or a new conversation
// after the reopen window).
func (s *Server) widgetEvents(c echo.Context, ch WidgetChannel) error {
	key, err := s.widgetVisitor(c, ch, true)
	if err != nil {
		return err
	}
	if _, _, err := resumeID(c); err != nil {
		return err
	}
	var convID, number int64
	if key != "" {
		if convID, number, err = s.visitorConversation(c, key, ""); err != nil {
			return err
		}
	}
	queue := ch.Queue()
	filter := func(e *inbox.Event) bool {
		if isModeEvent(e, queue) {
			return true
		}
		if convID == 0 || e.ConversationID != convID {
			return false
		}
		return e.Kind == inbox.EventMessageCreated || e.Kind == inbox.EventMessageUpdated || e.Kind == EventTyping
	}
	// Whatever mode changes a resuming widget missed, one notice makes it
	// fetch /config again; its conversation's messages are replayed.
	spec := feedSpec{kind: FeedWidget, filter: filter, enc: visitorFrames(queue), retry: 3 * time.Second,
		resumed: sseFrame(0, "mode", []byte("{}"))}
	if convID != 0 {
		spec.replay = &journal.EventFilter{ConversationID: convID,
			Kinds: []inbox.EventKind{inbox.EventMessageCreated, inbox.EventMessageUpdated}}
	}
	// ready names the conversation this feed follows: the widget
	// reconnects when its own number differs (its first message).
	spec.hello = sseFrame(0, "ready", []byte(fmt.Sprintf(`{"conversation":%d}`, number)))
	if key != "" {
		spec.lease, err = s.lease(c, visitorFeedKey(c.Param("channel"), key), s.o.FeedsPerVisitor, 0, "")
	} else {
		// Many visitors may share an address (an office, a mobile
		// carrier): an anonymous page's feeds are counted per address
		// with the larger per-user cap.
		spec.lease, err = s.lease(c, pageFeedKey(c.Param("channel"), c.RealIP()), s.o.FeedsPerUser, 0, "")
	}
	if err != nil {
		return err
	}
	return s.stream(c, spec)
}

// visitorFrames is what the visitors of queue's widgets are sent.
func visitorFrames(queue string) *feedEncoding {
	return &feedEncoding{key: "widget\x00" + queue, encode: func(e *inbox.Event) []byte {
		name, data, ok := visitorEvent(e, queue)
		if !ok {
			return nil
		}
		return sseFrame(e.ID, name, data)
	}}
}

// visitorEvent turns a journal event into what the visitor may see.
func visitorEvent(e *inbox.Event, queue string) (name string, data []byte, ok bool) {
	switch {
	case isModeEvent(e, queue):
		return "mode", []byte("{}"), true
	case e.Kind == EventTyping:
		var p struct{ Who, Name string }
		if json.Unmarshal(e.Payload, &p) != nil || p.Who != "agent" {
			return "", nil, false
		}
		data, _ = json.Marshal(map[string]string{"name": p.Name})
		return "typing", data, true
	case e.Kind == inbox.EventMessageCreated || e.Kind == inbox.EventMessageUpdated:
		var m inbox.MessageView
		if json.Unmarshal(e.Payload, &m) != nil {
			return "", nil, false
		}
		v := visitorMessage{ID: m.ID, Direction: string(m.Direction), Text: m.Text, CreatedAt: m.CreatedAt}
		if m.Direction == inbox.DirectionOut && m.Author != nil {
			v.Author = m.Author.Name
		}
		data, _ = json.Marshal(v)
		return "message", data, true
	}
	return "", nil, false
}

// widgetAsset is a file served with its gzip form precomputed.
type widgetAsset struct {
	body, gz []byte
	ctype    string
}

func loadWidgetAssets(fsys fs.FS) map[string]widgetAsset {
	out := map[string]widgetAsset{}
	if fsys == nil {
		return out
	}
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	for _, name := range []string{"widget.js", "widget.css"} {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			continue
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		out[name] = widgetAsset{body: b, gz: gz.Bytes(), ctype: types[path.Ext(name)]}
	}
	return out
}

func (a widgetAsset) serve(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Content-Type", a.ctype)
	h.Add("Vary", "Accept-Encoding")
	if strings.Contains(c.Request().Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		return c.Blob(http.StatusOK, a.ctype, a.gz)
	}
	return c.Blob(http.StatusOK, a.ctype, a.body)
}

func (s *Server) widgetAsset(assets map[string]widgetAsset, name string) echo.HandlerFunc {
	return func(c echo.Context) error {
		a, ok := assets[name]
		if !ok {
			return inbox.Errorf(inbox.ENotFound, "the widget is not built into this inboxd")
		}
		h := c.Response().Header()
		// Any site may load the script; what it may do is checked per call.
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		h.Set("Cache-Control", "public, max-age=300")
		return a.serve(c)
	}
}

var demoPage = template.Must(template.New("demo").Parse(
	`<!doctype html><html lang="en"><head><meta charset="utf-8">` +
		`<meta name="viewport" content="width=device-width, initial-scale=1">` +
		`<title>{{.Channel}} · inboxd widget</title></head><body>` +
		`<h1>inboxd widget: {{.Channel}}</h1><p>This page embeds the widget of channel <code>{{.Channel}}</code> with:</p>` +
		`<textarea readonly rows="3" cols="36" aria-label="The snippet">` +
		`<script src="{{.Base}}/widget.js" data-channel="{{.Channel}}" async></script></textarea>` +
		`<script src="/widget.js" data-channel="{{.Channel}}" async></script></body></html>`))

// widgetDemo is a page of inboxd that embeds a channel's widget: to try
// it, and for the browser tests. Its policy allows inboxd's own files only.
func (s *Server) widgetDemo(c echo.Context) error {
	id := c.Param("channel")
	if _, ok := s.o.Widget.Channels[id]; !ok {
		return inbox.Errorf(inbox.ENotFound, "no widget channel %q", id)
	}
	var b bytes.Buffer
	data := struct{ Channel, Base string }{id, c.Scheme() + "://" + c.Request().Host}
	if err := demoPage.Execute(&b, data); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", widgetCSP)
	h.Set("Cache-Control", "no-store")
	return c.HTMLBlob(http.StatusOK, b.Bytes())
}
