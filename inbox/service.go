package inbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"
)

// ChannelInfo is what the service knows of a configured channel.
type ChannelInfo struct {
	ID    string
	Kind  string
	Name  string
	Queue string
	// NamedByNumber: the channel's customers have no name the team knows
	// them by (the widget's visitors), so its chats are named by request
	// number.
	NamedByNumber bool
}

// Ref returns the client shape of the channel.
func (c ChannelInfo) Ref() ChannelRef { return ChannelRef{ID: c.ID, Kind: c.Kind, Name: c.Name} }

// Options configures a Service.
type Options struct {
	Store     Store
	Clock     Clock
	Publisher Publisher
	Channels  []ChannelInfo
	// Senders are looked up for ReplyChecker before a reply is stored.
	Senders      map[string]Sender
	ReopenWindow time.Duration
	Logger       *slog.Logger
	// OutboxWake is called after a reply commits (non-blocking).
	OutboxWake func()
	// Observer is told what ingest stores and refuses (default: nothing).
	Observer IngestObserver
	// Queues are the configured queues' ids (transfers go to one of them).
	Queues []string
}

// Service performs every change to conversations: ingest of customer
// messages and agents' actions. Each method is one transaction that also
// writes its activity entry and events; events are published after commit.
type Service struct {
	store    Store
	clock    Clock
	pub      Publisher
	channels map[string]ChannelInfo
	senders  map[string]Sender
	reopen   time.Duration
	log      *slog.Logger
	wake     func()
	obs      IngestObserver
	rules    PlanRules
	queues   map[string]bool
	// queue feeds the group committers (nil: no group commit).
	queue  chan *ingestReq
	linger time.Duration
}

