package inbox

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"time"
)

// Outgoing event webhooks (integrations.webhooks): the events of the
// events table told to other systems. This file holds the contract's
// names, the mapping from stored events to them, the subscriber filter and
// the access rules; webhookdispatch.go sends them.

// WebhookEvent names an event of the outgoing webhooks' contract.
type WebhookEvent string

// Webhook events (docs/DESIGN.md, "Event webhooks").
const (
	HookConversationCreated       WebhookEvent = "conversation.created"
	HookConversationAssigned      WebhookEvent = "conversation.assigned"
	HookConversationStatusChanged WebhookEvent = "conversation.status_changed"
	HookConversationTagsChanged   WebhookEvent = "conversation.tags_changed"
	HookMessageCreated            WebhookEvent = "message.created"
	HookMessageUpdated            WebhookEvent = "message.updated"
	HookContactRegistered         WebhookEvent = "contact.registered"
)

// WebhookEvents is every webhook event, in the contract's order.
var WebhookEvents = []WebhookEvent{
	HookConversationCreated, HookConversationAssigned, HookConversationStatusChanged,
	HookConversationTagsChanged, HookMessageCreated, HookMessageUpdated, HookContactRegistered,
}

// ValidWebhookEvent reports whether name is a webhook event.
func ValidWebhookEvent(name string) bool {
	return slices.Contains(WebhookEvents, WebhookEvent(name))
}

// Internal event kinds another feature may write for assignment and tags;
// they map to the webhook event of the same name.
const (
	eventConversationAssigned    EventKind = "conversation.assigned"
	eventConversationTagsChanged EventKind = "conversation.tags_changed"
)

// ConversationEventKinds are the kinds whose payload is a conversation
// summary: the previous one of a conversation is what a
// conversation.updated is compared with.
var ConversationEventKinds = []EventKind{
	EventConversationCreated, EventConversationUpdated, eventConversationAssigned, eventConversationTagsChanged,
}

// WebhookEventsOf returns the webhook events a stored event raises, in
// order. prev is the conversation's event of a ConversationEventKinds kind
// before e, nil when none is kept (then a conversation.updated is taken as
// a status change: a receiver compares the status it is sent).
//
// A conversation.updated raises conversation.status_changed when its
// status differs from prev's; conversation.assigned when its payload's
// "assignee" differs from prev's or, for payloads without one, when its
// participants differ; conversation.tags_changed when its payload's "tags"
// differ. Contact.registered is not derived from one event alone: the
// dispatcher adds it after the conversation.created of a contact form.
func WebhookEventsOf(prev, e *Event) []WebhookEvent {
	switch e.Kind {
	case EventConversationCreated:
		return []WebhookEvent{HookConversationCreated}
	case EventMessageCreated:
		return []WebhookEvent{HookMessageCreated}
	case EventMessageUpdated:
		return []WebhookEvent{HookMessageUpdated}
	case eventConversationAssigned:
		return []WebhookEvent{HookConversationAssigned}
	case eventConversationTagsChanged:
		return []WebhookEvent{HookConversationTagsChanged}
	case EventConversationUpdated:
	default:
		return nil
	}
	if prev == nil {
		return []WebhookEvent{HookConversationStatusChanged}
	}
	var out []WebhookEvent
	if prev.Status != e.Status {
		out = append(out, HookConversationStatusChanged)
	}
	cur, old := payloadFields(e.Payload), payloadFields(prev.Payload)
	_, hasAssignee := cur["assignee"]
	switch {
	case hasAssignee && !bytes.Equal(cur["assignee"], old["assignee"]):
		out = append(out, HookConversationAssigned)
	case !hasAssignee && !sameIDs(e.Participants, prev.Participants):
		out = append(out, HookConversationAssigned)
	}
	if !bytes.Equal(compactJSON(cur["tags"]), compactJSON(old["tags"])) {
		out = append(out, HookConversationTagsChanged)
	}
	return out
}

func payloadFields(p json.RawMessage) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	_ = json.Unmarshal(p, &m) // a payload that is not an object has no fields
	return m
}

