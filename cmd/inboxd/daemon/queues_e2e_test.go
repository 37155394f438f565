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

// notifications replays a user's in-app notifications and returns their
// kinds, oldest first.
func (e *qEnv) notifications(token string) []string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.base+"/api/v1/me/notifications/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Last-Event-ID", "0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		e.t.Fatalf("notification feed: %d", resp.StatusCode)
	}
	var kinds []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var n struct{ Kind string }
			json.Unmarshal([]byte(d), &n)
			kinds = append(kinds, n.Kind)
		}
	}
	return kinds
}

// rawPost posts a body as is to a public path.
func (e *qEnv) rawPost(path string, body []byte) (int, http.Header, string) {
	e.t.Helper()
	resp, err := http.Post(e.base+path, "application/json", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func (e *qEnv) waitMails(addr string, n int) []qMail {
	e.t.Helper()
	qWait(e.t, fmt.Sprintf("%d mails to %s", n, addr), func() bool { return len(e.sink.to(addr)) >= n })
	return e.sink.to(addr)
}

// TestRegisteredContactEndToEnd posts the offline contact form: bad input
// is refused naming the field; a good form makes an unassigned
// conversation, an activity with the form, a listed contact (JSON and
// CSV), an email to the opted-in agent and none to the opted-out one.
func TestRegisteredContactEndToEnd(t *testing.T) {
	qDialects(t, func(t *testing.T, dbURL string, clock *qClock, sink *qSink, cb *callbackServer) {
		clock.set(hel(2026, 6, 2, 20, 0)) // closed
		e := startQ(t, dbURL, clock, sink, cb, true)
		var eb struct{ Error struct{ Code, Field string } }
		if st := e.call("PUT", "/api/v1/me/notifications", e.bob, map[string]any{"registered_contact": map[string]bool{"in_app": true, "email": false}}, nil); st != 200 {
			t.Fatalf("bob opts out: %d", st)
		}
		var set struct {
			RegisteredContact struct {
				InApp bool `json:"in_app"`
				Email bool
			} `json:"registered_contact"`
			NewChat struct {
				InApp bool `json:"in_app"`
			} `json:"new_chat"`
		}
		if st := e.call("GET", "/api/v1/me/notifications", e.bob, nil, &set); st != 200 || set.RegisteredContact.Email || !set.RegisteredContact.InApp || !set.NewChat.InApp {
			t.Fatalf("bob's settings: %d %+v", st, set)
		}
		if st := e.call("PUT", "/api/v1/me/notifications", e.bob, map[string]any{"new_chat": map[string]any{"in_app": "yes"}}, &eb); st != 400 || eb.Error.Field == "" {
			t.Fatalf("bad settings: %d %+v", st, eb)
		}
		if st := e.call("PUT", "/api/v1/me/notifications", e.bob, map[string]any{"sms": true}, &eb); st != 400 || eb.Error.Field != "sms" {
			t.Fatalf("unknown setting: %d %+v", st, eb)
		}

		bad := []struct {
			body  string
			field string
		}{
			{`{"email":"maria@example.com","message":"hi","answers":{"topic":"x"}}`, "name"},
			{`{"name":"Maria","email":"not-an-email","message":"hi","answers":{"topic":"x"}}`, "email"},
			{`{"name":"Maria","email":"Maria <maria@example.com>","message":"hi","answers":{"topic":"x"}}`, "email"},
			{`{"name":"Maria","email":"maria@example.com","message":"  ","answers":{"topic":"x"}}`, "message"},
			{`{"name":"Maria","email":"maria@example.com","message":"hi","answers":{}}`, "answers.topic"},
			{`{"name":"Maria","email":"maria@example.com","message":"hi","answers":{"topic":"x","color":"red"}}`, "answers.color"},
			{`{"name":"` + strings.Repeat("M", 201) + `","email":"maria@example.com","message":"hi","answers":{"topic":"x"}}`, "name"},
			{"{\"name\":\"Ma\xffria\",\"email\":\"maria@example.com\",\"message\":\"hi\"}", "body"},
			{`{"name":"Maria","email":"maria@example.com","message":"hi","admin":true}`, "body"},
		}
		for _, b := range bad {
			st, _, raw := e.rawPost("/widget/v1/site/contact", []byte(b.body))
			json.Unmarshal([]byte(raw), &eb)
			if st != 400 || eb.Error.Field != b.field {
				t.Errorf("%s: %d %s, want 400 naming %s", b.body, st, raw, b.field)
			}
		}
		if st, _, _ := e.rawPost("/widget/v1/crm/contact", []byte(`{}`)); st != 404 {
			t.Fatalf("contact form on a webhook channel: %d", st)
		}
		var journal page
		e.call("GET", "/api/v1/journal", e.owner, nil, &journal)
		if len(journal.Items) != 0 {
			t.Fatalf("bad forms stored conversations: %+v", journal.Items)
		}

		form := `{"name":"Maria Virtanen","email":"maria@example.com","message":"Please call me back about my invoice.","answers":{"topic":"Billing","order":"=1+2"}}`
		st, _, raw := e.rawPost("/widget/v1/site/contact", []byte(form))
		var res struct {
			ID             int64
			ConversationID int64 `json:"conversation_id"`
		}
		json.Unmarshal([]byte(raw), &res)
		if st != 201 || res.ConversationID == 0 {
			t.Fatalf("contact form: %d %s", st, raw)
		}
		if st, it := e.conversation(e.owner, res.ConversationID); st != 200 || it.Status != "unassigned" || it.Channel.ID != "site" {
			t.Fatalf("conversation: %d %+v", st, it)
		}
		acts := e.activities("support", "registered_contact")
		if len(acts) != 1 || acts[0].ConversationID != res.ConversationID || acts[0].Data["name"] != "Maria Virtanen" ||
			acts[0].Data["email"] != "maria@example.com" || acts[0].Data["answers.topic"] != "Billing" ||
			acts[0].Data["message"] != "Please call me back about my invoice." {
			t.Fatalf("activity: %+v", acts)
		}
		var cs struct {
			Items []struct {
				ID             int64
				Name, Email    string
				ConversationID int64 `json:"conversation_id"`
				Answers        map[string]string
			}
		}
		if st := e.call("GET", "/api/v1/queues/support/contacts", e.anna, nil, &cs); st != 200 || len(cs.Items) != 1 ||
			cs.Items[0].Answers["topic"] != "Billing" || cs.Items[0].ConversationID != res.ConversationID || cs.Items[0].Email != "maria@example.com" {
			t.Fatalf("contacts for anna: %d %+v", st, cs)
		}
		if st := e.call("GET", "/api/v1/queues/support/contacts", e.sales, nil, nil); st != 404 {
			t.Fatalf("contacts for another queue's agent: %d", st)
		}
		req, _ := http.NewRequest("GET", e.base+"/api/v1/queues/support/contacts?format=csv", nil)
		req.Header.Set("Authorization", "Bearer "+e.owner)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		csvBody, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		lines := strings.Split(strings.TrimSpace(string(csvBody)), "\n")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
			!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") || len(lines) != 2 ||
			lines[0] != "id,created_at,name,email,message,conversation_id,channel,topic,order,tags" ||
			!strings.HasSuffix(lines[1], ",site,Billing,'=1+2,") {
			t.Fatalf("csv: %d %v\n%s", resp.StatusCode, resp.Header, csvBody)
		}

		// Email: anna (default settings) and the owner get one; bob none.
		mails := e.waitMails("anna@example.com", 1)
		m := mails[0]
		link := fmt.Sprintf("https://inbox.example.com/conversations/%d", res.ConversationID)
		if m.header.Get("Auto-Submitted") != "auto-generated" || m.header.Get("X-Inboxd-Notification") != "registered_contact" ||
			!strings.Contains(m.body, link) || !strings.Contains(m.body, "Topic: Billing") || !strings.Contains(m.body, "Maria Virtanen") ||
			!strings.Contains(m.header.Get("Subject"), "registered contact") {
			t.Fatalf("anna's mail: %v\n%s", m.header, m.body)
		}
		e.waitMails("owner@example.com", 1)
		time.Sleep(1500 * time.Millisecond)
		if n := len(sink.to("bob@example.com")); n != 0 {
			t.Fatalf("bob opted out but got %d mails", n)
		}
		if n := len(sink.to("anna@example.com")); n != 1 {
			t.Fatalf("anna got %d mails", n)
		}
		if k := e.notifications(e.bob); len(k) != 1 || k[0] != "registered_contact" {
			t.Fatalf("bob's in-app notifications: %v", k)
		}
		if k := e.notifications(e.sales); len(k) != 0 {
			t.Fatalf("sales agent notified: %v", k)
		}

		// Rate limit per IP: 10 forms, then 429 with Retry-After.
		var limited http.Header
		for i := 0; i < 5 && limited == nil; i++ {
			if st, h, _ := e.rawPost("/widget/v1/site/contact", []byte(`{}`)); st == 429 {
				limited = h
			}
		}
		if limited == nil {
			t.Fatal("no 429 after 15 forms")
		}
		if s, err := strconv.Atoi(limited.Get("Retry-After")); err != nil || s < 1 {
			t.Fatalf("Retry-After %q", limited.Get("Retry-After"))
		}
	})
}

// TestMissedMessagesTranscript: five messages to an offline participant
// make one transcript mail once the conversation is quiet.
func TestMissedMessagesTranscript(t *testing.T) {
	qDialects(t, func(t *testing.T, dbURL string, clock *qClock, sink *qSink, cb *callbackServer) {
		clock.set(hel(2026, 6, 2, 10, 0)) // open
		e := startQ(t, dbURL, clock, sink, cb, true)
		e.setStatus(e.anna, "online")
		r := e.send("crm", "m0", "c1", "Hello?")
		if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", r.ConversationID), e.anna, map[string]string{"text": "Hi, Anna here"}, nil); st != 201 {
			t.Fatalf("reply: %d", st)
		}
		e.setStatus(e.anna, "offline")
		for i := 1; i <= 5; i++ {
			clock.add(10 * time.Second)
			e.send("crm", fmt.Sprintf("m%d", i), "c1", fmt.Sprintf("missed message number %d", i))
		}
		time.Sleep(1500 * time.Millisecond)
		if n := len(sink.to("anna@example.com")); n != 0 {
			t.Fatalf("mailed before the conversation was quiet: %d", n)
		}
		clock.add(6 * time.Minute)
		mails := e.waitMails("anna@example.com", 1)
		time.Sleep(1500 * time.Millisecond)
		if mails = sink.to("anna@example.com"); len(mails) != 1 {
			t.Fatalf("%d mails for 5 missed messages, want 1", len(mails))
		}
		m := mails[0]
		if !strings.HasPrefix(m.header.Get("Subject"), "5 missed messages in #") || m.header.Get("Auto-Submitted") != "auto-generated" ||
			!strings.Contains(m.body, fmt.Sprintf("https://inbox.example.com/conversations/%d", r.ConversationID)) {
			t.Fatalf("transcript: %v\n%s", m.header, m.body)
		}
		for i := 1; i <= 5; i++ {
			if !strings.Contains(m.body, fmt.Sprintf("missed message number %d", i)) {
				t.Fatalf("transcript lacks message %d:\n%s", i, m.body)
			}
		}
		if strings.Contains(m.body, "Hello?") {
			t.Fatalf("transcript holds a message from before anna went offline:\n%s", m.body)
		}
	})
}

// TestPresenceBusinessHoursAndIdle: business hours switch an agent on and
// off, a manual change wins until the next transition, and idle agents go
// offline (and stay offline until they say otherwise).
func TestPresenceBusinessHoursAndIdle(t *testing.T) {
	qDialects(t, func(t *testing.T, dbURL string, clock *qClock, sink *qSink, cb *callbackServer) {
		clock.set(hel(2026, 6, 1, 8, 0)) // Monday
		e := startQ(t, dbURL, clock, sink, cb, true)
		var eb struct{ Error struct{ Code, Field string } }
		for _, c := range []struct {
			body  map[string]string
			field string
		}{
			{map[string]string{"timezone": "Mars/Olympus", "open": "0 9 * * *", "close": "0 17 * * *"}, "timezone"},
			{map[string]string{"timezone": "UTC", "open": "0 9 * *", "close": "0 17 * * *"}, "open"},
			{map[string]string{"timezone": "UTC", "open": "0 9 * * *"}, "close"},
		} {
			if st := e.call("PUT", "/api/v1/me/hours", e.anna, c.body, &eb); st != 400 || eb.Error.Field != c.field {
				t.Fatalf("%v: %d %+v", c.body, st, eb)
			}
		}
		var hv struct {
			Hours        string
			NextChangeAt *time.Time `json:"next_change_at"`
		}
		if st := e.call("PUT", "/api/v1/me/hours", e.anna, map[string]string{"timezone": "Europe/Helsinki", "open": "0 9 * * MON-FRI", "close": "0 17 * * MON-FRI"}, &hv); st != 200 ||
			hv.Hours != "Mon–Fri 09:00–17:00 Europe/Helsinki" || hv.NextChangeAt == nil || !hv.NextChangeAt.Equal(hel(2026, 6, 1, 9, 0)) {
			t.Fatalf("set hours: %d %+v", st, hv)
		}
		if st := e.call("GET", "/api/v1/me/hours", e.anna, nil, &hv); st != 200 || hv.Hours != "Mon–Fri 09:00–17:00 Europe/Helsinki" {
			t.Fatalf("get hours: %d %+v", st, hv)
		}
		time.Sleep(1200 * time.Millisecond)
		if p := e.presence("Anna"); p != inbox.PresenceOffline {
			t.Fatalf("anna before her hours: %s", p)
		}
		clock.set(hel(2026, 6, 1, 9, 0).Add(30 * time.Second))
		qWait(t, "anna online at 09:00", func() bool { return e.presence("Anna") == inbox.PresenceOnline })
		// A manual change wins until the next transition.
		clock.set(hel(2026, 6, 1, 9, 5))
		e.setStatus(e.anna, "offline")
		clock.set(hel(2026, 6, 1, 9, 8))
		time.Sleep(1500 * time.Millisecond)
		if p := e.presence("Anna"); p != inbox.PresenceOffline {
			t.Fatalf("anna's manual offline overruled: %s", p)
		}
		clock.set(hel(2026, 6, 2, 9, 0).Add(30 * time.Second))
		qWait(t, "anna online on Tuesday", func() bool { return e.presence("Anna") == inbox.PresenceOnline })
		// No activity for presence.idle_after (10m) since 09:00: offline.
		clock.set(hel(2026, 6, 2, 9, 11))
		qWait(t, "idle anna offline", func() bool { return e.presence("Anna") == inbox.PresenceOffline })
		// Activity alone does not bring her back: idleness sticks.
		if st := e.call("GET", "/api/v1/me", e.anna, nil, nil); st != 200 {
			t.Fatalf("me: %d", st)
		}
		time.Sleep(1500 * time.Millisecond)
		if p := e.presence("Anna"); p != inbox.PresenceOffline {
			t.Fatalf("anna back online without saying so: %s", p)
		}
		// Without business hours, idleness applies the same way.
		e.setStatus(e.bob, "online")
		clock.add(5 * time.Minute)
		time.Sleep(1500 * time.Millisecond)
		if p := e.presence("Bob"); p != inbox.PresenceOnline {
			t.Fatalf("bob went offline early: %s", p)
		}
		clock.add(6 * time.Minute)
		qWait(t, "idle bob offline", func() bool { return e.presence("Bob") == inbox.PresenceOffline })
		kinds := e.feedKinds(e.owner, "/api/v1/journal/events", "presence.")
		if n := strings.Count(kinds, "presence.changed"); n < 6 {
			t.Fatalf("presence events: %q", kinds)
		}
		if k := e.feedKinds(e.sales, "/api/v1/me/notifications/events", "presence."); k != "" {
			t.Fatalf("presence on the notification feed: %q", k)
		}
	})
}

// TestInvisibleSlowChat: invisible agents hear of a new chat only when it
// has waited slow_after, and only if they asked; they can still reply.
func TestInvisibleSlowChat(t *testing.T) {
	qDialects(t, func(t *testing.T, dbURL string, clock *qClock, sink *qSink, cb *callbackServer) {
		clock.set(hel(2026, 6, 2, 10, 0)) // open
		e := startQ(t, dbURL, clock, sink, cb, true)
		if st := e.call("PUT", "/api/v1/me/notifications", e.bob, map[string]any{"invisible_slow_chats": true,
			"new_chat": map[string]bool{"in_app": true, "email": true}}, nil); st != 200 {
			t.Fatalf("bob's settings: %d", st)
		}
		e.setStatus(e.bob, "invisible")
		e.setStatus(e.anna, "online")
		r := e.send("crm", "m1", "c1", "Anyone there?")
		qWait(t, "anna's new chat notification", func() bool {
			k := e.notifications(e.anna)
			return len(k) == 1 && k[0] == "new_chat"
		})
		time.Sleep(1200 * time.Millisecond)
		if k := e.notifications(e.bob); len(k) != 0 {
			t.Fatalf("invisible bob told at once: %v", k)
		}
		clock.add(90 * time.Second)
		time.Sleep(1500 * time.Millisecond)
		if k := e.notifications(e.bob); len(k) != 0 || len(sink.to("bob@example.com")) != 0 {
			t.Fatalf("invisible bob told before slow_after: %v", k)
		}
		clock.add(60 * time.Second)
		mails := e.waitMails("bob@example.com", 1)
		if !strings.HasPrefix(mails[0].header.Get("Subject"), "Waiting chat #") ||
			!strings.Contains(mails[0].body, fmt.Sprintf("/conversations/%d", r.ConversationID)) {
			t.Fatalf("slow chat mail: %v\n%s", mails[0].header, mails[0].body)
		}
		if k := e.notifications(e.bob); len(k) != 1 || k[0] != "slow_chat" {
			t.Fatalf("bob's notifications: %v", k)
		}
		time.Sleep(1200 * time.Millisecond)
		if n := len(sink.to("bob@example.com")); n != 1 {
			t.Fatalf("bob told %d times", n)
		}
		if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", r.ConversationID), e.bob, map[string]string{"text": "Yes, Bob here"}, nil); st != 201 {
			t.Fatalf("invisible bob's reply: %d", st)
		}
	})
}

