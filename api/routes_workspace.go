package api

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/inbox"
)

// WorkspaceOptions wires tags and canned replies (docs/DESIGN.md).
type WorkspaceOptions struct {
	// Workspace serves the routes; nil leaves them out.
	Workspace *inbox.Workspace
}

// workspaceRoutes: /api/v1/tags, /api/v1/canned and their conversation
// routes. The object rules (who may manage, who may read) are the
// domain's (inbox.CanManageTags, inbox.CanReadCanned, ...).
func (s *Server) workspaceRoutes() []Route {
	if s.o.Workspace.Workspace == nil {
		return nil
	}
	return []Route{
		// The page checks its own access (consolePage), as the others do.
		{http.MethodGet, "/canned", Public, s.consolePage("canned", "Canned replies", false, nil)},
		{http.MethodGet, "/api/v1/tags", Member, s.tagList},
		{http.MethodPost, "/api/v1/tags", Admin, s.tagCreate},
		{http.MethodDelete, "/api/v1/tags/:id", Admin, s.tagDelete},
		{http.MethodPut, "/api/v1/conversations/:id/tags", Member, s.conversationTags},
		{http.MethodGet, "/api/v1/canned", Member, s.cannedList},
		{http.MethodPost, "/api/v1/canned", Member, s.cannedCreate},
		{http.MethodPut, "/api/v1/canned/:id", Member, s.cannedUpdate},
		{http.MethodDelete, "/api/v1/canned/:id", Member, s.cannedDelete},
		{http.MethodGet, "/api/v1/conversations/:id/canned/:canned", Member, s.cannedRender},
	}
}

func (s *Server) tagList(c echo.Context) error {
	ts, err := s.o.Workspace.Workspace.Tags(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": ts})
}

func (s *Server) tagCreate(c echo.Context) error {
	var req struct {
		Name  string `json:"name"`
		Color string `json:"color"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	t, err := s.o.Workspace.Workspace.CreateTag(c.Request().Context(), currentUser(c), req.Name, req.Color)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, t)
}

func (s *Server) tagDelete(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.o.Workspace.Workspace.DeleteTag(c.Request().Context(), currentUser(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) conversationTags(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req struct {
		Tags []string `json:"tags"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Tags == nil {
		return inbox.Invalid("tags", "is required (an empty list clears them)")
	}
	tags, err := s.o.Workspace.Workspace.SetConversationTags(c.Request().Context(), currentUser(c), id, req.Tags)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"tags": tags})
}

func (s *Server) cannedList(c echo.Context) error {
	vs, err := s.o.Workspace.Workspace.Canned(c.Request().Context(), currentUser(c), c.QueryParam("queue"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": vs})
}

// cannedBody is a canned reply as clients send it.
type cannedBody struct {
	Shortcut string  `json:"shortcut"`
	Title    string  `json:"title"`
	Text     string  `json:"text"`
	Queue    *string `json:"queue"`
	Personal bool    `json:"personal"`
}

// input returns the domain's input; "queue": "" is refused, as it is no
// queue id (null means every queue).
func (b cannedBody) input() (inbox.CannedInput, error) {
	in := inbox.CannedInput{Shortcut: b.Shortcut, Title: b.Title, Text: b.Text, Personal: b.Personal}
	if b.Queue != nil {
		if *b.Queue == "" {
			return in, inbox.Invalid("queue", "must be a queue id, or null for every queue")
		}
		in.Queue = *b.Queue
	}
	return in, nil
}

func (s *Server) cannedCreate(c echo.Context) error {
	var req cannedBody
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	in, err := req.input()
	if err != nil {
		return err
	}
	r, err := s.o.Workspace.Workspace.CreateCanned(c.Request().Context(), currentUser(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, r.View())
}

func (s *Server) cannedUpdate(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req cannedBody
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	in, err := req.input()
	if err != nil {
		return err
	}
	r, err := s.o.Workspace.Workspace.UpdateCanned(c.Request().Context(), currentUser(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r.View())
}

func (s *Server) cannedDelete(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.o.Workspace.Workspace.DeleteCanned(c.Request().Context(), currentUser(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// keepTagged narrows statistics' conversations to those carrying ?tag=
// (all of them without it).
func (s *Server) keepTagged(c echo.Context, rows []StatConversation) ([]StatConversation, error) {
	tag := c.QueryParam("tag")
	if tag == "" {
		return rows, nil
	}
	if s.o.Workspace.Workspace == nil {
		return nil, inbox.Invalid("tag", "tags are not configured")
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	tagged, err := s.o.Workspace.Workspace.TaggedAmong(c.Request().Context(), tag, ids)
	if err != nil {
		return nil, err
	}
	kept := rows[:0]
	for _, r := range rows {
		if tagged[r.ID] {
			kept = append(kept, r)
		}
	}
	return kept, nil
}

// cannedRender answers a canned reply's text filled for the conversation.
func (s *Server) cannedRender(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	cid, err := strconv.ParseInt(c.Param("canned"), 10, 64)
	if err != nil || cid <= 0 {
		return inbox.Errorf(inbox.ENotFound, "canned reply not found")
	}
	text, err := s.o.Workspace.Workspace.RenderCanned(c.Request().Context(), currentUser(c), id, cid)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"text": text})
}