// NewService returns a service. Channels must be unique by ID.
func NewService(o Options) *Service {
	s := &Service{
		store: o.Store, clock: o.Clock, pub: o.Publisher, senders: o.Senders,
		reopen: o.ReopenWindow, log: o.Logger, wake: o.OutboxWake, obs: o.Observer,
		channels: map[string]ChannelInfo{}, queues: map[string]bool{},
	}
	for _, q := range o.Queues {
		s.queues[q] = true
	}
	if s.obs == nil {
		s.obs = NopObserver{}
	}
	if s.clock == nil {
		s.clock = SystemClock{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.reopen == 0 {
		s.reopen = 7 * 24 * time.Hour
	}
	if s.wake == nil {
		s.wake = func() {}
	}
	for _, c := range o.Channels {
		s.channels[c.ID] = c
	}
	s.rules = PlanRules{Channels: s.channels, ReopenWindow: s.reopen, NewToken: newToken}
	return s
}

// Channel returns a configured channel.
func (s *Service) Channel(id string) (ChannelInfo, bool) {
	c, ok := s.channels[id]
	return c, ok
}

// Channels returns every configured channel.
func (s *Service) Channels() []ChannelInfo {
	out := make([]ChannelInfo, 0, len(s.channels))
	for _, c := range s.channels {
		out = append(out, c)
	}
	return out
}

// Summary returns the journal shape of c.
func (s *Service) Summary(c *Conversation) ConversationSummary {
	parts := c.Participants
	if parts == nil {
		parts = []Participant{}
	}
	return ConversationSummary{
		ID: c.ID, Number: c.Number, Title: c.Title, Status: c.Status, Queue: c.Queue,
		Channel: s.channels[c.ChannelID].Ref(), Participants: parts,
		LastMessageAt: c.LastMessageAt, LastActivityAt: c.LastActivityAt, Preview: c.Preview,
	}
}

// maxTxAttempts bounds retries of a transaction that lost a uniqueness race.
const maxTxAttempts = 4

// inTx runs fn in a transaction, retrying on ErrRetryTx, and publishes the
// events fn collected once the transaction has committed.
func (s *Service) inTx(ctx context.Context, fn func(tx Tx, evs *eventSink) error) error {
	return runTx(ctx, s, s.store.InTx, fn)
}

// runTx is every transaction with events, whatever part of the store it
// runs on (begin): fn's events are inserted in the transaction and
// published after its commit; a lost uniqueness race runs it again.
func runTx[T EventTx](ctx context.Context, s *Service, begin func(context.Context, func(T) error) error,
	fn func(tx T, evs *eventSink) error) error {
	var err error
	for attempt := 0; attempt < maxTxAttempts; attempt++ {
		sink := &eventSink{svc: s}
		err = begin(ctx, func(tx T) error {
			if err := fn(tx, sink); err != nil {
				return err
			}
			if len(sink.events) == 0 {
				return nil
			}
			return tx.InsertEvents(ctx, sink.events)
		})
		if errors.Is(err, ErrRetryTx) {
			continue
		}
		if err == nil && s.pub != nil && len(sink.events) > 0 {
			s.pub.Publish(sink.events)
		}
		return err
	}
	return err
}

// eventSink collects a transaction's events.
type eventSink struct {
	svc    *Service
	events []Event
}

func (e *eventSink) conversation(kind EventKind, c *Conversation, now time.Time) {
	e.add(kind, c, s2json(e.svc.Summary(c)), now)
}

func (e *eventSink) message(kind EventKind, c *Conversation, m *Message, now time.Time) {
	e.add(kind, c, s2json(m.View()), now)
}

func (e *eventSink) add(kind EventKind, c *Conversation, payload []byte, now time.Time) {
	ids := make([]int64, 0, len(c.Participants))
	for _, p := range c.Participants {
		ids = append(ids, p.ID)
	}
	e.events = append(e.events, Event{
		Kind: kind, ConversationID: c.ID, Queue: c.Queue, Status: c.Status,
		Participants: ids, Payload: payload, CreatedAt: now,
	})
}

func s2json(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only plain domain structs are marshalled here.
		panic("inbox: marshal event payload: " + err.Error())
	}
	return b
}

// Ingest implements Ingester: a group of one, or with group commit
// started, one of a group shared with concurrent calls.
func (s *Service) Ingest(ctx context.Context, in Inbound) (IngestResult, error) {
	if s.queue != nil {
		if err := s.admit(&in); err != nil {
			s.rejected(ctx, in.ChannelID, err)
			return IngestResult{}, err
		}
		res, err := s.enqueue(ctx, in)
		if err != nil {
			s.rejected(ctx, in.ChannelID, err)
		} else if !res.Duplicate {
			s.obs.Ingested(in.ChannelID)
		}
		return res, err
	}
	rs, err := s.IngestBatch(ctx, []Inbound{in}, nil)
	if err != nil {
		return IngestResult{}, err
	}
	return rs[0], nil
}

// admit sanitizes and validates a message before it joins a group.
func (s *Service) admit(in *Inbound) error {
	in.Sanitize()
	if err := in.Validate(); err != nil {
		return err
	}
	if _, ok := s.channels[in.ChannelID]; !ok {
		return Invalid("channel", "unknown channel %q", in.ChannelID)
	}
	return nil
}

// IngestBatch implements Ingester: the messages and the cursor commit in
// one transaction, all or none.
func (s *Service) IngestBatch(ctx context.Context, ins []Inbound, cursor *Cursor) ([]IngestResult, error) {
	ptrs := make([]*Inbound, len(ins))
	for i := range ins {
		if err := s.admit(&ins[i]); err != nil {
			// The message at fault is refused; the others were not looked at.
			s.rejected(ctx, ins[i].ChannelID, err)
			return nil, err
		}
		ptrs[i] = &ins[i]
	}
	var results []IngestResult
	started := time.Now()
	err := s.inTx(ctx, func(tx Tx, evs *eventSink) error {
		rs, errs, err := s.ingestGroup(ctx, tx, evs, ptrs, s.clock.Now())
		if err == nil {
			err = firstErr(errs)
		}
		if err != nil {
			return err
		}
		results = rs
		return saveCursor(ctx, tx, cursor)
	})
	if len(ins) > 0 {
		s.obs.Group(len(ins), time.Since(started))
	}
	if err != nil {
		for i := range ins {
			s.rejected(ctx, ins[i].ChannelID, err)
		}
		return nil, err
	}
	s.ingested(ins, results)
	return results, nil
}

// IngestWith stores one message like Ingest and, in the same transaction,
// runs with with its result: what with writes commits with the message,
// and when with fails nothing of the message is kept (no conversation
// without the record that explains it). It does not join group commit:
// its callers are rare (the offline contact form).
func (s *Service) IngestWith(ctx context.Context, in Inbound, with func(ctx context.Context, tx Tx, res IngestResult) error) (IngestResult, error) {
	if err := s.admit(&in); err != nil {
		s.rejected(ctx, in.ChannelID, err)
		return IngestResult{}, err
	}
	var res IngestResult
	err := s.inTx(ctx, func(tx Tx, evs *eventSink) error {
		rs, errs, err := s.ingestGroup(ctx, tx, evs, []*Inbound{&in}, s.clock.Now())
		if err == nil {
			err = errs[0]
		}
		if err != nil {
			return err
		}
		res = rs[0]
		return with(ctx, tx, res)
	})
	if err != nil {
		s.rejected(ctx, in.ChannelID, err)
		return IngestResult{}, err
	}
	s.ingested([]Inbound{in}, []IngestResult{res})
	return res, nil
}

func saveCursor(ctx context.Context, tx IngestTx, c *Cursor) error {
	if c == nil {
		return nil
	}
	return tx.SaveCursor(ctx, *c)
}

// UpdateDelivery implements Ingester.
func (s *Service) UpdateDelivery(ctx context.Context, ups []DeliveryUpdate) error {
	if len(ups) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx Tx, evs *eventSink) error {
		now := s.clock.Now()
		for _, u := range ups {
			m, err := tx.SetDelivery(ctx, u.ChannelID, u.ProviderID, u.State, u.Error)
			if err != nil {
				return err
			}
			if m == nil {
				continue
			}
			conv, err := tx.Conversation(ctx, m.ConversationID)
			if err != nil {
				return err
			}
			evs.message(EventMessageUpdated, conv, m, now)
		}
		return nil
	})
}

