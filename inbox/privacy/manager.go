package privacy

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

// Bounds of the work privacy does at once.
const (
	// MaxExportMessages bounds an export through the API (413 beyond); the
	// command line exports without a bound.
	MaxExportMessages = 50000
	// DefaultBatch is the conversations a retention transaction deletes.
	DefaultBatch = 200
	// DefaultRunBudget bounds one retention run; what is left waits for
	// the next run.
	DefaultRunBudget = 2 * time.Minute
)

// Observer is told of each retention run (metrics); nil: nobody.
type Observer interface {
	RetentionRun(r RunResult)
}

// Options configures a Manager.
type Options struct {
	Store     Store
	Clock     inbox.Clock
	Publisher inbox.Publisher
	Logger    *slog.Logger
	Policy    Policy
	// Batch is the conversations per retention transaction (default
	// DefaultBatch); RunBudget bounds a run (default DefaultRunBudget).
	Batch     int
	RunBudget time.Duration
	Observer  Observer
}

// Manager exports and erases a person's data and runs the retention
// policy.
type Manager struct {
	o Options
}

// New returns a manager.
func New(o Options) *Manager {
	if o.Clock == nil {
		o.Clock = inbox.SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.RunBudget <= 0 {
		o.RunBudget = DefaultRunBudget
	}
	return &Manager{o: o}
}

// Actor is who asks, and from where (recorded in the audit log).
type Actor struct {
	User *inbox.User
	IP   string
}

func (a Actor) entry(action inbox.AuditAction, now time.Time, contactID int64) *inbox.AuditEntry {
	e := &inbox.AuditEntry{CreatedAt: now, IP: a.IP, Action: action, TargetType: "contact",
		TargetID: strconv.FormatInt(contactID, 10)}
	if a.User != nil {
		e.ActorID, e.ActorName = a.User.ID, a.User.Name
	} else {
		e.ActorName = "command line"
	}
	return e
}

// authorize applies CanManage to an API caller; the command line (no
// user) runs with the database's own rights.
func authorize(a Actor, cli bool) error {
	if cli && a.User == nil {
		return nil
	}
	if !CanManage(a.User) {
		return inbox.Errorf(inbox.EForbidden, "exporting and erasing a person's data needs an owner or admin")
	}
	return nil
}

// Export returns everything kept about a contact and records the export
// (contact.exported) in the audit log: no data leaves without its record.
// Through the API (a.User set) it is for owners and admins and bounded
// by MaxExportMessages.
func (m *Manager) Export(ctx context.Context, a Actor, contactID int64) (*Export, error) {
	return m.export(ctx, a, contactID, false)
}

// ExportCLI is Export for the command line: no user, no bound.
func (m *Manager) ExportCLI(ctx context.Context, contactID int64) (*Export, error) {
	return m.export(ctx, Actor{}, contactID, true)
}

func (m *Manager) export(ctx context.Context, a Actor, contactID int64, cli bool) (*Export, error) {
	if err := authorize(a, cli); err != nil {
		return nil, err
	}
	limit := MaxExportMessages
	if cli {
		limit = 0
	}
	x, err := m.o.Store.ContactExport(ctx, contactID, limit)
	if err != nil {
		return nil, err
	}
	now := m.o.Clock.Now()
	x.ExportedAt = now
	msgs := 0
	for _, c := range x.Conversations {
		msgs += len(c.Messages)
	}
	e := a.entry(inbox.AuditContactExported, now, contactID)
	e.Data = map[string]string{"conversations": strconv.Itoa(len(x.Conversations)), "messages": strconv.Itoa(msgs),
		"registered_contacts": strconv.Itoa(len(x.RegisteredContacts))}
	if err := m.o.Store.Audit(ctx, e); err != nil {
		return nil, err
	}
	m.o.Logger.Info("contact exported", "contact_id", contactID, "actor_id", e.ActorID, "conversations", len(x.Conversations))
	return x, nil
}

// Erase deletes a contact and everything of it — its conversations with
// their messages, attachments, events, activity, participants, read
// marks, outbox rows, registered-contact forms and notifications, and its
// widget visitors — in one transaction with its audit entry
// (contact.erased: ids and counts only) and a conversation.deleted event
// per conversation. Through the API it is for owners and admins.
func (m *Manager) Erase(ctx context.Context, a Actor, contactID int64) (Erased, error) {
	return m.erase(ctx, a, contactID, false)
}

// EraseCLI is Erase for the command line.
func (m *Manager) EraseCLI(ctx context.Context, contactID int64) (Erased, error) {
	return m.erase(ctx, Actor{}, contactID, true)
}

func (m *Manager) erase(ctx context.Context, a Actor, contactID int64, cli bool) (Erased, error) {
	if err := authorize(a, cli); err != nil {
		return Erased{}, err
	}
	now := m.o.Clock.Now()
	er, evs, err := m.o.Store.EraseContact(ctx, contactID, func(er Erased) (*inbox.AuditEntry, []inbox.Event) {
		e := a.entry(inbox.AuditContactErased, now, contactID)
		e.Data = er.Counts.auditData()
		return e, DeletedEvents(er.Conversations, now)
	})
	if err != nil {
		return Erased{}, err
	}
	if m.o.Publisher != nil && len(evs) > 0 {
		m.o.Publisher.Publish(evs)
	}
	var actorID int64
	if a.User != nil {
		actorID = a.User.ID
	}
	m.o.Logger.Info("contact erased", "contact_id", contactID, "actor_id", actorID,
		"conversations", er.Counts.Conversations, "messages", er.Counts.Messages)
	return er, nil
}

// DeletedEvents are the conversation.deleted events of erased
// conversations, visible to whoever could see each conversation.
func DeletedEvents(cs []ErasedConversation, now time.Time) []inbox.Event {
	evs := make([]inbox.Event, 0, len(cs))
	for _, c := range cs {
		payload, _ := json.Marshal(map[string]int64{"id": c.ID})
		evs = append(evs, inbox.Event{Kind: EventConversationDeleted, ConversationID: c.ID, Queue: c.Queue,
			Status: c.Status, Participants: c.Participants, Payload: payload, CreatedAt: now})
	}
	return evs
}

// FindContacts returns the contacts a lookup names: by email (trimmed,
// compared without case) or by channel and external id.
func (m *Manager) FindContacts(ctx context.Context, l Lookup) ([]inbox.Contact, error) {
	l.Email = strings.TrimSpace(l.Email)
	switch {
	case l.Email != "" && (l.ChannelID != "" || l.ExternalID != ""):
		return nil, inbox.Invalid("email", "give either an email or a channel and an id")
	case l.Email == "" && (l.ChannelID == "" || l.ExternalID == ""):
		return nil, inbox.Invalid("channel", "give an email, or a channel and an id")
	case len(l.Email) > 254:
		return nil, inbox.Invalid("email", "is longer than 254 bytes")
	}
	return m.o.Store.FindContacts(ctx, l)
}

// RunResult is one retention run.
type RunResult struct {
	Started  time.Time
	Duration time.Duration
	Deleted  Counts
	// Complete is false when the run stopped at its budget (or its
	// context) with conversations left to delete.
	Complete bool
}

// RunRetention deletes what the policy no longer keeps: per cutoff, one
// transaction of at most Batch conversations at a time, until none is
// left or the run's budget is spent. A run that deleted anything (or
// failed after deleting) is recorded in the audit log (retention.run,
// counts only).
func (m *Manager) RunRetention(ctx context.Context) (RunResult, error) {
	start := m.o.Clock.Now()
	res := RunResult{Started: start, Complete: true}
	began := time.Now()
	deadline := began.Add(m.o.RunBudget)
	var runErr error
cutoffs:
	for _, c := range m.o.Policy.Cutoffs(start) {
		for {
			if ctx.Err() != nil || time.Now().After(deadline) {
				res.Complete = false
				break cutoffs
			}
			n, err := m.o.Store.ExpireConversations(ctx, c, m.o.Batch)
			res.Deleted.Add(n)
			if err != nil {
				runErr = err
				res.Complete = false
				break cutoffs
			}
			if n.Conversations < int64(m.o.Batch) {
				break
			}
		}
	}
	res.Duration = time.Since(began)
	if res.Deleted.Conversations > 0 {
		e := &inbox.AuditEntry{CreatedAt: m.o.Clock.Now(), ActorName: "retention", Action: inbox.AuditRetentionRun,
			TargetType: "retention", Data: res.Deleted.auditData()}
		e.Data["complete"] = strconv.FormatBool(res.Complete)
		e.Data["duration_ms"] = strconv.FormatInt(res.Duration.Milliseconds(), 10)
		// The run's record must not be lost to the context that ended it.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := m.o.Store.Audit(actx, e); err != nil && runErr == nil {
			runErr = err
		}
	}
	if m.o.Observer != nil {
		m.o.Observer.RetentionRun(res)
	}
	return res, runErr
}
