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
	return s.staffStream(c, FeedJournal, 0)
}

func (s *Server) conversationEvents(c echo.Context) error {
	id, err := s.visibleConversation(c)
	if err != nil {
		return err
	}
	return s.staffStream(c, FeedConversation, id)
}

// staffStream is a staff user's feed of what it may see: of conversation
// convID, or of everything (0). Its replay reads the viewer's rows only,
// and at most journal.ReplayCap ids' worth. kind names the feed for the
// metrics.
func (s *Server) staffStream(c echo.Context, kind string, convID int64) error {
	u := currentUser(c)
	filter := func(e *inbox.Event) bool { return e.Visible(u) }
	replay := journal.ViewerFilter(u)
	if convID != 0 {
		filter = func(e *inbox.Event) bool { return e.ConversationID == convID && e.Visible(u) }
		replay = journal.EventFilter{ConversationID: convID}
	}
	lease, err := s.staffLease(c)
	if err != nil {
		return err
	}
	return s.stream(c, feedSpec{kind: kind, filter: filter, enc: agentFrames, retry: 2 * time.Second,
		replay: &replay, capped: true, lease: lease})
}

// agentFrames is what the agents' feeds send: every event as feedEvent.
var agentFrames = &feedEncoding{key: "agent", encode: func(e *inbox.Event) []byte {
	b, _ := json.Marshal(feedEvent{ID: e.ID, Kind: e.Kind, ConversationID: e.ConversationID, Payload: e.Payload})
	return sseFrame(e.ID, string(e.Kind), b)
}}

// reloadEvent tells a client that resumed too far back to reload what it
// shows (the feed then streams live from the id it carries).
const reloadEvent = "reload"

// feedSpec is what a live feed sends.
type feedSpec struct {
	kind   string // FeedKinds
	filter func(*inbox.Event) bool
	enc    *feedEncoding
	// retry is the client's reconnect delay.
	retry time.Duration
	// hello is a frame sent before the replay (the widget's ready event).
	hello []byte
	// replay is what a resuming client is sent from the events table,
	// read by the store with this filter (filter decides last); nil:
	// nothing is read, the client gets resumed instead.
	replay *journal.EventFilter
	// resumed is a frame sent to a resuming client before its replay.
	resumed []byte
	// capped: a resume point more than journal.ReplayCap ids behind, or
	// before the oldest retained event, gets a reload event instead of a
	// replay.
	capped bool
	// lease is the owner's slot; the feed releases it when it closes (and
	// stream releases it when the feed never opens).
	lease *feedLease
}

// stream writes the live feed: first what the client missed since
// Last-Event-ID (from the events table), then live events, skipping any
// the replay already sent. A client dropped for lagging reconnects with
// its last id and loses nothing. The feed subscribes before the replay so
// that nothing committed meanwhile is lost; once the replay is out, the
// connection leaves net/http and the handler returns (feed.go).
func (s *Server) stream(c echo.Context, spec feedSpec) error {
	last, resuming, err := resumeID(c)
	if err != nil {
		spec.lease.release()
		return err
	}
	f := s.feeds.openLeased(spec.kind, spec.filter, spec.enc, spec.lease)
	if f == nil {
		spec.lease.release()
		return inbox.Errorf(inbox.EUnavailable, "shutting down")
	}
	if spec.lease != nil {
		spec.lease.bind(f.close)
	}
	closeDelimited(c)
	w := openStream(c, spec.retry)
	if spec.hello != nil {
		w.Write(spec.hello)
	}
	ctx := c.Request().Context()
	if resuming {
		if last, err = s.replay(ctx, spec, last, w); err != nil {
			f.close()
			return nil // the client reconnects and resumes
		}
	}
	w.Flush()
	if f.isClosed() {
		return nil // it lagged during the replay: the client resumes
	}
	if conn := hijack(c); conn != nil {
		f.start(&connWriter{conn: conn}, last, nil)
		return nil
	}
	// No hijacking (HTTP/2, a recorder): this goroutine holds the
	// response until the feed or the client ends.
	done := make(chan struct{})
	if f.start(&responseWriter{w: w, rc: http.NewResponseController(w)}, last, done) {
		select {
		case <-ctx.Done():
		case <-done:
		}
		f.close()
	}
	f.writer.Wait() // no write after the handler returns
	return nil
}

// replay writes what a client resuming after last missed and returns the
// id the live feed continues after.
func (s *Server) replay(ctx context.Context, spec feedSpec, last int64, w *echo.Response) (int64, error) {
	if spec.resumed != nil {
		if _, err := w.Write(spec.resumed); err != nil {
			return last, err
		}
	}
	if spec.replay == nil {
		return last, nil
	}
	if spec.capped {
		oldest, newest, err := s.o.Reader.EventBounds(ctx)
		if err != nil {
			return last, err
		}
		if journal.ReplayGap(last, oldest, newest) {
			_, err := w.Write(sseFrame(newest, reloadEvent, []byte("{}")))
			return newest, err
		}
		// A resume point from the future (a restored database) would
		// hold back every live event up to it.
		last = min(last, newest)
	}
	return journal.Replay(ctx, s.o.Reader, last, *spec.replay, spec.filter, func(e inbox.Event) error {
		if b := spec.enc.encode(&e); b != nil {
			_, err := w.Write(b)
			return err
		}
		return nil
	})
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
// Its headers are written at once (and flushed with the first frame).
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

// writeEvent writes one event and flushes it.
func writeEvent(w *echo.Response, id int64, name string, data []byte) error {
	_, err := w.Write(sseFrame(id, name, data))
	w.Flush()
	return err
}

// sseFrame is one SSE message; an id of 0 (an ephemeral event) writes no
// id line, so the client's resume point does not move.
func sseFrame(id int64, name string, data []byte) []byte {
	b := make([]byte, 0, len(name)+len(data)+40)
	if id > 0 {
		b = append(b, "id: "...)
		b = strconv.AppendInt(b, id, 10)
		b = append(b, '\n')
	}
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// follow is the goroutine-per-connection model the notifications feed
// keeps (few agents, a channel per subscriber in inbox/queues): it relays
// what arrives on ch through send, with a heartbeat comment
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
