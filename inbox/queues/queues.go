package queues

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/hours"
	"github.com/inboxd/inboxd/inbox/notify"
)

// Queue is a configured queue (queues[] in the config file).
type Queue struct {
	ID, Name string
	Schedule *hours.Schedule
	Offline  hours.OfflineConfig
	// OfflineMessage is offline.message; OnlineMessage online_message.
	OfflineMessage string
	OnlineMessage  string
	Questions      []Question
	SlowAfter      time.Duration
}

// Question is a contact form question (offline.questions[]).
type Question struct {
	ID       string `json:"id"`
	Label    string `json:"label"`
	Required bool   `json:"required"`
}

// Service is the write side this package drives: ingest for registered
// contacts, and the automatic first answer.
type Service interface {
	// IngestWith stores a message and runs with in its transaction.
	IngestWith(ctx context.Context, in inbox.Inbound, with func(ctx context.Context, tx inbox.Tx, res inbox.IngestResult) error) (inbox.IngestResult, error)
	AutoReply(ctx context.Context, r inbox.AutoReplyRequest) (*inbox.Message, error)
}

// Options configures a Manager.
type Options struct {
	Store     Store
	Service   Service
	Publisher inbox.Publisher
	Clock     inbox.Clock
	Logger    *slog.Logger
	Queues    []Queue
	Channels  []inbox.ChannelInfo
	// IdleAfter is presence.idle_after (default 15 min).
	IdleAfter time.Duration
	// Mailer sends notification emails; nil: no emails.
	Mailer notify.Mailer
	// PublicURL is the config's public_url, for links in emails.
	PublicURL string
	// Batcher collects missed messages into transcripts (zero value:
	// notify's defaults).
	Batcher *notify.Batcher
}

// Manager applies opening hours, presence and notifications.
type Manager struct {
	o        Options
	queues   map[string]*Queue
	order    []string
	channels map[string]inbox.ChannelInfo
	log      *slog.Logger
	batcher  *notify.Batcher
	feed     *feed
	mails    chan outMail

	mu sync.Mutex
	// slowTold remembers the waiting chats invisible agents were told
	// about, by the instant they started waiting.
	slowTold map[int64]time.Time
}

// New returns a manager.
func New(o Options) *Manager {
	if o.Clock == nil {
		o.Clock = inbox.SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.IdleAfter <= 0 {
		o.IdleAfter = hours.DefaultIdleAfter
	}
	m := &Manager{o: o, queues: map[string]*Queue{}, channels: map[string]inbox.ChannelInfo{}, log: o.Logger,
		batcher: o.Batcher, feed: newFeed(), mails: make(chan outMail, mailQueue), slowTold: map[int64]time.Time{}}
	if m.batcher == nil {
		m.batcher = &notify.Batcher{}
	}
	for i := range o.Queues {
		q := &o.Queues[i]
		if q.Schedule == nil {
			q.Schedule, _ = hours.Parse(hours.Config{})
		}
		m.queues[q.ID] = q
		m.order = append(m.order, q.ID)
	}
	for _, c := range o.Channels {
		m.channels[c.ID] = c
	}
	return m
}

// View is a queue as GET /api/v1/queues shows it.
type View struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Open     bool           `json:"open"`
	Mode     hours.Mode     `json:"mode"`
	Override hours.Override `json:"override"`
	// NextChangeAt is when the schedule next opens or closes the queue;
	// null while the override holds it or when nothing changes.
	NextChangeAt   *time.Time `json:"next_change_at"`
	Hours          string     `json:"hours"`
	Timezone       string     `json:"timezone"`
	OfflineMessage string     `json:"offline_message"`
	OnlineMessage  string     `json:"online_message"`
	OfflineMode    string     `json:"offline_mode"`
	Questions      []Question `json:"questions"`
	AgentsOnline   int        `json:"agents_online"`
}

// status is a queue's computed state at now.
type status struct {
	open     bool // effective: schedule and override
	override hours.Override
	online   int // agents online serving the queue
	mode     hours.Mode
	next     time.Time
}

