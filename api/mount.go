package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/journal"
)

// A channel that serves its own clients (the website widget's visitors)
// owns its HTTP handlers; the API mounts them behind its middleware, so
// that they get its error mapping, request ids, logs, body limits and
// client addresses, and lends them the generic machinery below: JSON
// decoding, live feeds, typing notices.

// Mount adds a public route served by a channel adapter: its handler
// authenticates its own callers (visitor tokens). Mount before serving.
func (s *Server) Mount(method, path string, h echo.HandlerFunc) {
	r := Route{Method: method, Path: path, Access: Public, h: h}
	s.routes = append(s.routes, r)
	s.e.Add(r.Method, r.Path, s.guard(r))
}

// Use adds a mounted adapter's middleware (the widget's Origin check and
// CORS). It runs on every request, after the API's own middleware and
// after routing. Use before serving.
func (s *Server) Use(mw echo.MiddlewareFunc) { s.e.Use(mw) }

// DecodeJSON reads a request's JSON body into into, with the API's
// errors (400 naming the field, 413 beyond the body limit).
func (s *Server) DecodeJSON(c echo.Context, into any) error { return decodeJSON(c, into) }

// Stream serves a channel's live feed (SSE): a Last-Event-ID that is not
// an id is 400, a feed beyond its owner's cap 429 with Retry-After.
func (s *Server) Stream(c echo.Context, f adapters.Feed) error {
	if _, _, err := resumeID(c); err != nil {
		return err
	}
	encode := f.Encode
	spec := feedSpec{kind: FeedWidget, filter: f.Filter, retry: f.Retry, hello: frameOf(f.Hello), resumed: frameOf(f.Resumed),
		enc: &feedEncoding{key: "channel\x00" + f.Encoding, encode: func(e *inbox.Event) []byte {
			name, data, ok := encode(e)
			if !ok {
				return nil
			}
			return sseFrame(e.ID, name, data)
		}}}
	if f.Replay != nil {
		spec.replay = &journal.EventFilter{ConversationID: f.Replay.ConversationID, Kinds: f.Replay.Kinds}
	}
	var err error
	if f.Visitor != "" {
		spec.lease, err = s.lease(c, visitorFeedKey(f.Channel, f.Visitor), s.o.FeedsPerVisitor, 0, "")
	} else {
		// Many visitors may share an address (an office, a mobile
		// carrier): an anonymous page's feeds are counted per address
		// with the larger per-user cap.
		spec.lease, err = s.lease(c, pageFeedKey(f.Channel, c.RealIP()), s.o.FeedsPerUser, 0, "")
	}
	if err != nil {
		return err
	}
	return s.stream(c, spec)
}

func frameOf(f *adapters.FeedFrame) []byte {
	if f == nil {
		return nil
	}
	return sseFrame(0, f.Name, f.Data)
}

// PublishTyping tells the viewers of a conversation (its agents, and its
// visitor's widget) that someone is typing: a live-only event.
func (s *Server) PublishTyping(ctx context.Context, conversationID int64, payload map[string]string) error {
	conv, _, err := s.o.Reader.ConversationView(ctx, conversationID)
	if err != nil {
		return err
	}
	s.publishTyping(conv, payload)
	return nil
}

// typingRoutes: an agent's typing notice.
func (s *Server) typingRoutes() []Route {
	return []Route{{http.MethodPost, "/api/v1/conversations/:id/typing", Member, s.agentTyping}}
}

// agentTyping tells the visitor (and the other agents) that an agent is
// typing in a conversation the agent may see.
func (s *Server) agentTyping(c echo.Context) error {
	id, err := s.visibleConversation(c)
	if err != nil {
		return err
	}
	if err := s.PublishTyping(c.Request().Context(), id, map[string]string{"who": "agent", "name": currentUser(c).Name}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) publishTyping(conv *inbox.Conversation, payload map[string]string) {
	b, _ := json.Marshal(payload)
	ids := make([]int64, 0, len(conv.Participants))
	for _, p := range conv.Participants {
		ids = append(ids, p.ID)
	}
	s.o.Hub.Publish([]inbox.Event{{Kind: inbox.EventTyping, ConversationID: conv.ID, Queue: conv.Queue, Status: conv.Status,
		Participants: ids, Payload: b, CreatedAt: s.o.Clock.Now()}})
}
