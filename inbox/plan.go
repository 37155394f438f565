package inbox

import (
	"time"
)

// Ingest is one pipeline for a group of messages, be it one webhook call,
// a channel's batch or a group commit of many callers:
//
//	lookup  (store)  what exists: contacts, stored messages, conversations
//	plan    (pure)   what each message does, in order
//	apply   (store)  one statement per kind of row for the whole group
//	settle  (pure)   ids known: conversation state, events and results
//
// The planner below is the only place that decides where a message goes;
// it reads nothing and writes nothing, so it is tested without a database.

// Outcome is what the planner decided for one message.
type Outcome int

// Outcomes.
const (
	// OutcomeAppend: the message joins an open conversation.
	OutcomeAppend Outcome = iota
	// OutcomeNew: the message opens a new conversation.
	OutcomeNew
	// OutcomeReopen: the message reopens a closed conversation.
	OutcomeReopen
	// OutcomeEdit: the message replaces the text of one stored earlier.
	OutcomeEdit
	// OutcomeDuplicate: the message is stored already (an upstream retry,
	// or twice in the group); nothing is written.
	OutcomeDuplicate
	// OutcomeError: the message cannot be placed; it fails alone.
	OutcomeError
)

func (o Outcome) String() string {
	return [...]string{"append", "new", "reopen", "edit", "duplicate", "error"}[o]
}

// Lookups is what the store found for a group before anything is decided.
// Conversations found are locked for the rest of the transaction.
type Lookups struct {
	// Contacts is each message's contact (by index), created or refreshed.
	Contacts []*Contact
	// Stored are the messages already stored among the group's keys.
	Stored map[MessageKey]*Message
	// Conversations are every conversation found, by id, with their
	// participants.
	Conversations map[int64]*Conversation
	// Latest is each thread's newest conversation id.
	Latest map[ThreadRef]int64
	// ByToken is the conversation id of each thread token found, keyed by
	// channel and token.
	ByToken map[MessageKey]int64
	// ByReference is, per message index, the conversation its references
	// found (absent: none found, or no references).
	ByReference map[int]int64
	// Available are the users among closed conversations' participants who
	// could answer now (AvailablePresences).
	Available map[int64]bool
}

// PlanRules is what the planner needs of the configuration.
type PlanRules struct {
	Channels     map[string]ChannelInfo
	ReopenWindow time.Duration
	// NewToken makes a new conversation's token.
	NewToken func() string
}

// Decision is what one message does.
type Decision struct {
	Outcome Outcome
	// Conv is the conversation the message goes to (for an edit: the
	// edited message's).
	Conv *Conversation
	// Message is the new message, or for an edit the edited message with
	// its new text.
	Message *Message
	// Activity is the conversation's created, reopened or edited entry.
	Activity *Activity
	// Kind is the conversation event's kind for a new message.
	Kind EventKind
	// DupOf is the index of the group's earlier message this one repeats;
	// -1 when it repeats a stored one (Result) or is not a duplicate.
	DupOf int
	// Result is known at planning for a duplicate of a stored message; the
	// others are settled after apply.
	Result IngestResult
	Err    error
	// edits is the group's new message an edit targets (nil: a stored one).
	edits *Message
}

// IngestPlan is a group's decisions and the rows to write, one list per
// kind of row, in message order.
type IngestPlan struct {
	Decisions []Decision
	// Created are the new conversations, with ThreadKeys[i] theirs.
	Created    []*Conversation
	ThreadKeys []string
	// Messages are the new messages; Edits the edited ones.
	Messages []*Message
	Edits    []*Message
	// Touched are the conversations whose state the group changes, by id
	// after apply.
	Touched []*Conversation
	now     time.Time
	// numbered are the new conversations named by their number.
	numbered map[*Conversation]bool
}

