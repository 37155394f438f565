package api

import (
	"context"
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
	last, resuming, err := resumeID(c)
	if err != nil {
		return err
	}
	sub := s.o.Hub.Subscribe(filter)
	defer sub.Close()
	w := openStream(c, 2*time.Second)
	write := func(e inbox.Event) error {
		b, _ := json.Marshal(feedEvent{ID: e.ID, Kind: e.Kind, ConversationID: e.ConversationID, Payload: e.Payload})
		return writeEvent(w, e.ID, string(e.Kind), b)
	}
	ctx := c.Request().Context()
	if resuming {
		if last, err = journal.Replay(ctx, s.o.Reader, last, filter, write); err != nil {
			return nil // the client reconnects and resumes
		}
	}
	follow(ctx, w, s.o.Heartbeat, sub.C, func(e *inbox.Event) error {
		// Ephemeral events (typing) are never stored: they have no id,
		// are not replayed, and do not move the resume point.
		if e.ID != 0 && e.ID <= last {
			return nil
		}
		if e.ID > 0 {
			last = e.ID
		}
		return write(*e)
	})
	return nil
}

// resumeID reads the id a reconnecting client saw last, from
// Last-Event-ID (or ?last_event_id= where headers cannot be set).
func resumeID(c echo.Context) (id int64, resuming bool, err error) {
	v := c.Request().Header.Get("Last-Event-ID")
	if v == "" {
		v = c.QueryParam("last_event_id")
	}
	if v == "" {
		return 0, false, nil
	}
	id, err = strconv.ParseInt(v, 10, 64)
	if err != nil || id < 0 {
		return 0, false, inbox.Invalid("Last-Event-ID", "must be an event id")
	}
	return id, true, nil
}

// openStream starts an event stream with the client's reconnect delay.
func openStream(c echo.Context, retry time.Duration) *echo.Response {
	w := c.Response()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: %d\n\n", retry.Milliseconds())
	w.Flush()
	return w
}

// writeEvent writes one event; an id of 0 (an ephemeral event) writes no
// id line, so the client's resume point does not move.
func writeEvent(w *echo.Response, id int64, name string, data []byte) error {
	var err error
	if id > 0 {
		_, err = fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", id, name, data)
	} else {
		_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data)
	}
	w.Flush()
	return err
}

// follow relays what arrives on ch through send, with a heartbeat comment
// to keep proxies from closing an idle stream, until the client goes, ch
// closes (a subscriber dropped for lagging: it reconnects and replays) or
// a write fails.
func follow[T any](ctx context.Context, w *echo.Response, heartbeat time.Duration, ch <-chan T, send func(T) error) {
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
			w.Flush()
		case v, ok := <-ch:
			if !ok || send(v) != nil {
				return
			}
		}
	}
}
