package daemon_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/crypto/bcrypt"

	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// End-to-end tests of opening hours, presence, registered contacts and
// notifications: an in-process daemon on a test clock, an SMTP server on
// 127.0.0.1 for the notification emails.

// qClock is a clock the test sets.
type qClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *qClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *qClock) set(t time.Time) { c.mu.Lock(); c.t = t.UTC(); c.mu.Unlock() }

func (c *qClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// qMail is a mail the SMTP server received.
type qMail struct {
	to     []string
	header mail.Header
	body   string
}

type qSink struct {
	addr  string
	mu    sync.Mutex
	mails []qMail
}

func startQSink(t *testing.T) *qSink {
	t.Helper()
	sink := &qSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &qSession{sink: sink}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	sink.addr = ln.Addr().String()
	return sink
}

func (s *qSink) port() int { _, p, _ := net.SplitHostPort(s.addr); n, _ := strconv.Atoi(p); return n }

// to returns the mails received by address.
func (s *qSink) to(addr string) []qMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []qMail
	for _, m := range s.mails {
		for _, r := range m.to {
			if r == addr {
				out = append(out, m)
			}
		}
	}
	return out
}

type qSession struct {
	sink *qSink
	to   []string
}

func (s *qSession) Reset()                                    { s.to = nil }
func (s *qSession) Logout() error                             { return nil }
func (s *qSession) Mail(string, *smtp.MailOptions) error      { return nil }
func (s *qSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = append(s.to, to); return nil }
func (s *qSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	var body []byte
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body, err = io.ReadAll(quotedprintable.NewReader(msg.Body))
	} else {
		body, err = io.ReadAll(msg.Body)
	}
	if err != nil {
		return err
	}
	s.sink.mu.Lock()
	s.sink.mails = append(s.sink.mails, qMail{to: append([]string(nil), s.to...), header: msg.Header, body: string(body)})
	s.sink.mu.Unlock()
	return nil
}

// qEnv is a daemon with the queues of the tests below.
type qEnv struct {
	*env
	clock *qClock
	sink  *qSink
	dbURL string
	olli  string // serves the four mode queues
	ids   map[string]int64
}

const queuesConfig = `
listen: 127.0.0.1:0
public_url: https://inbox.example.com
database: {url: %q}
bootstrap_owner: {email: owner@example.com, password: owner-password}
outbox: {base_delay: 50ms, max_delay: 200ms, max_attempts: 5}
presence: {idle_after: 10m}
notifications:
  smtp: {host: 127.0.0.1, port: %d, tls: none, from: "inboxd <noreply@example.com>"}
queues:
  - id: support
    name: Support
    timezone: Europe/Helsinki
    hours: {open: "0 9 * * MON-FRI", close: "0 17 * * MON-FRI"}
    holidays: ["2026-03-27"]
    offline:
      mode: contact_form
      message: "We are closed. Leave us a note."
      questions: [{id: topic, label: Topic, required: true}, {id: order, label: Order number}]
    online_message: "We answer within minutes."
    slow_after: 2m
  - {id: sales, name: Sales}
  - {id: q-msg, name: Msg, offline: {mode: message, message: "closed: message"}, online_message: "live: msg"}
  - {id: q-form, name: Form, offline: {mode: contact_form, message: "closed: form", questions: [{id: why, label: Why}]}}
  - {id: q-messenger, name: Messenger, offline: {mode: messenger, message: "closed: messenger"}}
  - {id: q-hidden, name: Hidden, offline: {mode: hidden, message: "closed: hidden"}}
channels:
  - {id: crm, kind: webhook, name: CRM, queue: support, secret: %q, callback_url: %q}
  - {id: site, kind: widget, name: Website, queue: support}
  - {id: shop, kind: webhook, name: Shop, queue: sales, secret: %q}
  - {id: w-msg, kind: widget, queue: q-msg}
  - {id: w-form, kind: widget, queue: q-form}
  - {id: w-messenger, kind: widget, queue: q-messenger}
  - {id: w-hidden, kind: widget, queue: q-hidden}
`