func compactJSON(b json.RawMessage) []byte {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

func sameIDs(a, b []int64) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// IsNote reports whether a message event's payload is a private note
// ("kind":"note"), which only subscribers with include_notes receive.
func IsNote(payload json.RawMessage) bool {
	var m struct {
		Kind string `json:"kind"`
	}
	_ = json.Unmarshal(payload, &m)
	return m.Kind == "note"
}

// WebhookSubscriber is one configured receiver of event webhooks.
type WebhookSubscriber struct {
	ID string
	// URL receives the deliveries; DisplayURL is URL redacted for display.
	URL, DisplayURL string
	Secret          string
	Events          []WebhookEvent
	// Queues limits the events to those queues' conversations (empty: all).
	Queues       []string
	IncludeNotes bool
}

// Wants reports whether s is sent name, raised by e.
func (s *WebhookSubscriber) Wants(name WebhookEvent, e *Event) bool {
	if !slices.Contains(s.Events, name) {
		return false
	}
	if len(s.Queues) > 0 && !slices.Contains(s.Queues, e.Queue) {
		return false
	}
	if (e.Kind == EventMessageCreated || e.Kind == EventMessageUpdated) && !s.IncludeNotes && IsNote(e.Payload) {
		return false
	}
	return true
}

// WebhookDelivery is one webhook event sent to a subscriber.
type WebhookDelivery struct {
	// ID is "<event id>:<event name>", the same on every retry and replay
	// (X-Inboxd-Event-Id): receivers drop repeats by it.
	ID             string
	EventID        int64
	Event          WebhookEvent
	ConversationID int64
	CreatedAt      time.Time
	Data           json.RawMessage
}

// NewWebhookDelivery returns the delivery of name raised by e with data.
func NewWebhookDelivery(e *Event, name WebhookEvent, data json.RawMessage) WebhookDelivery {
	return WebhookDelivery{ID: strconv.FormatInt(e.ID, 10) + ":" + string(name), EventID: e.ID, Event: name,
		ConversationID: e.ConversationID, CreatedAt: e.CreatedAt, Data: data}
}

// Envelope returns the body sent: {"id","event","created_at","data"}.
func (d *WebhookDelivery) Envelope() []byte {
	data := d.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	return s2json(struct {
		ID        string          `json:"id"`
		Event     WebhookEvent    `json:"event"`
		CreatedAt time.Time       `json:"created_at"`
		Data      json.RawMessage `json:"data"`
	}{d.ID, d.Event, d.CreatedAt.UTC(), data})
}

// WebhookState is a subscriber's delivery state as the store keeps it and
// the API shows it.
type WebhookState struct {
	ID           string         `json:"id"`
	URL          string         `json:"url"`
	Events       []WebhookEvent `json:"events"`
	Queues       []string       `json:"queues"`
	IncludeNotes bool           `json:"include_notes"`
	// LastEventID is the cursor: every event up to it has been sent (or
	// was not subscribed to). Backlog is how many event ids follow it.
	LastEventID int64 `json:"last_event_id"`
	Backlog     int64 `json:"backlog"`
	// Delivered counts the deliveries the receiver accepted; Missed the
	// event ids that expired (events.retention) before they were sent.
	Delivered     int64      `json:"delivered"`
	Missed        int64      `json:"missed"`
	Attempts      int        `json:"attempts"`
	LastSuccessAt *time.Time `json:"last_success_at"`
	LastError     string     `json:"last_error"`
	LastErrorAt   *time.Time `json:"last_error_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
}

// CanSeeWebhooks reports whether u may list the webhook subscribers:
// owners and admins.
func CanSeeWebhooks(u *User) bool { return u != nil && u.Role.IsAdmin() }

// CanReplayWebhooks reports whether u may replay a subscriber's events:
// owners only (a replay resends conversations' contents elsewhere).
func CanReplayWebhooks(u *User) bool { return u != nil && u.Role == RoleOwner }

// CheckReplay validates a replay from event id from for a subscriber
// whose cursor is at cursor, with newest the newest event id: from must be
// at most the cursor (a replay resends; it never skips what was not sent
// yet).
func CheckReplay(from, cursor, newest int64) error {
	switch {
	case from < 0:
		return Invalid("from_event_id", "must not be negative")
	case from > newest:
		return Invalid("from_event_id", "is after the newest event (%d)", newest)
	case from > cursor:
		return Errorf(EConflict, "from_event_id %d is after what the subscriber has been sent (%d): a replay resends, it does not skip", from, cursor)
	}
	return nil
}
