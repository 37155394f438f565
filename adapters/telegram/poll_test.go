package telegram

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/inboxtest"
)

// run starts ch.Run and returns a stop function that cancels it (a kill,
// as far as the channel can tell) and checks that Run returned nil soon.
func run(t *testing.T, ch *Channel) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ch.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("Run did not return after its context was cancelled")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// textUpdate is a private text message from chat 111.
func textUpdate(updateID, messageID int, text string) []byte {
	return fmt.Appendf(nil, `{"update_id":%d,"message":{"message_id":%d,"date":1767225600,
		"from":{"id":111,"is_bot":false,"first_name":"Alice","username":"alice"},
		"chat":{"id":111,"type":"private","first_name":"Alice","username":"alice"},"text":%q}}`, updateID, messageID, text)
}

func cursor(t *testing.T, ing inbox.Ingester) string {
	t.Helper()
	v, err := ing.Cursor(context.Background(), "tg", CursorKey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func externalIDs(ins []inbox.Inbound) []string {
	var ids []string
	for _, in := range ins {
		ids = append(ids, in.ExternalID)
	}
	sort.Strings(ids)
	return ids
}

func TestPollJournalsEveryKind(t *testing.T) {
	fake := newFakeBot(t)
	names, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	type upd struct {
		id  int
		raw []byte
	}
	var ups []upd
	for _, p := range names {
		raw := fixture(t, strings.TrimSuffix(filepath.Base(p), ".json"))
		u := loadUpdate(t, strings.TrimSuffix(filepath.Base(p), ".json"))
		ups = append(ups, upd{u.UpdateID, raw})
	}
	sort.Slice(ups, func(i, j int) bool { return ups[i].id < ups[j].id })
	for _, u := range ups {
		fake.push(u.raw)
	}
	ing := inboxtest.NewIngester()
	env := newTestChannel(t, fake, ing, map[string]any{"groups": GroupsConversation})
	stop := run(t, env.ch)
	waitFor(t, "the offset past the last update", func() bool { return cursor(t, ing) == "1021" })
	waitFor(t, "Telegram to learn the offset", func() bool { return fake.pending() == 0 })
	stop()

	want := []string{
		"-1001234567890:15", // group_text, groups: conversation
		"111:1", "111:10", "111:11", "111:13", "111:14", "111:3", "111:4", "111:5", "111:6", "111:7", "111:8", "111:9",
		"222:2", "444:20",
	}
	sort.Strings(want)
	got := ing.Stored()
	if g := externalIDs(got); strings.Join(g, " ") != strings.Join(want, " ") {
		t.Errorf("stored %v\nwant   %v", g, want)
	}
	if len(ing.Edits) != 1 || ing.Edits[0].ExternalID != "111:1" {
		t.Errorf("edits = %+v, want one edit of 111:1", ing.Edits)
	}
	for _, m := range got {
		if m.ExternalID == "111:1" && m.Text != "Hello, my order #43 has not arrived." {
			t.Errorf("edited message text = %q", m.Text)
		}
		if m.ExternalID == "111:3" && (len(m.Attachments) != 1 || m.Attachments[0].ProviderRef != "AgAC-large") {
			t.Errorf("photo attachments = %+v", m.Attachments)
		}
	}
	if !strings.Contains(env.logs.String(), "update_kind=callback_query") {
		t.Error("a dropped update kind is not logged at debug level")
	}
}

// failingCommits is a store that went down after the poller read its
// offset: every commit fails with the store's "unavailable".
type failingCommits struct {
	*inboxtest.Ingester
}

func (failingCommits) IngestBatch(context.Context, []inbox.Inbound, *inbox.Cursor) ([]inbox.IngestResult, error) {
	return nil, inbox.ErrUnavailable
}

func (failingCommits) SaveCursor(context.Context, inbox.Cursor) error { return inbox.ErrUnavailable }

// The store is down while updates are fetched: nothing is confirmed to
// Telegram, and a restarted poller stores each update exactly once.
func TestPollStoreDownThenRestartLosesNothing(t *testing.T) {
	fake := newFakeBot(t)
	fake.push(textUpdate(500, 1, "one"), textUpdate(501, 2, "two"), textUpdate(502, 3, "three"))
	ing := inboxtest.NewIngester()

	env := newTestChannel(t, fake, failingCommits{ing}, nil)
	stop := run(t, env.ch)
	waitFor(t, "the batch to be fetched three times", func() bool { return len(fake.requestedOffsets()) >= 3 })
	stop() // killed between "fetched" and "committed"
	if n := strings.Count(env.logs.String(), "storing updates failed"); n != 1 {
		t.Errorf("%d log lines for repeated failed commits, want 1 (rate-limited)", n)
	}
	if n := len(ing.Stored()); n != 0 {
		t.Fatalf("%d messages stored while the store was down", n)
	}
	if c := cursor(t, ing); c != "" {
		t.Fatalf("cursor %q saved while the store was down", c)
	}
	if fake.pending() != 3 {
		t.Fatalf("Telegram holds %d updates, want 3: something was confirmed before it was stored", fake.pending())
	}
	for _, off := range fake.requestedOffsets() {
		if off != 0 {
			t.Fatalf("getUpdates asked with offset %d before anything was stored", off)
		}
	}

	restarted := newTestChannel(t, fake, ing, nil)
	stop = run(t, restarted.ch)
	waitFor(t, "three messages", func() bool { return len(ing.Stored()) == 3 })
	fake.push(textUpdate(503, 4, "four"))
	waitFor(t, "the fourth message", func() bool { return len(ing.Stored()) == 4 })
	waitFor(t, "the offset", func() bool { return cursor(t, ing) == "504" })
	stop()
	if got := externalIDs(ing.Stored()); strings.Join(got, ",") != "111:1,111:2,111:3,111:4" {
		t.Errorf("stored %v", got)
	}
}

// blockingIngester stands for a process killed inside the transaction:
// IngestBatch blocks until the poller's context ends, then rolls back.
type blockingIngester struct {
	*inboxtest.Ingester
	entered chan struct{}
	once    sync.Once
}

func (b *blockingIngester) IngestBatch(ctx context.Context, ins []inbox.Inbound, c *inbox.Cursor) ([]inbox.IngestResult, error) {
	b.once.Do(func() { close(b.entered) })
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestPollKilledMidBatchLosesNothing(t *testing.T) {
	fake := newFakeBot(t)
	fake.push(textUpdate(700, 1, "a"), textUpdate(701, 2, "b"))
	ing := inboxtest.NewIngester()
	blocking := &blockingIngester{Ingester: ing, entered: make(chan struct{})}

	env := newTestChannel(t, fake, blocking, nil)
	stop := run(t, env.ch)
	select {
	case <-blocking.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the poller never reached IngestBatch")
	}
	stop()
	if fake.pending() != 2 || len(ing.Stored()) != 0 {
		t.Fatalf("after the kill: Telegram holds %d, stored %d; want 2 and 0", fake.pending(), len(ing.Stored()))
	}

	restarted := newTestChannel(t, fake, ing, nil)
	stop = run(t, restarted.ch)
	waitFor(t, "both messages", func() bool { return len(ing.Stored()) == 2 })
	waitFor(t, "Telegram to learn the offset", func() bool { return fake.pending() == 0 })
	stop()
	if got := externalIDs(ing.Stored()); strings.Join(got, ",") != "111:1,111:2" {
		t.Errorf("stored %v", got)
	}
	if c := cursor(t, ing); c != "702" {
		t.Errorf("cursor = %q, want 702", c)
	}
}

// lostAckIngester commits the first batch but reports a failure, as when
// the connection drops after COMMIT: the poller fetches the batch again
// and the unique key absorbs it.
type lostAckIngester struct {
	*inboxtest.Ingester
	mu    sync.Mutex
	calls int
}

func (l *lostAckIngester) IngestBatch(ctx context.Context, ins []inbox.Inbound, c *inbox.Cursor) ([]inbox.IngestResult, error) {
	l.mu.Lock()
	l.calls++
	first := l.calls == 1
	l.mu.Unlock()
	rs, err := l.Ingester.IngestBatch(ctx, ins, c)
	if first && err == nil {
		return nil, errors.New("connection reset after commit")
	}
	return rs, err
}

// While the store is down at start, the poller waits for its offset
// instead of polling from an unknown position.
func TestPollWaitsForTheSavedOffset(t *testing.T) {
	fake := newFakeBot(t)
	fake.push(textUpdate(600, 1, "x"))
	ing := inboxtest.NewIngester()
	ing.SetFail(inbox.ErrUnavailable)
	env := newTestChannel(t, fake, ing, nil)
	stop := run(t, env.ch)
	time.Sleep(200 * time.Millisecond)
	if n := len(fake.requestedOffsets()); n != 0 {
		t.Errorf("%d getUpdates calls without a known offset", n)
	}
	ing.SetFail(nil)
	waitFor(t, "the message", func() bool { return len(ing.Stored()) == 1 })
	stop()
}

func TestPollCommitOutcomeUnknownDuplicatesNothing(t *testing.T) {
	fake := newFakeBot(t)
	fake.push(textUpdate(800, 1, "a"), textUpdate(801, 2, "b"))
	ing := &lostAckIngester{Ingester: inboxtest.NewIngester()}
	env := newTestChannel(t, fake, ing, nil)
	stop := run(t, env.ch)
	waitFor(t, "a second commit", func() bool { ing.mu.Lock(); defer ing.mu.Unlock(); return ing.calls >= 2 })
	waitFor(t, "Telegram to learn the offset", func() bool { return fake.pending() == 0 })
	stop()
	if got := externalIDs(ing.Stored()); strings.Join(got, ",") != "111:1,111:2" {
		t.Errorf("stored %v, want each message once", got)
	}
}

// A crash after the commit but before the next getUpdates: Telegram still
// holds updates the store has. The restarted poller asks from the saved
// offset, so they are confirmed, not stored again.
func TestPollResumesFromSavedOffset(t *testing.T) {
	fake := newFakeBot(t)
	for i := 0; i < 5; i++ {
		fake.push(textUpdate(900+i, 1+i, fmt.Sprint("m", i)))
	}
	ing := inboxtest.NewIngester()
	if err := ing.SaveCursor(context.Background(), inbox.Cursor{ChannelID: "tg", Key: CursorKey, Value: "903"}); err != nil {
		t.Fatal(err)
	}
	env := newTestChannel(t, fake, ing, nil)
	stop := run(t, env.ch)
	waitFor(t, "two messages", func() bool { return len(ing.Stored()) == 2 })
	waitFor(t, "the offset", func() bool { return cursor(t, ing) == "905" })
	stop()
	if offs := fake.requestedOffsets(); offs[0] != 903 {
		t.Errorf("first getUpdates offset = %d, want the saved 903", offs[0])
	}
	if got := externalIDs(ing.Stored()); strings.Join(got, ",") != "111:4,111:5" {
		t.Errorf("stored %v, want only the updates from the saved offset on", got)
	}
}

// Updates inboxd does not keep still move the offset (SaveCursor alone).
func TestPollDroppedOnlyBatchSavesOffset(t *testing.T) {
	fake := newFakeBot(t)
	fake.push(fixture(t, "callback_query"), fixture(t, "group_text")) // groups: ignore
	ing := inboxtest.NewIngester()
	env := newTestChannel(t, fake, ing, nil)
	stop := run(t, env.ch)
	waitFor(t, "the offset", func() bool { return cursor(t, ing) == "1019" })
	waitFor(t, "Telegram to learn it", func() bool { return fake.pending() == 0 })
	stop()
	if n := len(ing.Stored()); n != 0 {
		t.Errorf("%d messages stored, want 0", n)
	}
}

func TestPollConflictIsReportedNotACrashLoop(t *testing.T) {
	fake := newFakeBot(t)
	fake.setConflict(true)
	ing := inboxtest.NewIngester()
	env := newTestChannel(t, fake, ing, nil)
	stop := run(t, env.ch)

	waitFor(t, "an unhealthy channel", func() bool { return env.ch.Health() != nil })
	if msg := env.ch.Health().Error(); !strings.Contains(msg, "409") || !strings.Contains(msg, "another process") {
		t.Errorf("Health() = %q, want a 409 conflict explanation", msg)
	}
	before := len(fake.requestedOffsets())
	time.Sleep(300 * time.Millisecond)
	calls := len(fake.requestedOffsets()) - before
	// Backoff is capped at 50 ms in tests: at most ~6 calls in 300 ms; a
	// hot loop would make hundreds.
	if calls > 15 {
		t.Errorf("%d getUpdates calls in 300ms during a conflict: a crash loop", calls)
	}
	if calls == 0 {
		t.Error("the poller stopped retrying during a conflict")
	}
	if n := strings.Count(env.logs.String(), "problem=conflict"); n != 1 {
		t.Errorf("%d conflict log lines, want 1 (rate-limited)", n)
	}

	fake.setConflict(false)
	fake.push(textUpdate(10, 1, "after the conflict"))
	waitFor(t, "the message", func() bool { return len(ing.Stored()) == 1 })
	if err := env.ch.Health(); err != nil {
		t.Errorf("Health() = %v after the conflict ended", err)
	}
	stop()
}

func TestPollRejectedTokenIsReported(t *testing.T) {
	fake := newFakeBot(t)
	ing := inboxtest.NewIngester()
	env := newTestChannel(t, fake, ing, map[string]any{"token": "42:revoked"})
	stop := run(t, env.ch)
	waitFor(t, "an unhealthy channel", func() bool { return env.ch.Health() != nil })
	stop()
	if msg := env.ch.Health().Error(); !strings.Contains(msg, "token was rejected") || strings.Contains(msg, "revoked") {
		t.Errorf("Health() = %q, want a rejected-token message without the token", msg)
	}
	if strings.Contains(env.logs.String(), "42:revoked") {
		t.Error("the token appears in the logs")
	}
}

// An update the library's types cannot hold (a field whose type changed)
// is dropped and confirmed; it does not block the updates after it.
func TestPollUnreadableUpdateDoesNotBlock(t *testing.T) {
	fake := newFakeBot(t)
	fake.push(textUpdate(40, 1, "before"),
		[]byte(`{"update_id":41,"message":{"message_id":"two","chat":{"id":111,"type":"private"},"text":"?"}}`),
		textUpdate(42, 3, "after"))
	ing := inboxtest.NewIngester()
	env := newTestChannel(t, fake, ing, nil)
	stop := run(t, env.ch)
	waitFor(t, "the offset past all three", func() bool { return cursor(t, ing) == "43" })
	stop()
	if got := externalIDs(ing.Stored()); strings.Join(got, ",") != "111:1,111:3" {
		t.Errorf("stored %v", got)
	}
	if !strings.Contains(env.logs.String(), "unreadable update dropped") {
		t.Error("the dropped update is not logged")
	}
}

// pollReport is one adapters.PollObserver report.
type pollReport struct {
	at  time.Time
	lag time.Duration
}

// pollRecorder records the poller's reports.
type pollRecorder struct {
	mu      sync.Mutex
	reports []pollReport
}

func (r *pollRecorder) Polled(channel string, at time.Time, lag time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if channel == "tg" {
		r.reports = append(r.reports, pollReport{at, lag})
	}
}

func (r *pollRecorder) all() []pollReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]pollReport(nil), r.reports...)
}