// startQ starts a daemon on dbURL; fresh creates the users.
func startQ(t *testing.T, dbURL string, clock *qClock, sink *qSink, cb *callbackServer, fresh bool) *qEnv {
	t.Helper()
	cfg, err := daemon.Parse([]byte(fmt.Sprintf(queuesConfig, dbURL, sink.port(), secret, cb.URL, secret)), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	dm, err := daemon.Start(context.Background(), cfg, daemon.Options{Logger: slog.New(slog.DiscardHandler),
		Notice: io.Discard, BcryptCost: bcrypt.MinCost, OutboxPoll: 50 * time.Millisecond, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dm.Stop)
	e := &qEnv{env: &env{t: t, d: dm, base: "http://" + dm.Addr, callback: cb}, clock: clock, sink: sink, dbURL: dbURL,
		ids: map[string]int64{}}
	e.owner = e.login("owner@example.com", "owner-password")
	e.anna = e.qUser(fresh, "anna@example.com", "Anna", []string{"support"})
	e.bob = e.qUser(fresh, "bob@example.com", "Bob", []string{"support"})
	e.sales = e.qUser(fresh, "sam@example.com", "Sam", []string{"sales"})
	e.olli = e.qUser(fresh, "olli@example.com", "Olli", []string{"q-msg", "q-form", "q-messenger", "q-hidden"})
	return e
}

// qUser creates an agent (or finds it after a restart) and logs it in.
func (e *qEnv) qUser(create bool, email, name string, queues []string) string {
	if create {
		h, _ := bcrypt.GenerateFromPassword([]byte("password-"+name), bcrypt.MinCost)
		u := &inbox.User{Email: email, Name: name, Role: inbox.RoleAgent, Queues: queues, CreatedAt: e.clock.Now()}
		if err := e.d.Store.CreateUser(context.Background(), u, string(h)); err != nil {
			e.t.Fatal(err)
		}
	}
	u, _, err := e.d.Store.Credentials(context.Background(), email)
	if err != nil || u == nil {
		e.t.Fatalf("user %s: %v", email, err)
	}
	e.ids[name] = u.ID
	return e.login(email, "password-"+name)
}

// presence reads a user's stored presence without counting as activity.
func (e *qEnv) presence(name string) inbox.Presence {
	u, err := e.d.Store.User(context.Background(), e.ids[name])
	if err != nil {
		e.t.Fatal(err)
	}
	return u.Presence
}

func (e *qEnv) setStatus(token, status string) {
	e.t.Helper()
	if st := e.call("PUT", "/api/v1/me/status", token, map[string]string{"status": status}, nil); st != 200 {
		e.t.Fatalf("status %s: %d", status, st)
	}
}

// qWait polls cond until it holds (the daemon's jobs poll every second).
func qWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

type qActivity struct {
	ID             int64
	Kind           string
	ConversationID int64 `json:"conversation_id"`
	Data           map[string]string
	CreatedAt      time.Time `json:"created_at"`
}

// activities returns a queue's activity log, oldest first, of the kinds
// named (all when none).
func (e *qEnv) activities(queue string, kinds ...string) []qActivity {
	var out struct{ Items []qActivity }
	if st := e.call("GET", "/api/v1/activity?limit=200&queue="+queue, e.owner, nil, &out); st != 200 {
		e.t.Fatalf("activity: %d", st)
	}
	var res []qActivity
	for i := len(out.Items) - 1; i >= 0; i-- {
		a := out.Items[i]
		if len(kinds) == 0 || strings.Contains(" "+strings.Join(kinds, " ")+" ", " "+a.Kind+" ") {
			res = append(res, a)
		}
	}
	return res
}

func transitionsOf(acts []qActivity) string {
	var parts []string
	for _, a := range acts {
		parts = append(parts, strings.TrimPrefix(a.Kind, "queue_")+"@"+a.CreatedAt.UTC().Format("01-02T15:04"))
	}
	return strings.Join(parts, " ")
}

type qView struct {
	ID, Name, Mode, Override, Hours, Timezone string
	Open                                      bool
	NextChangeAt                              *time.Time `json:"next_change_at"`
	OfflineMessage                            string     `json:"offline_message"`
}

func (e *qEnv) queue(token, id string) qView {
	var out struct{ Items []qView }
	if st := e.call("GET", "/api/v1/queues", token, nil, &out); st != 200 {
		e.t.Fatalf("queues: %d", st)
	}
	for _, q := range out.Items {
		if q.ID == id {
			return q
		}
	}
	e.t.Fatalf("queue %s not listed: %+v", id, out.Items)
	return qView{}
}

type widgetCfg struct {
	Mode         string
	Message      string
	Hours        string
	NextChangeAt *time.Time `json:"next_change_at"`
	Questions    []struct {
		ID, Label string
		Required  bool
	}
}

func (e *qEnv) widget(channel string) (int, widgetCfg) {
	var wc widgetCfg
	st := e.call("GET", "/widget/v1/"+channel+"/config", "", nil, &wc)
	return st, wc
}

func qDialects(t *testing.T, fn func(t *testing.T, dbURL string, clock *qClock, sink *qSink, cb *callbackServer)) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			cb := newCallback()
			t.Cleanup(cb.Close)
			fn(t, storetest.URL(t, d), &qClock{}, startQSink(t), cb)
		})
	}
}

