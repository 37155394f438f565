package privacy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"0": 0, "8760h": 8760 * time.Hour, "365d": 365 * 24 * time.Hour, "1d": 24 * time.Hour, " 30d ": 30 * 24 * time.Hour,
		"0d": 0, "48h30m": 48*time.Hour + 30*time.Minute,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1h", "-3d", "1h", "23h59m", "d", "1.5d", "3w", "1e9d", "ten days"} {
		if d, err := ParseDuration(in); err == nil {
			t.Errorf("%q: accepted as %v", in, d)
		}
	}
}

func TestCutoffs(t *testing.T) {
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	if cs := (Policy{}).Cutoffs(now); len(cs) != 0 || (Policy{}).Enabled() {
		t.Fatalf("the empty policy deletes: %+v", cs)
	}
	p := Policy{Default: 365 * day, Queues: map[string]time.Duration{"sales": 0, "vip": 30 * day}}
	cs := p.Cutoffs(now)
	if len(cs) != 2 || !p.Enabled() {
		t.Fatalf("cutoffs: %+v", cs)
	}
	if cs[0].Queue != "vip" || !cs[0].Before.Equal(now.Add(-30*day)) || len(cs[0].Except) != 0 {
		t.Errorf("vip: %+v", cs[0])
	}
	// The default covers every other queue: neither sales (kept for
	// ever) nor vip (its own retention).
	if cs[1].Queue != "" || !cs[1].Before.Equal(now.Add(-365*day)) || strings.Join(cs[1].Except, ",") != "sales,vip" {
		t.Errorf("default: %+v", cs[1])
	}
	// Only a queue with a retention: nothing else is deleted.
	p = Policy{Queues: map[string]time.Duration{"vip": 30 * day}}
	if cs := p.Cutoffs(now); len(cs) != 1 || cs[0].Queue != "vip" {
		t.Errorf("queue only: %+v", cs)
	}
}

func TestCanManage(t *testing.T) {
	for r, want := range map[inbox.Role]bool{inbox.RoleOwner: true, inbox.RoleAdmin: true, inbox.RoleAgent: false} {
		if CanManage(&inbox.User{Role: r}) != want {
			t.Errorf("%s: want %v", r, want)
		}
	}
	if CanManage(nil) {
		t.Error("nobody may manage")
	}
}

// fakeStore deletes from a count of conversations per cutoff.
type fakeStore struct {
	left    map[string]int // cutoff's queue ("" default) -> conversations to delete
	calls   int
	fail    error
	audits  []*inbox.AuditEntry
	erased  Erased
	evs     []inbox.Event
	exports int
}

func (f *fakeStore) ContactExport(ctx context.Context, id int64, max int) (*Export, error) {
	f.exports++
	return &Export{Contact: inbox.Contact{ID: id, Email: "x@example.com"}}, nil
}

func (f *fakeStore) EraseContact(ctx context.Context, id int64, record func(Erased) (*inbox.AuditEntry, []inbox.Event)) (Erased, []inbox.Event, error) {
	er := Erased{ContactID: id, Counts: Counts{Conversations: 1, Messages: 3, Contacts: 1},
		Conversations: []ErasedConversation{{ID: 7, Queue: "support", Status: inbox.StatusActive, Participants: []int64{2}}}}
	e, evs := record(er)
	f.audits = append(f.audits, e)
	f.erased, f.evs = er, evs
	return er, evs, nil
}

func (f *fakeStore) ExpireConversations(ctx context.Context, c Cutoff, limit int) (Counts, error) {
	f.calls++
	if f.fail != nil {
		return Counts{}, f.fail
	}
	n := min(f.left[c.Queue], limit)
	f.left[c.Queue] -= n
	return Counts{Conversations: int64(n), Messages: 2 * int64(n)}, nil
}

func (f *fakeStore) FindContacts(ctx context.Context, l Lookup) ([]inbox.Contact, error) {
	return nil, nil
}

func (f *fakeStore) Audit(ctx context.Context, e *inbox.AuditEntry) error {
	f.audits = append(f.audits, e)
	return nil
}

type publisher struct{ evs []inbox.Event }

func (p *publisher) Publish(evs []inbox.Event) { p.evs = append(p.evs, evs...) }

func newManager(st Store, p Policy, pub inbox.Publisher) *Manager {
	return New(Options{Store: st, Policy: p, Batch: 10, Publisher: pub, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clock: inbox.ClockFunc(func() time.Time { return time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC) })})
}

