package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/inbox"
)

// AssignService is the write side of assignment and private notes.
type AssignService interface {
	Assign(ctx context.Context, actor *inbox.User, conversationID int64, r inbox.AssignRequest) (*inbox.Conversation, error)
	AddNote(ctx context.Context, actor *inbox.User, conversationID int64, r inbox.NoteRequest) (*inbox.Message, error)
}

// Colleagues lists every user (deactivated ones marked), for the pickers.
type Colleagues interface {
	Colleagues(ctx context.Context) ([]inbox.User, error)
}

// AssignOptions wires assignment, transfer and private notes.
type AssignOptions struct {
	// Service serves the routes; nil leaves them out.
	Service    AssignService
	Colleagues Colleagues
	// Queues are the configured queues, the targets of a transfer.
	Queues []QueueRef
}

// QueueRef names a queue as the assign picker shows it.
type QueueRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// assignRoutes: assign/transfer, notes and the candidates of both.
func (s *Server) assignRoutes() []Route {
	if s.o.Assign.Service == nil {
		return nil
	}
	return []Route{
		{http.MethodPost, "/api/v1/conversations/:id/assign", Member, s.assign},
		{http.MethodPost, "/api/v1/conversations/:id/notes", Member, s.addNote},
		{http.MethodGet, "/api/v1/conversations/:id/assignees", Member, s.assignees},
	}
}

// assign answers the conversation's new summary: after a transfer the
// caller may no longer see it.
func (s *Server) assign(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req inbox.AssignRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	conv, err := s.o.Assign.Service.Assign(c.Request().Context(), currentUser(c), id, req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.o.Service.Summary(conv))
}

func (s *Server) addNote(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req inbox.NoteRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Mentions) > 4*inbox.MaxMentions {
		return inbox.Invalid("mentions", "at most %d colleagues per note", inbox.MaxMentions)
	}
	m, err := s.o.Assign.Service.AddNote(c.Request().Context(), currentUser(c), id, req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, m.View())
}

// assigneeView is a colleague as the pickers show it.
type assigneeView struct {
	ID       int64          `json:"id"`
	Name     string         `json:"name"`
	Presence inbox.Presence `json:"presence"`
	// Assignable: may be given this conversation (active, serves its queue).
	Assignable bool `json:"assignable"`
	// Mentionable: may be mentioned in a note on it (active, may act on it).
	Mentionable bool `json:"mentionable"`
}

// assignees lists, for a conversation the caller sees, the colleagues it
// may be handed to or who may be mentioned, and the other queues it may
// be transferred to. Deactivated users are left out.
func (s *Server) assignees(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	d, err := s.o.Journal.Conversation(ctx, currentUser(c), id)
	if err != nil {
		return err
	}
	conv := &inbox.Conversation{ID: d.ID, Queue: d.Queue, Status: d.Status, Participants: d.Participants}
	us, err := s.o.Assign.Colleagues.Colleagues(ctx)
	if err != nil {
		return err
	}
	out := struct {
		Users  []assigneeView `json:"users"`
		Queues []QueueRef     `json:"queues"`
	}{Users: []assigneeView{}, Queues: []QueueRef{}}
	for i := range us {
		u := &us[i]
		if u.Deactivated {
			continue
		}
		v := assigneeView{ID: u.ID, Name: u.Name, Presence: u.Presence,
			Assignable: inbox.Assignable(u, conv.Queue) == nil, Mentionable: inbox.CanMention(u, conv) == nil}
		if v.Assignable || v.Mentionable {
			out.Users = append(out.Users, v)
		}
	}
	for _, q := range s.o.Assign.Queues {
		if q.ID != conv.Queue {
			out.Queues = append(out.Queues, q)
		}
	}
	return c.JSON(http.StatusOK, out)
}
