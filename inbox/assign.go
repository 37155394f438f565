package inbox

import (
	"context"
	"time"
)

// Assignment and transfer: handing a conversation to a colleague, or
// moving it to another queue. The rules are pure functions
// (DecideAssign); Service.Assign writes what they decide in one
// transaction with its activity entry and events.

// Activity and event kinds of assignment.
const (
	// ActivityTransferred: a conversation moved to another queue. (A
	// hand-over to a colleague is ActivityAssigned, as is taking a chat.)
	ActivityTransferred ActivityKind = "transferred"
	// EventConversationAssigned tells the assignee (and admins) that a
	// conversation was handed to it; its payload is an AssignedView. The
	// conversation.updated events of the same change carry the new state.
	EventConversationAssigned EventKind = "conversation.assigned"
)

// AssignRequest is the body of POST /api/v1/conversations/{id}/assign:
// exactly one of UserID (a colleague, or the caller itself) and Queue.
type AssignRequest struct {
	UserID int64  `json:"user_id"`
	Queue  string `json:"queue"`
	// Note, when not empty, is stored as a private note with the change.
	Note string `json:"note"`
}

// AssignTarget is what an assignment goes to, as loaded for DecideAssign.
type AssignTarget struct {
	// User is the assignee (nil for a transfer to a queue).
	User *User
	// Queue is the queue of a transfer ("" for an assignee).
	Queue string
	// QueueKnown reports whether Queue is configured.
	QueueKnown bool
}

// AssignPlan is what an assignment changes.
type AssignPlan struct {
	// Remove are the participants who leave (the previous owner, and the
	// actor handing the conversation over).
	Remove []int64
	// Add is the new owner and participant (0: none, a transfer).
	Add int64
	// ClearAll removes every participant (a transfer).
	ClearAll bool
	Status   Status
	Queue    string
	Activity ActivityKind
	// Noop: the conversation already is where it is sent.
	Noop bool
}

// CanAssign reports whether actor may hand c over at all: owners and
// admins any conversation; an agent the conversations it takes part in,
// and the unassigned ones of its queues (for itself, DecideAssign checks).
func CanAssign(actor *User, c *Conversation) bool {
	switch {
	case actor.Role.IsAdmin(), c.HasParticipant(actor.ID):
		return true
	}
	return c.Status == StatusUnassigned && ServesQueue(actor, c.Queue)
}

// Assignable explains why u cannot be given a conversation of queue q
// (nil: it can): a deactivated user, or one who does not serve q, is a
// conflict with a message that says so.
func Assignable(u *User, q string) error {
	switch {
	case u.Deactivated:
		return Errorf(EConflict, "%s is deactivated and cannot be assigned conversations", u.Name)
	case !ServesQueue(u, q):
		return Errorf(EConflict, "%s does not serve the queue %q", u.Name, q)
	}
	return nil
}