type qMsg struct {
	ID        int64
	Direction string
	Text      string
	Auto      bool
	Delivery  *string
	Author    *struct {
		ID   int64
		Name string
	}
}

func (e *qEnv) msgs(conv int64) []qMsg {
	var out struct{ Items []qMsg }
	e.call("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", conv), e.owner, nil, &out)
	return out.Items
}

func autoReplies(ms []qMsg) []qMsg {
	var out []qMsg
	for _, m := range ms {
		if m.Direction == "out" && m.Auto {
			out = append(out, m)
		}
	}
	return out
}

// TestAutoReplyWhenClosed: a closed queue answers first on non-widget
// channels, once per conversation per closed period, never to a machine.
func TestAutoReplyWhenClosed(t *testing.T) {
	qDialects(t, func(t *testing.T, dbURL string, clock *qClock, sink *qSink, cb *callbackServer) {
		clock.set(hel(2026, 6, 2, 20, 0)) // Tuesday evening: closed
		e := startQ(t, dbURL, clock, sink, cb, true)
		r := e.send("crm", "m1", "c1", "Hello, are you there?")
		qWait(t, "the automatic answer sent", func() bool {
			a := autoReplies(e.msgs(r.ConversationID))
			return len(a) == 1 && a[0].Delivery != nil && *a[0].Delivery == "sent"
		})
		a := autoReplies(e.msgs(r.ConversationID))[0]
		if a.Text != "We are closed. Leave us a note." || a.Author == nil || a.Author.ID != 0 {
			t.Fatalf("automatic answer: %+v", a)
		}
		var cbBody struct{ Text string }
		hits := cb.hits()
		if len(hits) != 1 || json.Unmarshal(hits[0].body, &cbBody) != nil || cbBody.Text != a.Text {
			t.Fatalf("callback: %d hits", len(hits))
		}
		if st, it := e.conversation(e.owner, r.ConversationID); st != 200 || it.Status != "unassigned" || len(it.Participants) != 0 {
			t.Fatalf("the automatic answer took the conversation: %+v", it)
		}
		// The same closed period: no second answer.
		clock.add(time.Hour)
		e.send("crm", "m2", "c1", "Hello again")
		// A machine's message and a widget chat: no answer.
		ctx := context.Background()
		auto, err := e.d.Service.Ingest(ctx, inbox.Inbound{ChannelID: "crm", ExternalID: "ooo-1",
			Contact: inbox.ContactInfo{ExternalID: "robot", Name: "Robot"}, Text: "I am out of office", Auto: true})
		if err != nil {
			t.Fatal(err)
		}
		widget, err := e.d.Service.Ingest(ctx, inbox.Inbound{ChannelID: "site", ExternalID: "v-1",
			Contact: inbox.ContactInfo{ExternalID: "visitor-1"}, Text: "hi from the site"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		if n := len(autoReplies(e.msgs(r.ConversationID))); n != 1 {
			t.Fatalf("%d automatic answers in one closed period", n)
		}
		if n := len(autoReplies(e.msgs(auto.ConversationID))); n != 0 {
			t.Fatal("answered a machine")
		}
		if n := len(autoReplies(e.msgs(widget.ConversationID))); n != 0 {
			t.Fatal("answered a widget chat")
		}
		// The next closed period answers again.
		clock.set(hel(2026, 6, 3, 19, 0))
		e.send("crm", "m3", "c1", "Third try")
		qWait(t, "the second period's answer", func() bool { return len(autoReplies(e.msgs(r.ConversationID))) == 2 })
		if acts := e.activities("support", "auto_replied"); len(acts) != 2 || acts[0].Data["period"] == acts[1].Data["period"] {
			t.Fatalf("auto_replied activities: %+v", acts)
		}
		// Open hours: no answer.
		clock.set(hel(2026, 6, 4, 10, 0))
		e.send("crm", "m4", "c1", "Open now?")
		time.Sleep(1500 * time.Millisecond)
		if n := len(autoReplies(e.msgs(r.ConversationID))); n != 2 {
			t.Fatalf("answered in open hours: %d", n)
		}
	})
}
