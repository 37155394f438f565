package inbox

// Events and activities of opening hours and presence. They concern a
// queue or a user rather than a conversation (ConversationID is 0), so
// their visibility is decided here and not by CanView.

// Event kinds of queues and presence.
const (
	// EventQueueOpened and EventQueueClosed report a change of a queue's
	// effective state: a scheduled transition, or the override.
	EventQueueOpened EventKind = "queue.opened"
	EventQueueClosed EventKind = "queue.closed"
	// EventQueueOverride reports a change of the global switch.
	EventQueueOverride EventKind = "queue.override"
	// EventPresenceChanged reports a user's new presence; Participants
	// holds the user's id.
	EventPresenceChanged EventKind = "presence.changed"
)

// Activity kinds of queues.
const (
	ActivityQueueOpened       ActivityKind = "queue_opened"
	ActivityQueueClosed       ActivityKind = "queue_closed"
	ActivityOverride          ActivityKind = "override"
	ActivityRegisteredContact ActivityKind = "registered_contact"
	ActivityAutoReplied       ActivityKind = "auto_replied"
)

// visibleOutsideConversation decides the visibility of the events that are
// not about a conversation; handled is false for conversation events.
// Queue events go to admins and the agents serving the queue; presence
// events to admins and the user concerned.
func (e *Event) visibleOutsideConversation(u *User) (visible, handled bool) {
	switch e.Kind {
	case EventQueueOpened, EventQueueClosed, EventQueueOverride:
		return u.Role.IsAdmin() || ServesQueue(u, e.Queue), true
	case EventPresenceChanged:
		if u.Role.IsAdmin() {
			return true, true
		}
		for _, id := range e.Participants {
			if id == u.ID {
				return true, true
			}
		}
		return false, true
	}
	return false, false
}
