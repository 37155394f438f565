package widget

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
)

// isModeEvent reports whether e may change what the widget of queue shows:
// its queue opened or closed, the global switch flipped, agents' presence.
func isModeEvent(e *inbox.Event, queue string) bool {
	k := string(e.Kind)
	return (strings.HasPrefix(k, "queue.") || strings.HasPrefix(k, "presence.")) && (e.Queue == queue || e.Queue == "")
}

// events is the visitor's live feed: its conversation's messages (as
// visitorMessage), agents typing, and "mode" notices telling the widget to
// fetch /config again. A visitor's feed (?token=, which must be valid: 401
// otherwise) resumes after Last-Event-ID with its own conversation's
// messages, read by the conversation's index. A page without a token gets
// mode notices only, and resumes with one mode notice, without reading the
// events table. The widget reconnects when its conversation changes (its
// first message, or a new conversation after the reopen window).
func (h *HTTP) events(c echo.Context, ch *Channel) error {
	key, err := h.visitor(c, ch, true)
	if err != nil {
		return err
	}
	var convID, number int64
	if key != "" {
		if convID, number, err = h.conversation(c.Request().Context(), ch, key, ""); err != nil {
			return err
		}
	}
	return h.o.Host.Stream(c, visitorFeed(ch, key, convID, number))
}

// visitorFeed is the feed of visitor key (""; an anonymous page) whose
// conversation is convID (0: none yet), shown to it as number.
func visitorFeed(ch *Channel, key string, convID, number int64) adapters.Feed {
	queue := ch.Queue()
	f := adapters.Feed{Channel: ch.ID(), Visitor: key, Retry: 3 * time.Second,
		Encoding: "widget\x00" + queue,
		Encode:   func(e *inbox.Event) (string, []byte, bool) { return visitorEvent(e, queue) },
		Filter: func(e *inbox.Event) bool {
			if isModeEvent(e, queue) {
				return true
			}
			if convID == 0 || e.ConversationID != convID {
				return false
			}
			return e.Kind == inbox.EventMessageCreated || e.Kind == inbox.EventMessageUpdated || e.Kind == inbox.EventTyping
		},
		// ready names the conversation this feed follows: the widget
		// reconnects when its own number differs (its first message).
		Hello: &adapters.FeedFrame{Name: "ready", Data: []byte(fmt.Sprintf(`{"conversation":%d}`, number))},
		// Whatever mode changes a resuming widget missed, one notice makes
		// it fetch /config again; its conversation's messages are replayed.
		Resumed: &adapters.FeedFrame{Name: "mode", Data: []byte("{}")},
	}
	if convID != 0 {
		f.Replay = &adapters.FeedReplay{ConversationID: convID,
			Kinds: []inbox.EventKind{inbox.EventMessageCreated, inbox.EventMessageUpdated}}
	}
	return f
}

// visitorEvent turns a journal event into what the visitor may see.
func visitorEvent(e *inbox.Event, queue string) (name string, data []byte, ok bool) {
	switch {
	case isModeEvent(e, queue):
		return "mode", []byte("{}"), true
	case e.Kind == inbox.EventTyping:
		var p struct{ Who, Name string }
		if json.Unmarshal(e.Payload, &p) != nil || p.Who != "agent" {
			return "", nil, false
		}
		data, _ = json.Marshal(map[string]string{"name": p.Name})
		return "typing", data, true
	case e.Kind == inbox.EventMessageCreated || e.Kind == inbox.EventMessageUpdated:
		var m inbox.MessageView
		if json.Unmarshal(e.Payload, &m) != nil || m.Kind == inbox.KindNote {
			// A private note of the team is never sent to the visitor.
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