// TestRunRetentionBatches: a run deletes batch after batch until a batch
// comes back short, per cutoff, and records one audit entry with the
// totals; a run with nothing to delete records nothing.
func TestRunRetentionBatches(t *testing.T) {
	st := &fakeStore{left: map[string]int{"vip": 25, "": 10}}
	m := newManager(st, Policy{Default: 400 * 24 * time.Hour, Queues: map[string]time.Duration{"vip": 48 * time.Hour}}, nil)
	res, err := m.RunRetention(context.Background())
	if err != nil || !res.Complete || res.Deleted.Conversations != 35 || res.Deleted.Messages != 70 {
		t.Fatalf("run: %+v %v", res, err)
	}
	// vip: 10, 10, 5; default: 10, 0.
	if st.calls != 5 {
		t.Errorf("%d batches, want 5", st.calls)
	}
	if len(st.audits) != 1 || st.audits[0].Action != inbox.AuditRetentionRun || st.audits[0].Data["conversations"] != "35" ||
		st.audits[0].Data["complete"] != "true" || st.audits[0].ActorID != 0 {
		t.Fatalf("audit: %+v", st.audits)
	}
	res, err = m.RunRetention(context.Background())
	if err != nil || res.Deleted.Conversations != 0 || len(st.audits) != 1 {
		t.Fatalf("an empty run: %+v %v, %d audit entries", res, err, len(st.audits))
	}
}

// TestRunRetentionStops: a spent budget or a cancelled context stops a run
// between batches (incomplete, what was deleted recorded); a failing
// batch ends the run with its error.
func TestRunRetentionStops(t *testing.T) {
	st := &fakeStore{left: map[string]int{"": 1000}}
	m := newManager(st, Policy{Default: 400 * 24 * time.Hour}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res, err := m.RunRetention(ctx); err != nil || res.Complete || st.calls != 0 {
		t.Fatalf("cancelled run: %+v %v, %d batches", res, err, st.calls)
	}
	m.o.RunBudget = time.Nanosecond
	if res, _ := m.RunRetention(context.Background()); res.Complete || st.calls > 1 {
		t.Fatalf("a spent budget: %+v, %d batches", res, st.calls)
	}
	st.fail = errors.New("database gone")
	m.o.RunBudget = time.Minute
	if res, err := m.RunRetention(context.Background()); err == nil || res.Complete {
		t.Fatalf("failing batch: %+v %v", res, err)
	}
}

// TestEraseRecordsIDsAndCounts: an erasure's audit entry and events hold
// ids and counts, nothing of the person; agents are refused; the command
// line (no user) is allowed.
func TestEraseRecordsIDsAndCounts(t *testing.T) {
	st := &fakeStore{}
	pub := &publisher{}
	m := newManager(st, Policy{}, pub)
	admin := &inbox.User{ID: 2, Name: "Ada", Role: inbox.RoleAdmin}
	if _, err := m.Erase(context.Background(), Actor{User: &inbox.User{ID: 3, Role: inbox.RoleAgent}}, 5); inbox.ErrorCode(err) != inbox.EForbidden {
		t.Fatalf("agent: %v", err)
	}
	if _, err := m.Export(context.Background(), Actor{User: &inbox.User{ID: 3, Role: inbox.RoleAgent}}, 5); inbox.ErrorCode(err) != inbox.EForbidden || st.exports != 0 {
		t.Fatalf("agent export: %v", err)
	}
	if _, err := m.Erase(context.Background(), Actor{User: admin, IP: "192.0.2.9"}, 5); err != nil {
		t.Fatal(err)
	}
	e := st.audits[0]
	if e.Action != inbox.AuditContactErased || e.TargetType != "contact" || e.TargetID != "5" || e.ActorID != 2 ||
		e.IP != "192.0.2.9" || e.Data["messages"] != "3" || e.Data["conversations"] != "1" {
		t.Fatalf("audit: %+v", e)
	}
	for k, v := range e.Data {
		if strings.Contains(v, "@") || strings.ContainsAny(v, "abcdefghijklmnopqrstuvwxyz") {
			t.Errorf("audit data %s=%q is not a count", k, v)
		}
	}
	if len(pub.evs) != 1 || pub.evs[0].Kind != EventConversationDeleted || string(pub.evs[0].Payload) != `{"id":7}` ||
		pub.evs[0].Queue != "support" || len(pub.evs[0].Participants) != 1 {
		t.Fatalf("events: %+v", pub.evs)
	}
	// The event reaches who could see the conversation, and no one else.
	if !pub.evs[0].Visible(&inbox.User{ID: 2, Role: inbox.RoleAgent, Queues: []string{"sales"}}) ||
		pub.evs[0].Visible(&inbox.User{ID: 9, Role: inbox.RoleAgent, Queues: []string{"sales"}}) {
		t.Error("conversation.deleted visibility")
	}
	if _, err := m.EraseCLI(context.Background(), 6); err != nil || st.audits[1].ActorName != "command line" {
		t.Fatalf("cli: %v %+v", err, st.audits[1])
	}
}

func TestFindContactsValidates(t *testing.T) {
	m := newManager(&fakeStore{}, Policy{}, nil)
	for _, l := range []Lookup{{}, {ChannelID: "crm"}, {ExternalID: "x"}, {Email: "a@b.c", ChannelID: "crm", ExternalID: "x"},
		{Email: strings.Repeat("a", 255)}} {
		if _, err := m.FindContacts(context.Background(), l); inbox.ErrorCode(err) != inbox.EInvalid {
			t.Errorf("%+v: %v", l, err)
		}
	}
	for _, l := range []Lookup{{Email: "a@b.c"}, {ChannelID: "crm", ExternalID: "x"}} {
		if _, err := m.FindContacts(context.Background(), l); err != nil {
			t.Errorf("%+v: %v", l, err)
		}
	}
}