// Plan decides, in order, what each message of a group does, as if each
// were ingested alone after the ones before it: a second message of a new
// contact joins the conversation the first opened; an edit of a message
// earlier in the group edits it.
func Plan(ins []*Inbound, lk *Lookups, r PlanRules, now time.Time) *IngestPlan {
	p := &IngestPlan{Decisions: make([]Decision, len(ins)), now: now, numbered: map[*Conversation]bool{}}
	latest := make(map[ThreadRef]*Conversation, len(lk.Latest))
	for ref, id := range lk.Latest {
		latest[ref] = lk.Conversations[id]
	}
	// current is each key's message as the group has left it so far.
	current := make(map[MessageKey]*Message, len(lk.Stored))
	for k, m := range lk.Stored {
		current[k] = m
	}
	firstOf := map[*Message]int{}    // the group's new messages and their index
	planned := map[string]*Message{} // the group's new messages by channel + external id
	touched := map[*Conversation]bool{}

	for i, in := range ins {
		d := &p.Decisions[i]
		d.DupOf = -1
		contact := lk.Contacts[i]
		if contact == nil {
			d.Outcome, d.Err = OutcomeError, Errorf(EInternal, "no contact for message %d", i)
			continue
		}
		key := MessageKey{ChannelID: in.ChannelID, ExternalID: in.ExternalID}
		if old, ok := current[key]; ok {
			j, inGroup := firstOf[old]
			if in.Kind != InboundEdit || old.Text == in.Text {
				d.Outcome = OutcomeDuplicate
				if inGroup {
					d.DupOf = j
				} else {
					d.Result = IngestResult{MessageID: old.ID, ConversationID: old.ConversationID, Duplicate: true}
				}
				continue
			}
			conv := lk.Conversations[old.ConversationID]
			if inGroup {
				conv = p.Decisions[j].Conv
			}
			if conv == nil {
				d.Outcome, d.Err = OutcomeError, Errorf(ENotFound, "the edited message's conversation is gone")
				continue
			}
			edited := *old
			edited.Text, edited.EditedAt = in.Text, now
			d.Outcome, d.Conv, d.Message = OutcomeEdit, conv, &edited
			if inGroup {
				d.edits = p.Decisions[j].Message
				firstOf[&edited] = j
			}
			d.Activity = &Activity{Queue: conv.Queue, Kind: ActivityEdited,
				Data: map[string]string{"message_id": itoa(old.ID), "previous_text": truncate(old.Text, 1000)}, CreatedAt: now}
			current[key] = &edited
			p.Edits = append(p.Edits, &edited)
			continue
		}

		ref := ThreadRef{ContactID: contact.ID, ThreadKey: in.ThreadKey}
		conv := p.find(in, i, ref, lk, latest, planned)
		d.Kind = EventConversationUpdated
		switch DecideArrival(conv, now, r.ReopenWindow) {
		case ArrivalNew:
			ch := r.Channels[in.ChannelID]
			conv = &Conversation{
				Token: r.NewToken(), ChannelID: in.ChannelID, Queue: ch.Queue, ContactID: contact.ID,
				Title: conversationTitle(in, contact), Subject: in.Subject, Status: StatusUnassigned, CreatedAt: now,
			}
			if ch.NamedByNumber {
				p.numbered[conv] = true
			}
			latest[ref] = conv
			p.Created = append(p.Created, conv)
			p.ThreadKeys = append(p.ThreadKeys, in.ThreadKey)
			d.Outcome, d.Kind = OutcomeNew, EventConversationCreated
			d.Activity = &Activity{Queue: conv.Queue, Kind: ActivityCreated, CreatedAt: now}
		case ArrivalReopen:
			d.Outcome = OutcomeReopen
			d.Activity = reopenByCustomer(conv, lk.Available, now)
		default:
			d.Outcome = OutcomeAppend
		}
		d.Conv = conv
		d.Message = &Message{
			ChannelID: in.ChannelID, Direction: DirectionIn, AuthorName: contact.Name, Text: in.Text, HTML: in.HTML,
			Attachments: in.Attachments, ExternalID: in.ExternalID, Auto: in.Auto, Meta: in.Meta, CreatedAt: now,
		}
		conv.LastActivityAt, conv.LastMessageAt, conv.LastInboundAt = now, now, now
		current[key] = d.Message
		firstOf[d.Message] = i
		planned[in.ChannelID+"\x00"+in.ExternalID] = d.Message
		p.Messages = append(p.Messages, d.Message)
		if !touched[conv] {
			touched[conv] = true
			p.Touched = append(p.Touched, conv)
		}
	}
	return p
}

