package api

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/journal"
)

func (s *Server) me(c echo.Context) error {
	return c.JSON(http.StatusOK, userView(currentUser(c)))
}

func (s *Server) setStatus(c echo.Context) error {
	var req struct {
		Status inbox.Presence `json:"status"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if !req.Status.Valid() {
		return inbox.Invalid("status", "must be online, offline or invisible")
	}
	u := currentUser(c)
	if err := s.o.Users.SetPresence(c.Request().Context(), u.ID, req.Status); err != nil {
		return err
	}
	u.Presence = req.Status
	return c.JSON(http.StatusOK, userView(u))
}

// listQuery reads the journal's filters and page parameters.
func listQuery(c echo.Context, viewer *inbox.User, scope journal.Scope) (journal.Query, error) {
	q := journal.Query{Viewer: viewer, Scope: scope, Status: inbox.Status(c.QueryParam("status")),
		ChannelID: c.QueryParam("channel"), Tag: c.QueryParam("tag"), Text: c.QueryParam("q")}
	agent, err := queryInt(c, "agent")
	if err != nil {
		return q, err
	}
	limit, err := queryInt(c, "limit")
	if err != nil {
		return q, err
	}
	q.AgentID, q.Limit = agent, int(min(limit, 1<<20))
	if cur := c.QueryParam("cursor"); cur != "" {
		k, err := journal.DecodeCursor(cur)
		if err != nil {
			return q, err
		}
		q.After = &k
	}
	return q, nil
}

func (s *Server) journalList(c echo.Context) error {
	return s.list(c, journal.ScopeAll)
}

func (s *Server) conversations(c echo.Context) error {
	scope := journal.Scope(c.QueryParam("view"))
	switch scope {
	case "":
		scope = journal.ScopeMine
	case journal.ScopeMine, journal.ScopeQueue:
	default:
		return inbox.Invalid("view", "must be mine or queue")
	}
	return s.list(c, scope)
}

// list answers a page of conversations in scope for the caller.
func (s *Server) list(c echo.Context, scope journal.Scope) error {
	q, err := listQuery(c, currentUser(c), scope)
	if err != nil {
		return err
	}
	p, err := s.o.Journal.List(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (s *Server) conversation(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	d, err := s.o.Journal.Conversation(c.Request().Context(), currentUser(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (s *Server) messages(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit")
	if err != nil {
		return err
	}
	p, err := s.o.Journal.Messages(c.Request().Context(), currentUser(c), id, c.QueryParam("cursor"), int(min(limit, 1<<20)))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (s *Server) reply(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req struct {
		Text string `json:"text"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	m, err := s.o.Service.Reply(c.Request().Context(), currentUser(c), id, req.Text)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, m.View())
}

func (s *Server) act(a inbox.Action) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		conv, err := s.o.Service.Act(c.Request().Context(), currentUser(c), id, a)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, journal.Item{ConversationSummary: s.o.Service.Summary(conv)})
	}
}

func (s *Server) retry(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	m, err := s.o.Service.RetryFailed(c.Request().Context(), currentUser(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m.View())
}

func (s *Server) activity(c echo.Context) error {
	before, err := queryInt(c, "before")
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit")
	if err != nil {
		return err
	}
	acts, err := s.o.Journal.Activity(c.Request().Context(), currentUser(c), c.QueryParam("queue"), before, int(min(limit, 1<<20)))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": acts})
}

func (s *Server) channelList(c echo.Context) error {
	items := make([]ChannelStatus, 0, len(s.o.Channels))
	for _, ch := range s.o.Channels {
		st := ChannelStatus{ID: ch.ID, Kind: ch.Kind, Name: ch.Name, Queue: ch.Queue, Healthy: true}
		if h, ok := s.o.Health[ch.ID]; ok {
			if err := h.Health(); err != nil {
				st.Healthy, st.Error = false, err.Error()
			}
		}
		items = append(items, st)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// inlineTypes may be shown in the browser; anything else downloads.
var inlineTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// activeType: may a browser run content of this type as a page?
func activeType(ctype string) bool {
	mt := strings.ToLower(strings.TrimSpace(strings.Split(ctype, ";")[0]))
	return strings.Contains(mt, "html") || strings.Contains(mt, "xml") || strings.Contains(mt, "javascript") ||
		strings.Contains(mt, "svg")
}

// attachment serves a file. Its type is sniffed, never taken from the
// sender, and a sandbox CSP keeps it from running script even if opened.
func (s *Server) attachment(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	a, channelID, err := s.o.Journal.Attachment(ctx, currentUser(c), id)
	if err != nil {
		return err
	}
	var body io.Reader
	if a.Data != nil {
		body = bytes.NewReader(a.Data)
	} else if f, ok := s.o.Fetchers[channelID]; ok && a.ProviderRef != "" {
		rc, _, err := f.FetchAttachment(ctx, a.ProviderRef)
		if err != nil {
			return err
		}
		defer rc.Close()
		body = rc
	} else {
		return inbox.Errorf(inbox.ENotFound, "the file is not stored")
	}
	head := make([]byte, 512)
	n, _ := io.ReadFull(body, head)
	ctype := http.DetectContentType(head[:n])
	if activeType(ctype) {
		// A browser would render HTML or XML (SVG) as a document of this
		// origin if someone opened the file outside the sandbox: serve
		// its bytes as plain text.
		ctype = "text/plain; charset=utf-8"
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	disp := "attachment"
	if inlineTypes[strings.Split(ctype, ";")[0]] {
		disp = "inline"
	}
	name := strings.Map(func(r rune) rune {
		if r < 0x20 || r == '"' || r == '\\' || r == 0x7f {
			return '_'
		}
		return r
	}, a.Name)
	if name == "" {
		name = "attachment-" + strconv.FormatInt(a.ID, 10)
	}
	h.Set("Content-Disposition", disp+`; filename="`+name+`"`)
	return c.Stream(http.StatusOK, ctype, io.MultiReader(bytes.NewReader(head[:n]), body))
}

// hookPath is the path segment a channel kind's webhooks use.
func hookPath(kind string) string {
	if kind == "messenger" || kind == "instagram" {
		return "meta"
	}
	return kind
}

// hook hands a provider webhook to its channel, which verifies it.
func (s *Server) hook(c echo.Context) error {
	ch, ok := s.channels[c.Param("channel")]
	h, isHook := s.o.Hooks[c.Param("channel")]
	if !ok || !isHook || hookPath(ch.Kind) != c.Param("kind") {
		return inbox.Errorf(inbox.ENotFound, "no such webhook")
	}
	// Every refusal a webhook answers is counted here, once, for every
	// channel kind: the service leaves the counting of these requests' refusals to
	// this boundary, which also sees those no service call did (signature,
	// body, payload).
	r := c.Request().WithContext(inbox.WithRejectsCounted(c.Request().Context()))
	// The hook sees the client's address as trusted_proxies decide it,
	// not the socket's (a proxy's, behind one).
	r.RemoteAddr = c.RealIP()
	h.ServeHTTP(c.Response(), r)
	if st := c.Response().Status; st >= 400 {
		s.o.Ingest.Rejected(ch.ID, hookRejectReason(st))
	}
	return nil
}

// hookRejectReason is the error code a webhook's refusal is counted under,
// from its status (the inverse of the one mapping, errors.go).
func hookRejectReason(status int) string {
	if code, ok := codeOf[status]; ok {
		return code
	}
	if status >= 500 {
		return inbox.EInternal
	}
	return inbox.EInvalid
}
