package queues

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/hours"
	"github.com/inboxd/inboxd/inbox/notify"
)

// Message meta keys of a registered contact's message: the form travels
// with the message, so the notifier has it as soon as the message is
// committed.
const (
	metaRegistered = "registered_contact"
	metaFormName   = "form_name"
	metaFormEmail  = "form_email"
	metaFormAnswer = "form_answers"
)

// mailQueue bounds the emails waiting for the SMTP server; beyond it new
// ones are dropped with a warning rather than holding up the live feed.
const mailQueue = 1000

// HandleEvents reacts to a run of committed events of the journal hub, in
// order: customer messages notify agents (new chat, my conversation,
// missed while offline, registered contact) and get the automatic first
// answer when their queue is closed. The daemon feeds it every event.
// What the run needs is read in a few queries (the messages, their
// conversations, the messages before them, the agents, the queue states)
// and its in-app notifications are stored in one transaction, so the
// notifier keeps up with group-committed ingest. A message that fails is
// reported in the joined error; the others are still handled.
func (m *Manager) HandleEvents(ctx context.Context, evs []inbox.Event) error {
	b := &run{}
	var errs []error
	if err := m.teamEvents(ctx, b, evs); err != nil {
		errs = append(errs, err)
	}
	if err := m.customerMessages(ctx, b, evs); err != nil {
		errs = append(errs, err)
	}
	if err := m.flush(ctx, b); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// customerMessages plans the notifications of a run's customer messages.
func (m *Manager) customerMessages(ctx context.Context, b *run, evs []inbox.Event) error {
	var ids, convIDs []int64
	views := map[int64]inbox.MessageView{}
	for _, e := range evs {
		if e.Kind != inbox.EventMessageCreated {
			continue
		}
		var v inbox.MessageView
		if err := json.Unmarshal(e.Payload, &v); err != nil || v.Direction != inbox.DirectionIn {
			continue
		}
		views[v.ID] = v
		ids = append(ids, v.ID)
		convIDs = append(convIDs, e.ConversationID)
	}
	if len(ids) == 0 {
		return nil
	}
	msgs, err := m.o.Store.MessagesByID(ctx, ids)
	if err != nil {
		return err
	}
	convs, err := m.o.Store.ConversationsByID(ctx, convIDs)
	if err != nil {
		return err
	}
	// Unassigned conversations need the message before each one: a chat
	// is new when its message starts a wait.
	var waits []inbox.MessageRef
	for _, id := range ids {
		if msg, conv := msgs[id], convs[msgs[id].ConversationID]; msg != nil && conv != nil && conv.Status == inbox.StatusUnassigned {
			waits = append(waits, inbox.MessageRef{ConversationID: conv.ID, MessageID: id})
		}
	}
	prev, err := m.o.Store.PreviousMessages(ctx, waits)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		msg := msgs[id]
		if msg == nil {
			continue // edited away or deleted: nothing to tell
		}
		conv := convs[msg.ConversationID]
		if conv == nil {
			continue
		}
		if err := m.handleMessage(ctx, b, conv, msg, prev); err != nil {
			errs = append(errs, fmt.Errorf("message %d: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// run is what one HandleEvents call reads once and writes at the end.
type run struct {
	agents []Agent
	loaded bool
	states map[string]QueueState
	ns     []Notification
	// after runs once the notifications are stored: mails and
	// transcripts.
	after []func()
}

func (m *Manager) handleMessage(ctx context.Context, b *run, conv *inbox.Conversation, msg *inbox.Message,
	prev map[int64]*inbox.Message) error {
	q, ok := m.queues[conv.Queue]
	if !ok {
		return nil
	}
	now := m.o.Clock.Now()
	if msg.Meta[metaRegistered] != "" {
		return m.notify(ctx, b, notify.Event{Kind: notify.RegisteredContact, Queue: q.ID}, q, conv, nil, formOf(msg, q), now)
	}
	var nev notify.Event
	switch conv.Status {
	case inbox.StatusUnassigned:
		// A chat is new when this message starts its wait: nothing from
		// the customer since the team last wrote (or ever).
		if p := prev[msg.ID]; p == nil || p.Direction == inbox.DirectionOut {
			nev = notify.Event{Kind: notify.NewChat, Queue: q.ID, WaitingSince: msg.CreatedAt}
		}
	case inbox.StatusActive:
		ids := make([]int64, len(conv.Participants))
		for i, p := range conv.Participants {
			ids[i] = p.ID
		}
		nev = notify.Event{Kind: notify.MyConversation, Queue: q.ID, Participants: ids}
	}
	if nev.Kind != "" {
		if err := m.notify(ctx, b, nev, q, conv, msg, nil, now); err != nil {
			return err
		}
	}
	return m.autoReply(ctx, b, q, conv, msg, now)
}

// flush stores a run's in-app notifications in one transaction, then
// publishes them and does what waited for them.
func (m *Manager) flush(ctx context.Context, b *run) error {
	if len(b.ns) > 0 {
		if err := m.o.Store.AddNotifications(ctx, b.ns); err != nil {
			return err
		}
		m.feed.publish(b.ns)
	}
	for _, f := range b.after {
		f()
	}
	b.ns, b.after = nil, nil
	return nil
}

// autoReply answers a customer message on a closed queue's non-widget
// channel, once per conversation per closed period.
func (m *Manager) autoReply(ctx context.Context, b *run, q *Queue, conv *inbox.Conversation, msg *inbox.Message, now time.Time) error {
	ch, ok := m.channels[conv.ChannelID]
	if !ok || ch.Kind == "widget" || msg.Auto || conv.Status == inbox.StatusActive || m.o.Service == nil {
		return nil
	}
	if b.states == nil {
		states, err := m.o.Store.QueueStates(ctx)
		if err != nil {
			return err
		}
		b.states = states
	}
	st := b.states[q.ID]
	o := orAuto(st.Override)
	if hours.Effective(q.Schedule.IsOpen(now), o) {
		return nil
	}
	// The closed period is named by what ends it: the override's change,
	// or the schedule's next opening.
	period := "closed"
	if o == hours.OverrideClosed {
		period = "override:" + st.OverrideAt.UTC().Format(time.RFC3339Nano)
	} else if next := q.Schedule.NextChange(now); !next.IsZero() {
		period = "until:" + next.UTC().Format(time.RFC3339)
	}
	_, err := m.o.Service.AutoReply(ctx, inbox.AutoReplyRequest{ConversationID: conv.ID, InboundID: msg.ID,
		Period: period, Text: m.closedText(q)})
	return err
}

// closedText is the automatic answer: the offline message, or the hours.
func (m *Manager) closedText(q *Queue) string {
	if q.OfflineMessage != "" {
		return q.OfflineMessage
	}
	return "Thank you for your message. We are closed at the moment (opening hours: " + q.Schedule.Describe() +
		") and will answer when we are back."
}

func formOf(msg *inbox.Message, q *Queue) *notify.ContactForm {
	f := &notify.ContactForm{Name: msg.Meta[metaFormName], Email: msg.Meta[metaFormEmail], Message: msg.Text}
	answers := map[string]string{}
	_ = json.Unmarshal([]byte(msg.Meta[metaFormAnswer]), &answers)
	for _, qu := range q.Questions {
		if v, ok := answers[qu.ID]; ok && v != "" {
			f.Answers = append(f.Answers, notify.Answer{Label: qu.Label, Value: v})
		}
	}
	return f
}

// notify tells the agents concerned about ev: in-app, by email, or into
// a transcript for later. The in-app notifications are stored, and the
// rest done, when the run is flushed.
func (m *Manager) notify(ctx context.Context, b *run, ev notify.Event, q *Queue, conv *inbox.Conversation, msg *inbox.Message,
	form *notify.ContactForm, now time.Time) error {
	plan, err := m.recipients(ctx, b, ev, q, now)
	if err != nil || plan.Empty() {
		return err
	}
	payload := m.inAppPayload(ev.Kind, q, conv, msg, form)
	for _, u := range plan.InApp {
		b.ns = append(b.ns, Notification{UserID: u.ID, Kind: string(ev.Kind), ConversationID: conv.ID, Queue: q.ID,
			Payload: payload, CreatedAt: now})
	}
	b.after = append(b.after, func() {
		for _, u := range plan.Email {
			c := m.content(q, conv, []string{u.Email})
			c.Form = form
			if msg != nil && form == nil {
				c.Messages = []inbox.Message{*msg}
			}
			m.queueMail(notify.Compose(ev.Kind, c), u.ID)
		}
		if msg != nil {
			for _, u := range plan.Missed {
				m.batcher.Add(u.ID, *msg, now)
			}
		}
	})
	return nil
}

// recipients plans who hears about ev, with the run's agents (read once).
func (m *Manager) recipients(ctx context.Context, b *run, ev notify.Event, q *Queue, now time.Time) (notify.Plan, error) {
	if !b.loaded {
		agents, err := m.o.Store.Agents(ctx)
		if err != nil {
			return notify.Plan{}, err
		}
		b.agents, b.loaded = agents, true
	}
	cands := make([]notify.Agent, len(b.agents))
	for i := range b.agents {
		s, err := notify.DecodeSettings([]byte(b.agents[i].Settings), notify.DefaultSettings())
		if err != nil {
			s = notify.DefaultSettings()
		}
		cands[i] = notify.Agent{User: &b.agents[i].User, Settings: s}
	}
	return notify.Recipients(ev, cands, now, q.SlowAfter), nil
}

func (m *Manager) content(q *Queue, conv *inbox.Conversation, to []string) notify.Content {
	return notify.Content{PublicURL: m.o.PublicURL, To: to, Conversation: conv, QueueName: q.Name,
		ChannelName: m.channels[conv.ChannelID].Name, Location: q.Schedule.Location()}
}

func (m *Manager) inAppPayload(k notify.Kind, q *Queue, conv *inbox.Conversation, msg *inbox.Message, form *notify.ContactForm) []byte {
	p := map[string]any{
		"kind":         k,
		"queue":        q.ID,
		"conversation": map[string]any{"id": conv.ID, "number": conv.Number, "title": conv.Title, "status": conv.Status},
		"url":          notify.ConversationURL(m.o.PublicURL, conv),
	}
	if msg != nil {
		p["message"] = msg.View()
	}
	if form != nil {
		p["form"] = form
	}
	b, _ := json.Marshal(p)
	return b
}

// outMail is an email waiting for the mailer.
type outMail struct {
	mail   notify.Mail
	userID int64
}

func (m *Manager) queueMail(mail notify.Mail, userID int64) {
	if m.o.Mailer == nil {
		m.log.Debug("notification email not sent", "user_id", userID, "reason", errNoMailer.Error())
		return
	}
	select {
	case m.mails <- outMail{mail: mail, userID: userID}:
	default:
		m.log.Warn("notification email dropped: the mail queue is full", "user_id", userID)
	}
}

// RunMailer sends queued notification emails until ctx is done. A failed
// send is logged, not retried: a notification that comes late is noise.
func (m *Manager) RunMailer(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case om := <-m.mails:
			sctx, cancel := context.WithTimeout(ctx, time.Minute)
			err := notify.Send(sctx, m.o.Mailer, om.mail)
			cancel()
			if err != nil {
				m.log.Warn("notification email failed", "user_id", om.userID, "kind", om.mail.Headers["X-Inboxd-Notification"], "err", err)
			} else {
				m.log.Debug("notification email sent", "user_id", om.userID, "kind", om.mail.Headers["X-Inboxd-Notification"])
			}
		}
	}
}

// NotifyTick mails the transcripts that are due and tells invisible agents
// who asked for it about chats waiting longer than their queue's
// slow_after.
func (m *Manager) NotifyTick(ctx context.Context) error {
	now := m.o.Clock.Now()
	if due := m.batcher.Due(now); len(due) > 0 {
		agents, err := m.o.Store.Agents(ctx)
		if err != nil {
			return err
		}
		emails := map[int64]string{}
		for _, a := range agents {
			emails[a.User.ID] = a.User.Email
		}
		for _, t := range due {
			conv, _, err := m.o.Store.ConversationView(ctx, t.ConversationID)
			if err != nil || emails[t.AgentID] == "" {
				continue
			}
			q, ok := m.queues[conv.Queue]
			if !ok {
				continue
			}
			c := m.content(q, conv, []string{emails[t.AgentID]})
			tc := notify.TranscriptContent(t)
			c.Messages, c.Omitted = tc.Messages, tc.Omitted
			m.queueMail(notify.Compose(notify.MissedWhileOffline, c), t.AgentID)
		}
	}
	return m.slowChats(ctx, now)
}

// maxWaiting bounds one scan of waiting chats.
const maxWaiting = 1000

func (m *Manager) slowChats(ctx context.Context, now time.Time) error {
	// Only invisible agents who asked hear of slow chats: when no queue
	// has one, there is nothing to look for (the scan of waiting chats
	// grows with the unassigned conversations).
	b := &run{}
	anyone := false
	for _, q := range m.queues {
		ev := notify.Event{Kind: notify.SlowChat, Queue: q.ID, WaitingSince: time.Time{}.Add(time.Nanosecond)}
		plan, err := m.recipients(ctx, b, ev, q, now)
		if err != nil {
			return err
		}
		anyone = anyone || !plan.Empty()
	}
	var waiting []WaitingChat
	if anyone {
		var err error
		if waiting, err = m.o.Store.WaitingChats(ctx, maxWaiting); err != nil {
			return err
		}
	}
	still := map[int64]bool{}
	for _, w := range waiting {
		still[w.ConversationID] = true
		q, ok := m.queues[w.Queue]
		if !ok {
			continue
		}
		slow := q.SlowAfter
		if slow <= 0 {
			slow = notify.DefaultSlowAfter
		}
		m.mu.Lock()
		told := m.slowTold[w.ConversationID].Equal(w.Since)
		m.mu.Unlock()
		if told || now.Sub(w.Since) < slow {
			continue
		}
		// Most of the time nobody is to hear of it (only invisible agents
		// who asked are): the conversation is read only for a message.
		ev := notify.Event{Kind: notify.SlowChat, Queue: q.ID, WaitingSince: w.Since}
		if plan, err := m.recipients(ctx, b, ev, q, now); err != nil {
			return err
		} else if !plan.Empty() {
			conv, _, err := m.o.Store.ConversationView(ctx, w.ConversationID)
			if err != nil {
				return err
			}
			if err := m.notify(ctx, b, ev, q, conv, nil, nil, now); err != nil {
				return err
			}
			if err := m.flush(ctx, b); err != nil {
				return err
			}
		}
		m.mu.Lock()
		m.slowTold[w.ConversationID] = w.Since
		m.mu.Unlock()
	}
	m.mu.Lock()
	for id := range m.slowTold {
		if !still[id] {
			delete(m.slowTold, id)
		}
	}
	m.mu.Unlock()
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