var helsinki, _ = time.LoadLocation("Europe/Helsinki")

func hel(y int, mo time.Month, d, h, mi int) time.Time {
	return time.Date(y, mo, d, h, mi, 0, 0, helsinki)
}

// TestQueueTransitionsAcrossDSTAndHoliday jumps the clock over a week with
// the change to summer time (29 March 2026) and a holiday (Friday 27th),
// restarts the daemon mid-period, moves the clock back and forth, and
// switches the override: every transition is recorded exactly once, at
// its own instant.
func TestQueueTransitionsAcrossDSTAndHoliday(t *testing.T) {
	qDialects(t, func(t *testing.T, dbURL string, clock *qClock, sink *qSink, cb *callbackServer) {
		clock.set(hel(2026, 3, 23, 8, 0)) // Monday, closed
		e := startQ(t, dbURL, clock, sink, cb, true)
		q := e.queue(e.owner, "support")
		if q.Open || q.Mode != "contact_form" || q.Override != "auto" || q.Hours != "Mon–Fri 09:00–17:00 Europe/Helsinki" ||
			q.NextChangeAt == nil || !q.NextChangeAt.Equal(hel(2026, 3, 23, 9, 0)) || q.OfflineMessage != "We are closed. Leave us a note." {
			t.Fatalf("support at Monday 08:00: %+v", q)
		}
		// The job has recorded its first check; now the clock jumps 8 days.
		qWait(t, "first check", func() bool { return e.queue(e.owner, "support").ID != "" })
		time.Sleep(1200 * time.Millisecond)
		clock.set(hel(2026, 3, 31, 10, 0))
		want := "opened@03-23T07:00 closed@03-23T15:00 opened@03-24T07:00 closed@03-24T15:00 " +
			"opened@03-25T07:00 closed@03-25T15:00 opened@03-26T07:00 closed@03-26T15:00 " +
			// Friday 27th is a holiday; from Sunday 29th Helsinki is UTC+3.
			"opened@03-30T06:00 closed@03-30T14:00 opened@03-31T06:00"
		qWait(t, "the missed transitions", func() bool {
			return len(e.activities("support", "queue_opened", "queue_closed")) >= 11
		})
		if got := transitionsOf(e.activities("support", "queue_opened", "queue_closed")); got != want {
			t.Fatalf("transitions:\n got %s\nwant %s", got, want)
		}
		if q := e.queue(e.anna, "support"); !q.Open || q.NextChangeAt == nil || !q.NextChangeAt.Equal(hel(2026, 3, 31, 17, 0)) {
			t.Fatalf("support on Tuesday 10:00: %+v", q)
		}
		// Agents see only their queues.
		var sam struct{ Items []qView }
		e.call("GET", "/api/v1/queues", e.sales, nil, &sam)
		if len(sam.Items) != 1 || sam.Items[0].ID != "sales" {
			t.Fatalf("sales agent's queues: %+v", sam.Items)
		}

		// Restart mid-period: down at 10:00, up again at 18:00 after the close.
		e.d.Stop()
		clock.set(hel(2026, 3, 31, 18, 0))
		e = startQ(t, dbURL, clock, sink, cb, false)
		qWait(t, "the close missed while down", func() bool {
			return len(e.activities("support", "queue_opened", "queue_closed")) >= 12
		})
		// The clock goes back an hour, then forward again: nothing twice.
		clock.set(hel(2026, 3, 31, 16, 30))
		time.Sleep(1500 * time.Millisecond)
		clock.set(hel(2026, 3, 31, 18, 30))
		time.Sleep(1500 * time.Millisecond)
		if got := transitionsOf(e.activities("support", "queue_opened", "queue_closed")); got != want+" closed@03-31T14:00" {
			t.Fatalf("after restart and clock moves:\n got %s", got)
		}

		// The override: agents may not, admins may; recorded with its effect.
		var eb struct{ Error struct{ Code, Field string } }
		if st := e.call("PUT", "/api/v1/queues/support/override", e.anna, map[string]string{"override": "open"}, &eb); st != 403 {
			t.Fatalf("agent override: %d", st)
		}
		if st := e.call("PUT", "/api/v1/queues/support/override", e.owner, map[string]string{"override": "ajar"}, &eb); st != 400 || eb.Error.Field != "override" {
			t.Fatalf("bad override: %d %+v", st, eb)
		}
		if st := e.call("PUT", "/api/v1/queues/nosuch/override", e.owner, map[string]string{"override": "open"}, nil); st != 404 {
			t.Fatalf("unknown queue: %d", st)
		}
		var v qView
		if st := e.call("PUT", "/api/v1/queues/support/override", e.owner, map[string]string{"override": "open"}, &v); st != 200 ||
			!v.Open || v.Override != "open" || v.NextChangeAt != nil {
			t.Fatalf("override open: %d %+v", st, v)
		}
		ov := e.activities("support", "override")
		if len(ov) != 1 || ov[0].Data["override"] != "open" || ov[0].Data["effect"] != "opened" || ov[0].Data["previous"] != "auto" {
			t.Fatalf("override activity: %+v", ov)
		}
		// While the override holds, the schedule's transitions change nothing.
		clock.set(hel(2026, 4, 1, 10, 0))
		time.Sleep(1500 * time.Millisecond)
		if n := len(e.activities("support", "queue_opened", "queue_closed")); n != 12 {
			t.Fatalf("transitions recorded under the override: %d", n)
		}
		if st := e.call("PUT", "/api/v1/queues/support/override", e.owner, map[string]string{"override": "closed"}, &v); st != 200 || v.Open || v.Mode != "contact_form" {
			t.Fatalf("override closed: %d %+v", st, v)
		}
		if st := e.call("PUT", "/api/v1/queues/support/override", e.owner, map[string]string{"override": "auto"}, &v); st != 200 || !v.Open {
			t.Fatalf("override auto: %d %+v", st, v)
		}
		ov = e.activities("support", "override")
		if len(ov) != 3 || ov[1].Data["effect"] != "closed" || ov[2].Data["effect"] != "opened" {
			t.Fatalf("override activities: %+v", ov)
		}
		// The live feed carries the queue events, resumable.
		kinds := e.feedKinds(e.owner, "/api/v1/journal/events", "queue.")
		if !strings.Contains(kinds, "queue.override") || !strings.Contains(kinds, "queue.opened") || !strings.Contains(kinds, "queue.closed") {
			t.Fatalf("queue events on the feed: %s", kinds)
		}
	})
}

