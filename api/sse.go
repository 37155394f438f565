package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/journal"
)

// feedEvent is the data of one SSE message.
type feedEvent struct {
	ID             int64           `json:"id"`
	Kind           inbox.EventKind `json:"kind"`
	ConversationID int64           `json:"conversation_id"`
	Payload        json.RawMessage `json:"payload"`
}

func (s *Server) journalEvents(c echo.Context) error {
	u := currentUser(c)
	return s.stream(c, func(e *inbox.Event) bool { return e.Visible(u) })
}

func (s *Server) conversationEvents(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	u := currentUser(c)
	if _, err := s.o.Journal.Conversation(c.Request().Context(), u, id); err != nil {
		return err
	}
	return s.stream(c, func(e *inbox.Event) bool { return e.ConversationID == id && e.Visible(u) })
}

// stream writes the live feed: first what the client missed since
// Last-Event-ID (from the events table), then live events, skipping any
// the replay already sent. A client dropped for lagging reconnects with
// its last id and loses nothing.
func (s *Server) stream(c echo.Context, filter func(*inbox.Event) bool) error {
	var last int64
	resume := c.Request().Header.Get("Last-Event-ID")
	if resume == "" {
		resume = c.QueryParam("last_event_id")
	}
	if resume != "" {
		n, err := strconv.ParseInt(resume, 10, 64)
		if err != nil || n < 0 {
			return inbox.Invalid("Last-Event-ID", "must be an event id")
		}
		last = n
	}
	sub := s.o.Hub.Subscribe(filter)
	defer sub.Close()

	w := c.Response()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	w.Flush()

	ctx := c.Request().Context()
	write := func(e inbox.Event) error {
		b, _ := json.Marshal(feedEvent{ID: e.ID, Kind: e.Kind, ConversationID: e.ConversationID, Payload: e.Payload})
		id := ""
		if e.ID > 0 {
			id = "id: " + strconv.FormatInt(e.ID, 10) + "\n"
		}
		if _, err := fmt.Fprintf(w, "%sevent: %s\ndata: %s\n\n", id, e.Kind, b); err != nil {
			return err
		}
		w.Flush()
		return nil
	}
	if resume != "" {
		var err error
		last, err = journal.Replay(ctx, s.o.Reader, last, filter, write)
		if err != nil {
			return nil // the client reconnects and resumes
		}
	}
	tick := time.NewTicker(s.o.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return nil
			}
			w.Flush()
		case e, ok := <-sub.C:
			if !ok {
				return nil // dropped for lagging: reconnect and replay
			}
			// Ephemeral events (typing) are never stored: they have no id,
			// are not replayed, and do not move the resume point.
			if e.ID != 0 && e.ID <= last {
				continue
			}
			if err := write(*e); err != nil {
				return nil
			}
			if e.ID > 0 {
				last = e.ID
			}
		}
	}
}