// find is the conversation a new message goes to before the arrival rule:
// its thread token's, else its references' (the group's own messages
// first, they are the newest), else its thread's latest. A message with
// references none of which is known and a title of its own starts a new
// thread (an email with a new subject).
func (p *IngestPlan) find(in *Inbound, i int, ref ThreadRef, lk *Lookups, latest map[ThreadRef]*Conversation, planned map[string]*Message) *Conversation {
	if in.ThreadToken != "" {
		if id, ok := lk.ByToken[MessageKey{ChannelID: in.ChannelID, ExternalID: in.ThreadToken}]; ok {
			return lk.Conversations[id]
		}
	}
	if len(in.References) > 0 {
		for k := len(in.References) - 1; k >= 0; k-- {
			if m := planned[in.ChannelID+"\x00"+in.References[k]]; m != nil {
				return p.convOf(m)
			}
		}
		if id, ok := lk.ByReference[i]; ok {
			return lk.Conversations[id]
		}
		if in.Title != "" {
			return nil
		}
	}
	return latest[ref]
}

// convOf is the conversation the group placed its new message m in.
func (p *IngestPlan) convOf(m *Message) *Conversation {
	for k := range p.Decisions {
		if p.Decisions[k].Message == m {
			return p.Decisions[k].Conv
		}
	}
	return nil
}

// reopenByCustomer reopens a closed conversation the customer wrote to:
// active when one of its participants can answer, else unassigned. It
// returns the activity entry to store.
func reopenByCustomer(conv *Conversation, available map[int64]bool, now time.Time) *Activity {
	avail := false
	for _, pt := range conv.Participants {
		avail = avail || available[pt.ID]
	}
	conv.Status = ReopenStatus(avail)
	if conv.Status == StatusUnassigned {
		conv.OwnerID = 0
	}
	conv.ClosedAt = time.Time{}
	return &Activity{Queue: conv.Queue, Kind: ActivityReopened,
		Data: map[string]string{"by": "customer", "status": string(conv.Status)}, CreatedAt: now}
}

// Placed is called once the new conversations have their ids and numbers:
// it names the numbered ones and points the new messages and the
// activities at their conversations.
func (p *IngestPlan) Placed() {
	for c := range p.numbered {
		// Chats without a nickname (the widget's) are named by request number.
		c.Title = "#" + itoa(c.Number)
	}
	for k := range p.Decisions {
		d := &p.Decisions[k]
		if d.Message != nil && d.Outcome != OutcomeEdit {
			d.Message.ConversationID = d.Conv.ID
		}
		if d.Activity != nil {
			d.Activity.ConversationID = d.Conv.ID
		}
	}
}

// Settle is called once the new messages have their ids: it brings each
// conversation to its state after each message, in order, with that
// moment's events, and returns the activities to store and each message's
// result (zero for an error).
func (p *IngestPlan) Settle(ev func(kind EventKind, c *Conversation, m *Message)) ([]*Activity, []IngestResult) {
	results := make([]IngestResult, len(p.Decisions))
	var acts []*Activity
	for k := range p.Decisions {
		d := &p.Decisions[k]
		if d.Activity != nil {
			acts = append(acts, d.Activity)
		}
		switch d.Outcome {
		case OutcomeError:
		case OutcomeDuplicate:
			results[k] = d.Result
			if d.DupOf >= 0 {
				r := results[d.DupOf]
				results[k] = IngestResult{MessageID: r.MessageID, ConversationID: r.ConversationID, Duplicate: true}
			}
		case OutcomeEdit:
			if d.edits != nil {
				d.Message.ID = d.edits.ID
				d.Message.ConversationID = d.edits.ConversationID
				d.Activity.Data["message_id"] = itoa(d.edits.ID)
			}
			results[k] = IngestResult{MessageID: d.Message.ID, ConversationID: d.Conv.ID}
			ev(EventMessageUpdated, d.Conv, d.Message)
		default:
			d.Conv.LastInboundID = d.Message.ID
			d.Conv.Preview = preview(d.Message)
			ev(d.Kind, d.Conv, nil)
			ev(EventMessageCreated, d.Conv, d.Message)
			results[k] = IngestResult{MessageID: d.Message.ID, ConversationID: d.Conv.ID}
		}
	}
	return acts, results
}