func (m *Manager) status(q *Queue, st QueueState, agents []Agent, now time.Time) status {
	o := st.Override
	if !o.Valid() {
		o = hours.OverrideAuto
	}
	s := status{override: o, open: hours.Effective(q.Schedule.IsOpen(now), o)}
	for i := range agents {
		u := &agents[i].User
		if u.Presence == inbox.PresenceOnline && inbox.ServesQueue(u, q.ID) {
			s.online++
		}
	}
	s.mode = hours.DecideMode(q.Schedule.IsOpen(now), o, s.online > 0, q.Offline)
	if o == hours.OverrideAuto {
		s.next = q.Schedule.NextChange(now)
	}
	return s
}

func (m *Manager) view(q *Queue, s status) View {
	v := View{ID: q.ID, Name: q.Name, Open: s.open, Mode: s.mode, Override: s.override, Hours: q.Schedule.Describe(),
		Timezone: q.Schedule.Location().String(), OfflineMessage: q.OfflineMessage, OnlineMessage: q.OnlineMessage,
		OfflineMode: q.Offline.Mode, Questions: q.Questions, AgentsOnline: s.online}
	if v.OfflineMode == "" {
		v.OfflineMode = hours.OfflineMessage
	}
	if v.Questions == nil {
		v.Questions = []Question{}
	}
	if !s.next.IsZero() {
		t := s.next.UTC()
		v.NextChangeAt = &t
	}
	return v
}

// List returns the queues viewer may see: admins all, agents those they
// serve.
func (m *Manager) List(ctx context.Context, viewer *inbox.User) ([]View, error) {
	states, err := m.o.Store.QueueStates(ctx)
	if err != nil {
		return nil, err
	}
	agents, err := m.o.Store.Agents(ctx)
	if err != nil {
		return nil, err
	}
	now := m.o.Clock.Now()
	out := []View{}
	for _, id := range m.order {
		q := m.queues[id]
		if !viewer.Role.IsAdmin() && !inbox.ServesQueue(viewer, q.ID) {
			continue
		}
		out = append(out, m.view(q, m.status(q, states[q.ID], agents, now)))
	}
	return out, nil
}

// queueFor returns a queue a viewer may see; ENotFound otherwise.
func (m *Manager) queueFor(viewer *inbox.User, id string) (*Queue, error) {
	q, ok := m.queues[id]
	if !ok || (viewer != nil && !viewer.Role.IsAdmin() && !inbox.ServesQueue(viewer, id)) {
		return nil, inbox.Errorf(inbox.ENotFound, "queue not found")
	}
	return q, nil
}

// SetOverride sets a queue's global switch, recording the change and its
// effect (whether the queue opened or closed) in the activity log.
func (m *Manager) SetOverride(ctx context.Context, actor *inbox.User, id string, o hours.Override) (View, error) {
	if !actor.Role.IsAdmin() {
		return View{}, inbox.Errorf(inbox.EForbidden, "this needs an owner or admin")
	}
	if !o.Valid() {
		return View{}, inbox.Invalid("override", "must be auto, open or closed")
	}
	q, err := m.queueFor(actor, id)
	if err != nil {
		return View{}, err
	}
	for attempt := 0; attempt < 5; attempt++ {
		states, err := m.o.Store.QueueStates(ctx)
		if err != nil {
			return View{}, err
		}
		now := m.o.Clock.Now()
		prev, seen := states[q.ID]
		if !seen {
			prev = QueueState{Override: hours.OverrideAuto, CheckedAt: now, Open: q.Schedule.IsOpen(now)}
		}
		// Transitions the job has not recorded yet are recorded first, so
		// the log reads in order.
		acts, evs, st := m.catchUp(q, prev, now)
		before := st.Open
		st.Override, st.OverrideAt = o, now
		st.Open = hours.Effective(q.Schedule.IsOpen(now), o)
		data := map[string]string{"override": string(o), "previous": string(orAuto(prev.Override)),
			"effect": effect(before, st.Open)}
		acts = append(acts, inbox.Activity{Queue: q.ID, Kind: inbox.ActivityOverride, ActorID: actor.ID,
			ActorName: actor.Name, Data: data, CreatedAt: now})
		evs = append(evs, m.queueEvent(inbox.EventQueueOverride, q, st, now, data))
		if before != st.Open {
			evs = append(evs, m.queueEvent(openKind(st.Open), q, st, now, map[string]string{"by": "override"}))
		}
		var version int64
		if seen {
			version = prev.Version
		}
		ok, err := m.o.Store.AdvanceQueue(ctx, q.ID, version, &st, acts, evs)
		if err != nil {
			return View{}, err
		}
		if !ok {
			continue // the job moved first: read again
		}
		m.publish(evs)
		agents, err := m.o.Store.Agents(ctx)
		if err != nil {
			return View{}, err
		}
		return m.view(q, m.status(q, st, agents, now)), nil
	}
	return View{}, inbox.Errorf(inbox.EUnavailable, "the queue is busy, retry")
}