// Cursor implements Ingester.
func (s *Service) Cursor(ctx context.Context, channelID, key string) (string, error) {
	var v string
	err := s.store.InTx(ctx, func(tx Tx) error {
		var err error
		v, err = tx.Cursor(ctx, channelID, key)
		return err
	})
	return v, err
}

// SaveCursor implements Ingester.
func (s *Service) SaveCursor(ctx context.Context, c Cursor) error {
	return s.store.InTx(ctx, func(tx Tx) error { return tx.SaveCursor(ctx, c) })
}

// Reply stores an agent's reply as pending with its outbox row, applying
// the state machine (a reply takes an unassigned conversation).
func (s *Service) Reply(ctx context.Context, actor *User, conversationID int64, text string) (*Message, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return nil, Invalid("text", "is required")
	case len(text) > MaxTextBytes:
		return nil, &Error{Code: ETooLarge, Field: "text", Message: "text is too long"}
	case !utf8.ValidString(text):
		return nil, Invalid("text", "is not valid UTF-8")
	}
	var msg *Message
	err := s.inTx(ctx, func(tx Tx, evs *eventSink) error {
		now := s.clock.Now()
		conv, err := s.visible(ctx, tx, actor, conversationID)
		if err != nil {
			return err
		}
		if chk, ok := s.senders[conv.ChannelID].(ReplyChecker); ok {
			if err := chk.CheckReply(ctx, conv, now); err != nil {
				return err
			}
		}
		if err := s.apply(ctx, tx, evs, conv, actor, ActionReply, now); err != nil {
			return err
		}
		msg = &Message{
			ConversationID: conv.ID, ChannelID: conv.ChannelID, Direction: DirectionOut,
			AuthorID: actor.ID, AuthorName: actor.Name, Text: text, Delivery: DeliveryPending, CreatedAt: now,
		}
		if err := tx.InsertMessage(ctx, msg); err != nil {
			return err
		}
		if err := tx.Enqueue(ctx, msg, now); err != nil {
			return err
		}
		conv.LastActivityAt, conv.LastMessageAt, conv.Preview = now, now, preview(msg)
		if err := tx.UpdateConversation(ctx, conv); err != nil {
			return err
		}
		evs.conversation(EventConversationUpdated, conv, now)
		evs.message(EventMessageCreated, conv, msg, now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.wake()
	return msg, nil
}

// Act performs join, leave or close.
func (s *Service) Act(ctx context.Context, actor *User, conversationID int64, a Action) (*Conversation, error) {
	if a == ActionReply {
		return nil, Invalid("action", "use Reply")
	}
	var conv *Conversation
	err := s.inTx(ctx, func(tx Tx, evs *eventSink) error {
		now := s.clock.Now()
		var err error
		conv, err = s.visible(ctx, tx, actor, conversationID)
		if err != nil {
			return err
		}
		return s.apply(ctx, tx, evs, conv, actor, a, now)
	})
	return conv, err
}

// RetryFailed puts a failed reply back into the outbox.
func (s *Service) RetryFailed(ctx context.Context, actor *User, messageID int64) (*Message, error) {
	var msg *Message
	err := s.inTx(ctx, func(tx Tx, evs *eventSink) error {
		m, err := tx.Message(ctx, messageID)
		if err != nil {
			return err
		}
		conv, err := s.visible(ctx, tx, actor, m.ConversationID)
		if err != nil {
			return err
		}
		if m.Direction != DirectionOut || m.Delivery != DeliveryFailed {
			return Errorf(EConflict, "only a failed reply can be retried")
		}
		now := s.clock.Now()
		m.Delivery, m.Error = DeliveryPending, ""
		if err := tx.RetryMessage(ctx, m, now); err != nil {
			return err
		}
		evs.message(EventMessageUpdated, conv, m, now)
		msg = m
		return nil
	})
	if err == nil {
		s.wake()
	}
	return msg, err
}

// visible loads a conversation for an actor: ENotFound when the actor may
// not see it (its existence is not revealed).
func (s *Service) visible(ctx context.Context, tx ActionTx, actor *User, id int64) (*Conversation, error) {
	conv, err := tx.Conversation(ctx, id)
	if err != nil {
		return nil, err
	}
	if !CanAct(actor, conv) {
		return nil, Errorf(ENotFound, "conversation not found")
	}
	return conv, nil
}

// apply runs the state machine and writes what it decided.
func (s *Service) apply(ctx context.Context, tx ActionTx, evs *eventSink, conv *Conversation, actor *User, a Action, now time.Time) error {
	t, err := Decide(conv, actor, a)
	if err != nil || !t.Changes() {
		return err
	}
	if t.AddParticipant {
		if err := tx.AddParticipant(ctx, conv.ID, actor, now); err != nil {
			return err
		}
		conv.Participants = append(conv.Participants, Participant{ID: actor.ID, Name: actor.Name})
	}
	if t.RemoveParticipant {
		if err := tx.RemoveParticipant(ctx, conv.ID, actor.ID); err != nil {
			return err
		}
		kept := conv.Participants[:0]
		for _, p := range conv.Participants {
			if p.ID != actor.ID {
				kept = append(kept, p)
			}
		}
		conv.Participants = kept
	}
	if t.Owner >= 0 {
		conv.OwnerID = t.Owner
	}
	conv.Status = t.Status
	switch t.Status {
	case StatusInactive:
		conv.ClosedAt = now
	default:
		conv.ClosedAt = time.Time{}
	}
	conv.LastActivityAt = now
	if err := tx.UpdateConversation(ctx, conv); err != nil {
		return err
	}
	if err := tx.InsertActivity(ctx, &Activity{Queue: conv.Queue, Kind: t.Activity, ConversationID: conv.ID,
		ActorID: actor.ID, ActorName: actor.Name, CreatedAt: now}); err != nil {
		return err
	}
	evs.conversation(EventConversationUpdated, conv, now)
	return nil
}

func conversationTitle(in *Inbound, c *Contact) string {
	switch {
	case in.Title != "":
		return truncate(in.Title, 200)
	case c.Username != "":
		// The nickname is what the team knows a customer by.
		return "@" + strings.TrimPrefix(c.Username, "@")
	case c.Name != "":
		return truncate(c.Name, 200)
	}
	return c.ExternalID
}

func preview(m *Message) string {
	t := strings.Join(strings.Fields(m.Text), " ")
	if t == "" && len(m.Attachments) > 0 {
		t = "[" + m.Attachments[0].Name + "]"
	}
	return truncate(t, 140)
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func newToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("inbox: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b)
}

var _ Ingester = (*Service)(nil)
