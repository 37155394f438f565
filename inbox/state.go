package inbox

import "time"

// Action is something an agent does to a conversation.
type Action string

// Agent actions.
const (
	ActionReply Action = "reply"
	ActionJoin  Action = "join"
	ActionLeave Action = "leave"
	ActionClose Action = "close"
)

// Transition is the outcome of an action: what changes, and the activity
// entry it writes. A zero Activity means nothing changes.
type Transition struct {
	Status            Status
	AddParticipant    bool
	RemoveParticipant bool
	// Owner is the new owner id; -1 leaves it as it is.
	Owner    int64
	Activity ActivityKind
}

// Changes reports whether the transition changes the conversation.
func (t Transition) Changes() bool { return t.Activity != "" }

// Decide applies an agent's action to a conversation: the state machine of
// docs/DESIGN.md as one pure function. actor is the acting user; admins may
// close any conversation.
func Decide(c *Conversation, actor *User, a Action) (Transition, error) {
	part := c.HasParticipant(actor.ID)
	keep := Transition{Status: c.Status, Owner: -1}
	switch a {
	case ActionReply:
		switch {
		case c.Status == StatusUnassigned:
			return Transition{Status: StatusActive, AddParticipant: true, Owner: actor.ID, Activity: ActivityAssigned}, nil
		case c.Status == StatusInactive && (part || actor.Role.IsAdmin()):
			// Answering a closed conversation reopens it for the one who answers.
			t := Transition{Status: StatusActive, AddParticipant: !part, Owner: -1, Activity: ActivityReopened}
			if c.OwnerID == 0 {
				t.Owner = actor.ID
			}
			return t, nil
		case part:
			return keep, nil
		case c.Status == StatusInactive:
			return keep, Errorf(EConflict, "conversation is closed")
		}
		return keep, Errorf(EConflict, "conversation is handled by another agent: join first")
	case ActionJoin:
		switch {
		case part:
			return keep, nil
		case c.Status == StatusInactive:
			return keep, Errorf(EConflict, "conversation is closed")
		case c.Status == StatusUnassigned:
			return Transition{Status: StatusActive, AddParticipant: true, Owner: actor.ID, Activity: ActivityAssigned}, nil
		}
		return Transition{Status: StatusActive, AddParticipant: true, Owner: -1, Activity: ActivityJoined}, nil
	case ActionLeave:
		if !part {
			return keep, Errorf(EConflict, "you are not a participant")
		}
		t := Transition{Status: c.Status, RemoveParticipant: true, Owner: -1, Activity: ActivityLeft}
		var next int64
		for _, p := range c.Participants {
			if p.ID != actor.ID {
				next = p.ID
				break
			}
		}
		if c.OwnerID == actor.ID || next == 0 {
			t.Owner = next
		}
		if next == 0 && c.Status == StatusActive {
			t.Status = StatusUnassigned
		}
		return t, nil
	case ActionClose:
		if !part && !actor.Role.IsAdmin() {
			return keep, Errorf(EForbidden, "only a participant or an admin can close this conversation")
		}
		if c.Status == StatusInactive {
			return keep, nil
		}
		return Transition{Status: StatusInactive, Owner: -1, Activity: ActivityClosed}, nil
	}
	return keep, Invalid("action", "unknown action %q", a)
}

// Arrival says what a customer message does to the contact's latest
// conversation.
type Arrival int

// Arrivals.
const (
	// ArrivalAppend: the conversation is open; the message joins it.
	ArrivalAppend Arrival = iota
	// ArrivalReopen: closed within the reopen window; it reopens.
	ArrivalReopen
	// ArrivalNew: no conversation, or closed longer than the window ago.
	ArrivalNew
)

// DecideArrival decides where a customer message goes, given the contact's
// latest conversation on the channel (nil: none).
func DecideArrival(latest *Conversation, now time.Time, reopenWindow time.Duration) Arrival {
	switch {
	case latest == nil:
		return ArrivalNew
	case latest.Status.Open():
		return ArrivalAppend
	case now.Sub(latest.ClosedAt) <= reopenWindow:
		return ArrivalReopen
	}
	return ArrivalNew
}

// ReopenStatus is the status of a reopened conversation: active when one
// of its participants can answer (online or invisible), else unassigned.
func ReopenStatus(anyParticipantAvailable bool) Status {
	if anyParticipantAvailable {
		return StatusActive
	}
	return StatusUnassigned
}