// TestPollReportsSuccessAndLag: a committed batch reports its lag (the age
// of its oldest message when fetched) and the time; an empty poll reports
// lag 0 and a later time; while commits fail nothing is reported, so the
// last success stays where it was.
func TestPollReportsSuccessAndLag(t *testing.T) {
	fake := newFakeBot(t)
	// textUpdate's date is 1767225600; the clock is 90 s later and moves
	// a second per reading.
	var tick sync.Mutex
	now := time.Unix(1767225600+90, 0)
	clock := inbox.ClockFunc(func() time.Time {
		tick.Lock()
		defer tick.Unlock()
		now = now.Add(time.Second)
		return now
	})
	fake.push(textUpdate(1, 1, "first"), textUpdate(2, 2, "second"))
	ing := inboxtest.NewIngester()
	env := newTestChannel(t, fake, ing, nil)
	rec := &pollRecorder{}
	env.ch.poll, env.ch.clock = rec, clock
	stop := run(t, env.ch)
	waitFor(t, "a batch and an empty poll reported", func() bool { return len(rec.all()) >= 2 })
	stop()
	rs := rec.all()
	if rs[0].lag < 90*time.Second || rs[0].lag > 95*time.Second {
		t.Errorf("first report's lag %v, want the batch's age at the fetch (~91 s)", rs[0].lag)
	}
	if rs[1].lag != 0 || !rs[1].at.After(rs[0].at) {
		t.Errorf("the empty poll's report %+v after %+v: want lag 0, later", rs[1], rs[0])
	}

	// A store that is down: the same batch is fetched again and again,
	// never committed, never reported.
	fake2 := newFakeBot(t)
	fake2.push(textUpdate(1, 1, "first"))
	down := failingCommits{inboxtest.NewIngester()}
	env2 := newTestChannel(t, fake2, down, nil)
	rec2 := &pollRecorder{}
	env2.ch.poll = rec2
	stop2 := run(t, env2.ch)
	waitFor(t, "several attempts", func() bool { return len(fake2.requestedOffsets()) >= 3 })
	stop2()
	if rs := rec2.all(); len(rs) != 0 {
		t.Errorf("reports while the store is down: %+v", rs)
	}
}