func orAuto(o hours.Override) hours.Override {
	if o.Valid() {
		return o
	}
	return hours.OverrideAuto
}

func effect(before, after bool) string {
	switch {
	case before == after && after:
		return "stays open"
	case before == after:
		return "stays closed"
	case after:
		return "opened"
	}
	return "closed"
}

func openKind(open bool) inbox.EventKind {
	if open {
		return inbox.EventQueueOpened
	}
	return inbox.EventQueueClosed
}

// queueEvent is an event about a queue; its payload is the queue's state.
func (m *Manager) queueEvent(kind inbox.EventKind, q *Queue, st QueueState, at time.Time, data map[string]string) inbox.Event {
	payload, _ := json.Marshal(map[string]any{"queue": q.ID, "open": st.Open, "override": orAuto(st.Override),
		"at": at.UTC(), "data": data})
	return inbox.Event{Kind: kind, Queue: q.ID, Payload: payload, CreatedAt: at}
}

func (m *Manager) publish(evs []inbox.Event) {
	if m.o.Publisher != nil && len(evs) > 0 {
		m.o.Publisher.Publish(evs)
	}
}

// WidgetConfig is what GET /widget/v1/{channel}/config answers.
type WidgetConfig struct {
	Mode         hours.Mode `json:"mode"`
	Message      string     `json:"message"`
	Hours        string     `json:"hours"`
	NextChangeAt *time.Time `json:"next_change_at"`
	Questions    []Question `json:"questions"`
}

// Widget returns what a widget channel's visitors see now. Unknown and
// non-widget channels are not found.
func (m *Manager) Widget(ctx context.Context, channelID string) (WidgetConfig, error) {
	q, _, err := m.widgetQueue(channelID)
	if err != nil {
		return WidgetConfig{}, err
	}
	states, err := m.o.Store.QueueStates(ctx)
	if err != nil {
		return WidgetConfig{}, err
	}
	agents, err := m.o.Store.Agents(ctx)
	if err != nil {
		return WidgetConfig{}, err
	}
	v := m.view(q, m.status(q, states[q.ID], agents, m.o.Clock.Now()))
	wc := WidgetConfig{Mode: v.Mode, Hours: v.Hours, NextChangeAt: v.NextChangeAt, Questions: []Question{}}
	switch v.Mode {
	case hours.ModeLive:
		wc.Message = q.OnlineMessage
	case hours.ModeHidden:
	default:
		wc.Message = q.OfflineMessage
	}
	if v.Mode == hours.ModeContactForm {
		wc.Questions = v.Questions
	}
	return wc, nil
}

func (m *Manager) widgetQueue(channelID string) (*Queue, inbox.ChannelInfo, error) {
	ch, ok := m.channels[channelID]
	if !ok || ch.Kind != "widget" {
		return nil, ch, inbox.Errorf(inbox.ENotFound, "no such widget channel")
	}
	q, ok := m.queues[ch.Queue]
	if !ok {
		return nil, ch, inbox.Errorf(inbox.ENotFound, "no such widget channel")
	}
	return q, ch, nil
}

// Questions returns a queue's contact form questions (for the CSV
// header); ENotFound when the viewer may not see the queue.
func (m *Manager) Questions(viewer *inbox.User, queue string) ([]Question, error) {
	q, err := m.queueFor(viewer, queue)
	if err != nil {
		return nil, err
	}
	return q.Questions, nil
}
