package queues

import (
	"context"
	"encoding/json"
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

// HandleEvent reacts to a committed event of the journal hub: customer
// messages notify agents (new chat, my conversation, missed while
// offline, registered contact) and get the automatic first answer when
// their queue is closed. The daemon feeds it every event, in order.
func (m *Manager) HandleEvent(ctx context.Context, e inbox.Event) error {
	if e.Kind != inbox.EventMessageCreated {
		return nil
	}
	var v inbox.MessageView
	if err := json.Unmarshal(e.Payload, &v); err != nil || v.Direction != inbox.DirectionIn {
		return nil
	}
	ms, err := m.o.Store.Messages(ctx, e.ConversationID, v.ID-1, 1)
	if err != nil {
		return err
	}
	if len(ms) == 0 || ms[0].ID != v.ID {
		return nil // edited away or deleted: nothing to tell
	}
	msg := &ms[0]
	conv, _, err := m.o.Store.ConversationView(ctx, e.ConversationID)
	if err != nil {
		return err
	}
	q, ok := m.queues[conv.Queue]
	if !ok {
		return nil
	}
	now := m.o.Clock.Now()
	if msg.Meta[metaRegistered] != "" {
		return m.notify(ctx, notify.Event{Kind: notify.RegisteredContact, Queue: q.ID}, q, conv, nil, formOf(msg, q), now)
	}
	var nev notify.Event
	switch conv.Status {
	case inbox.StatusUnassigned:
		// A chat is new when this message starts its wait: nothing from
		// the customer since the team last wrote (or ever).
		prev, err := m.o.Store.PreviousMessage(ctx, conv.ID, msg.ID)
		if err != nil {
			return err
		}
		if prev == nil || prev.Direction == inbox.DirectionOut {
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
		if err := m.notify(ctx, nev, q, conv, msg, nil, now); err != nil {
			return err
		}
	}
	return m.autoReply(ctx, q, conv, msg, now)
}

// autoReply answers a customer message on a closed queue's non-widget
// channel, once per conversation per closed period.
func (m *Manager) autoReply(ctx context.Context, q *Queue, conv *inbox.Conversation, msg *inbox.Message, now time.Time) error {
	ch, ok := m.channels[conv.ChannelID]
	if !ok || ch.Kind == "widget" || msg.Auto || conv.Status == inbox.StatusActive || m.o.Service == nil {
		return nil
	}
	states, err := m.o.Store.QueueStates(ctx)
	if err != nil {
		return err
	}
	st := states[q.ID]
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
	_, err = m.o.Service.AutoReply(ctx, inbox.AutoReplyRequest{ConversationID: conv.ID, InboundID: msg.ID,
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

// notify tells the agents concerned about ev: in-app now, by email now,
// or into a transcript for later.
func (m *Manager) notify(ctx context.Context, ev notify.Event, q *Queue, conv *inbox.Conversation, msg *inbox.Message,
	form *notify.ContactForm, now time.Time) error {
	agents, err := m.o.Store.Agents(ctx)
	if err != nil {
		return err
	}
	cands := make([]notify.Agent, len(agents))
	for i := range agents {
		s, err := notify.DecodeSettings([]byte(agents[i].Settings), notify.DefaultSettings())
		if err != nil {
			s = notify.DefaultSettings()
		}
		cands[i] = notify.Agent{User: &agents[i].User, Settings: s}
	}
	plan := notify.Recipients(ev, cands, now, q.SlowAfter)
	if plan.Empty() {
		return nil
	}
	var ns []Notification
	payload := m.inAppPayload(ev.Kind, q, conv, msg, form)
	for _, u := range plan.InApp {
		ns = append(ns, Notification{UserID: u.ID, Kind: string(ev.Kind), ConversationID: conv.ID, Queue: q.ID,
			Payload: payload, CreatedAt: now})
	}
	if err := m.o.Store.AddNotifications(ctx, ns); err != nil {
		return err
	}
	m.feed.publish(ns)
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
	return nil
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
	waiting, err := m.o.Store.WaitingChats(ctx, maxWaiting)
	if err != nil {
		return err
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
		conv, _, err := m.o.Store.ConversationView(ctx, w.ConversationID)
		if err != nil {
			return err
		}
		if err := m.notify(ctx, notify.Event{Kind: notify.SlowChat, Queue: q.ID, WaitingSince: w.Since}, q, conv, nil, nil, now); err != nil {
			return err
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