// feedKinds reads an SSE feed from the start and returns the kinds of the
// events with the prefix, until the replay is over.
func (e *qEnv) feedKinds(token, path, prefix string) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Last-Event-ID", "0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var kinds []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if k, ok := strings.CutPrefix(sc.Text(), "event: "); ok && strings.HasPrefix(k, prefix) {
			kinds = append(kinds, k)
		}
	}
	return strings.Join(kinds, " ")
}

// TestQueueModeDecisionTable checks every row of the decision table
// through GET /widget/v1/{channel}/config.
func TestQueueModeDecisionTable(t *testing.T) {
	qDialects(t, func(t *testing.T, dbURL string, clock *qClock, sink *qSink, cb *callbackServer) {
		clock.set(hel(2026, 6, 2, 10, 0)) // a Tuesday in open hours
		e := startQ(t, dbURL, clock, sink, cb, true)
		channels := []string{"w-msg", "w-form", "w-messenger", "w-hidden"}
		closedModes := []string{"offline", "contact_form", "messenger", "hidden"}
		closedMsgs := []string{"closed: message", "closed: form", "closed: messenger", ""}
		check := func(row string, wantModes []string, wantMsgs []string) {
			t.Helper()
			for i, ch := range channels {
				st, wc := e.widget(ch)
				if st != 200 || wc.Mode != wantModes[i] || wc.Message != wantMsgs[i] {
					t.Fatalf("%s, %s: %d %+v, want %s %q", row, ch, st, wc, wantModes[i], wantMsgs[i])
				}
				if wc.Mode == "contact_form" && (len(wc.Questions) != 1 || wc.Questions[0].ID != "why") {
					t.Fatalf("%s: contact form questions %+v", row, wc.Questions)
				}
				if wc.Hours != "Always open UTC" && wc.Hours != "Always open" {
					t.Fatalf("%s: hours %q", row, wc.Hours)
				}
			}
		}
		setAll := func(o string) {
			for _, q := range []string{"q-msg", "q-form", "q-messenger", "q-hidden"} {
				if st := e.call("PUT", "/api/v1/queues/"+q+"/override", e.owner, map[string]string{"override": o}, nil); st != 200 {
					t.Fatalf("override %s %s: %d", q, o, st)
				}
			}
		}
		check("open, nobody online", closedModes, closedMsgs)
		e.setStatus(e.olli, "online")
		check("open, agent online", []string{"live", "live", "live", "live"}, []string{"live: msg", "", "", ""})
		e.setStatus(e.olli, "invisible") // invisible agents look offline to customers
		check("open, agent invisible", closedModes, closedMsgs)
		e.setStatus(e.olli, "online")
		setAll("closed")
		check("override closed, agent online", closedModes, closedMsgs)
		e.setStatus(e.olli, "offline")
		check("override closed, nobody online", closedModes, closedMsgs)
		setAll("open")
		check("override open, nobody online", closedModes, closedMsgs)
		e.setStatus(e.olli, "online")
		check("override open, agent online", []string{"live", "live", "live", "live"}, []string{"live: msg", "", "", ""})

		// A queue with hours: closed hours win over an online agent; the
		// widget shows the hours and when they change.
		e.setStatus(e.anna, "online")
		if st, wc := e.widget("site"); st != 200 || wc.Mode != "live" || wc.Message != "We answer within minutes." ||
			wc.Hours != "Mon–Fri 09:00–17:00 Europe/Helsinki" || wc.NextChangeAt == nil || !wc.NextChangeAt.Equal(hel(2026, 6, 2, 17, 0)) {
			t.Fatalf("site in open hours: %d %+v", st, wc)
		}
		clock.set(hel(2026, 6, 2, 17, 30))
		e.setStatus(e.anna, "online") // still active
		if st, wc := e.widget("site"); st != 200 || wc.Mode != "contact_form" || wc.Message != "We are closed. Leave us a note." ||
			len(wc.Questions) != 2 || !wc.Questions[0].Required || wc.NextChangeAt == nil || !wc.NextChangeAt.Equal(hel(2026, 6, 3, 9, 0)) {
			t.Fatalf("site after hours: %d %+v", st, wc)
		}
		// Unknown channels and channels that are not widgets: 404.
		for _, ch := range []string{"nosuch", "crm"} {
			if st, _ := e.widget(ch); st != 404 {
				t.Fatalf("widget config of %s: %d", ch, st)
			}
		}
	})
}

var _ = json.Marshal
var _ store.Dialect
