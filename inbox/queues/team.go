package queues

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/notify"
)

// teamEvents plans the notifications of what colleagues do to each other
// in a run of events: a conversation assigned to an agent (assigned), a
// private note mentioning colleagues (mention). Both go to the users named
// whatever their presence, by their settings (notify.Recipients).
func (m *Manager) teamEvents(ctx context.Context, b *run, evs []inbox.Event) error {
	var notes []inbox.MessageView
	var convIDs []int64
	now := m.o.Clock.Now()
	for _, e := range evs {
		switch e.Kind {
		case inbox.EventConversationAssigned:
			var v inbox.AssignedView
			if err := json.Unmarshal(e.Payload, &v); err != nil {
				continue
			}
			q, ok := m.queues[v.Conversation.Queue]
			if !ok {
				continue
			}
			conv := &inbox.Conversation{ID: v.Conversation.ID, Number: v.Conversation.Number, Title: v.Conversation.Title,
				Status: v.Conversation.Status, Queue: v.Conversation.Queue, ChannelID: v.Conversation.Channel.ID}
			ev := notify.Event{Kind: notify.Assigned, Queue: q.ID, Participants: []int64{v.Assignee.ID}, ActorID: v.By.ID}
			if err := m.notifyTeam(ctx, b, ev, q, conv, nil, map[string]any{"by": v.By, "from": v.From}, now); err != nil {
				return err
			}
		case inbox.EventMessageCreated:
			var v inbox.MessageView
			if err := json.Unmarshal(e.Payload, &v); err != nil || v.Kind != inbox.KindNote || len(v.Mentions) == 0 {
				continue
			}
			notes = append(notes, v)
			convIDs = append(convIDs, v.ConversationID)
		}
	}
	if len(notes) == 0 {
		return nil
	}
	convs, err := m.o.Store.ConversationsByID(ctx, convIDs)
	if err != nil {
		return err
	}
	for _, v := range notes {
		conv := convs[v.ConversationID]
		if conv == nil {
			continue
		}
		q, ok := m.queues[conv.Queue]
		if !ok {
			continue
		}
		ids := make([]int64, len(v.Mentions))
		for i, p := range v.Mentions {
			ids[i] = p.ID
		}
		msg := &inbox.Message{ID: v.ID, ConversationID: v.ConversationID, Direction: v.Direction, Kind: inbox.KindNote,
			Text: v.Text, Mentions: v.Mentions, CreatedAt: v.CreatedAt}
		var by inbox.Participant
		if v.Author != nil {
			by = *v.Author
			msg.AuthorID, msg.AuthorName = by.ID, by.Name
		}
		ev := notify.Event{Kind: notify.Mention, Queue: q.ID, Participants: ids, ActorID: by.ID}
		if err := m.notifyTeam(ctx, b, ev, q, conv, msg, map[string]any{"by": by}, now); err != nil {
			return fmt.Errorf("note %d: %w", v.ID, err)
		}
	}
	return nil
}

// notifyTeam is notify for the team's own events: the in-app payload also
// says who did it (extra), and the email shows the note, if any.
func (m *Manager) notifyTeam(ctx context.Context, b *run, ev notify.Event, q *Queue, conv *inbox.Conversation,
	msg *inbox.Message, extra map[string]any, now time.Time) error {
	plan, err := m.recipients(ctx, b, ev, q, now)
	if err != nil || plan.Empty() {
		return err
	}
	var p map[string]any
	_ = json.Unmarshal(m.inAppPayload(ev.Kind, q, conv, msg, nil), &p)
	for k, v := range extra {
		p[k] = v
	}
	payload, _ := json.Marshal(p)
	for _, u := range plan.InApp {
		b.ns = append(b.ns, Notification{UserID: u.ID, Kind: string(ev.Kind), ConversationID: conv.ID, Queue: q.ID,
			Payload: payload, CreatedAt: now})
	}
	b.after = append(b.after, func() {
		for _, u := range plan.Email {
			c := m.content(q, conv, []string{u.Email})
			if msg != nil {
				c.Messages = []inbox.Message{*msg}
			}
			m.queueMail(notify.Compose(ev.Kind, c), u.ID)
		}
	})
	return nil
}