// DecideAssign applies the assignment rules of docs/DESIGN.md:
//
//   - to a user: the assignee must be active and serve the conversation's
//     queue; it becomes owner and participant, status active; the previous
//     owner and the actor (handing it over) leave.
//   - to a queue: a configured queue other than the current one;
//     participants are cleared, owner none, status unassigned.
//   - owners and admins may assign anything; an agent may hand over a
//     conversation it takes part in, and take an unassigned one of its
//     queues for itself (not give it to someone else).
func DecideAssign(c *Conversation, actor *User, t AssignTarget) (AssignPlan, error) {
	if !CanAssign(actor, c) {
		return AssignPlan{}, Errorf(EForbidden, "only its participants or an admin can hand this conversation over")
	}
	part := c.HasParticipant(actor.ID)
	if t.User == nil {
		switch {
		case t.Queue == "":
			return AssignPlan{}, Invalid("queue", "give user_id or queue")
		case !t.QueueKnown:
			return AssignPlan{}, Invalid("queue", "unknown queue %q", t.Queue)
		case !actor.Role.IsAdmin() && !part:
			return AssignPlan{}, Errorf(EForbidden, "take part in the conversation to transfer it")
		case t.Queue == c.Queue:
			return AssignPlan{}, Errorf(EConflict, "the conversation is already in the queue %q", t.Queue)
		}
		return AssignPlan{ClearAll: true, Status: StatusUnassigned, Queue: t.Queue, Activity: ActivityTransferred}, nil
	}
	u := t.User
	if !actor.Role.IsAdmin() && !part && u.ID != actor.ID {
		return AssignPlan{}, Errorf(EForbidden, "take the conversation yourself, or join it to hand it over")
	}
	if err := Assignable(u, c.Queue); err != nil {
		return AssignPlan{}, err
	}
	if c.OwnerID == u.ID && c.Status == StatusActive && c.HasParticipant(u.ID) {
		return AssignPlan{Noop: true, Status: c.Status, Queue: c.Queue}, nil
	}
	p := AssignPlan{Status: StatusActive, Queue: c.Queue, Activity: ActivityAssigned}
	if !c.HasParticipant(u.ID) {
		p.Add = u.ID
	}
	for _, id := range []int64{c.OwnerID, actor.ID} {
		if id != 0 && id != u.ID && c.HasParticipant(id) && !containsID(p.Remove, id) {
			p.Remove = append(p.Remove, id)
		}
	}
	return p, nil
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// AssignedView is the payload of EventConversationAssigned.
type AssignedView struct {
	Conversation ConversationSummary `json:"conversation"`
	Assignee     Participant         `json:"assignee"`
	By           Participant         `json:"by"`
	// From is the previous owner, nil when there was none.
	From *Participant `json:"from"`
}

// AssignTx is what assignments and notes need of a transaction beyond the
// ingest's work; the store's transactions implement it.
type AssignTx interface {
	// UsersByID loads users (with Deactivated); missing ids are absent.
	UsersByID(ctx context.Context, ids []int64) (map[int64]*User, error)
	// MoveConversation sets a conversation's queue.
	MoveConversation(ctx context.Context, conversationID int64, queue string) error
	// InsertNote stores a private note (Kind note, with its mentions),
	// assigning its ID. Notes have no outbox row.
	InsertNote(ctx context.Context, m *Message) error
}

// Assign hands a conversation to a colleague or moves it to another queue
// (DecideAssign), with an optional private note, in one transaction with
// its activity entry and events. The events of the change are written
// twice where visibility changes: once as the viewers of the old state saw
// it (so that the previous queue's agents and the previous owner drop it)
// and once as the new state.
func (s *Service) Assign(ctx context.Context, actor *User, conversationID int64, r AssignRequest) (*Conversation, error) {
	if (r.UserID == 0) == (r.Queue == "") {
		return nil, Invalid("user_id", "give either user_id or queue")
	}
	if r.UserID < 0 {
		return nil, Invalid("user_id", "is not a user")
	}
	note, err := checkNoteText(r.Note, true)
	if err != nil {
		return nil, &Error{Code: ErrorCode(err), Field: "note", Message: ErrorMessage(err)}
	}
	var conv *Conversation
	err = s.inTx(ctx, func(tx Tx, evs *eventSink) error {
		now := s.clock.Now()
		c, err := s.visible(ctx, tx, actor, conversationID)
		if err != nil {
			return err
		}
		conv = c
		t := AssignTarget{Queue: r.Queue, QueueKnown: s.queues[r.Queue]}
		if r.UserID != 0 {
			us, err := tx.UsersByID(ctx, []int64{r.UserID})
			if err != nil {
				return err
			}
			if t.User = us[r.UserID]; t.User == nil {
				return Invalid("user_id", "no such user")
			}
		}
		p, err := DecideAssign(c, actor, t)
		if err != nil || p.Noop {
			return err
		}
		before := *c
		before.Participants = append([]Participant(nil), c.Participants...)
		if err := s.applyAssign(ctx, tx, c, actor, t, p, now); err != nil {
			return err
		}
		if err := s.recordAssign(ctx, tx, evs, &before, c, actor, t.User, p.Activity, now); err != nil {
			return err
		}
		if note != "" {
			if _, err := s.writeNote(ctx, tx, evs, c, actor, note, nil, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return conv, nil
}

// recordAssign writes an assignment's activity entry (who, from, to) and
// collects its events: conversation.updated for the viewers of the old
// state and of the new (once when they are the same), and
// conversation.assigned for a hand-over to a user.
func (s *Service) recordAssign(ctx context.Context, tx Tx, evs *eventSink, before, c *Conversation, actor, assignee *User,
	kind ActivityKind, now time.Time) error {
	var from *Participant
	for _, pt := range before.Participants {
		if pt.ID == before.OwnerID {
			f := pt
			from = &f
		}
	}
	act := &Activity{Queue: c.Queue, Kind: kind, ConversationID: c.ID, ActorID: actor.ID,
		ActorName: actor.Name, CreatedAt: now, Data: map[string]string{}}
	if from != nil {
		act.Data["from"], act.Data["from_id"] = from.Name, itoa(from.ID)
	}
	if assignee != nil {
		act.Data["to"], act.Data["to_id"] = assignee.Name, itoa(assignee.ID)
	} else {
		act.Data["from_queue"], act.Data["to_queue"] = before.Queue, c.Queue
	}
	if err := tx.InsertActivity(ctx, act); err != nil {
		return err
	}
	summary := s2json(s.Summary(c))
	if !sameViewers(before, c) {
		evs.add(EventConversationUpdated, before, summary, now)
	}
	evs.add(EventConversationUpdated, c, summary, now)
	if assignee != nil {
		evs.add(EventConversationAssigned, c, s2json(AssignedView{Conversation: s.Summary(c),
			Assignee: Participant{ID: assignee.ID, Name: assignee.Name}, By: Participant{ID: actor.ID, Name: actor.Name},
			From: from}), now)
	}
	return nil
}

// applyAssign writes an assignment plan's participants, queue and status.
func (s *Service) applyAssign(ctx context.Context, tx Tx, c *Conversation, actor *User, t AssignTarget, p AssignPlan, now time.Time) error {
	remove := p.Remove
	if p.ClearAll {
		remove = nil
		for _, pt := range c.Participants {
			remove = append(remove, pt.ID)
		}
	}
	for _, id := range remove {
		if err := tx.RemoveParticipant(ctx, c.ID, id); err != nil {
			return err
		}
	}
	kept := []Participant{}
	for _, pt := range c.Participants {
		if !containsID(remove, pt.ID) {
			kept = append(kept, pt)
		}
	}
	c.Participants = kept
	if p.Queue != c.Queue {
		if err := tx.MoveConversation(ctx, c.ID, p.Queue); err != nil {
			return err
		}
		c.Queue = p.Queue
	}
	c.OwnerID = 0
	if t.User != nil {
		c.OwnerID = t.User.ID
	}
	c.Status, c.ClosedAt, c.LastActivityAt = p.Status, time.Time{}, now
	// UpdateConversation first: a new participant row copies the
	// conversation's last activity.
	if err := tx.UpdateConversation(ctx, c); err != nil {
		return err
	}
	if p.Add != 0 {
		if err := tx.AddParticipant(ctx, c.ID, t.User, now); err != nil {
			return err
		}
	}
	if t.User != nil {
		// The owner comes first.
		rest := []Participant{{ID: t.User.ID, Name: t.User.Name}}
		for _, pt := range c.Participants {
			if pt.ID != t.User.ID {
				rest = append(rest, pt)
			}
		}
		c.Participants = rest
	}
	return nil
}

// sameViewers reports whether a and b are seen by the same users: same
// queue, status and participants.
func sameViewers(a, b *Conversation) bool {
	if a.Queue != b.Queue || a.Status != b.Status || len(a.Participants) != len(b.Participants) {
		return false
	}
	for _, p := range a.Participants {
		if !b.HasParticipant(p.ID) {
			return false
		}
	}
	return true
}
