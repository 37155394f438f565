package daemon_test

// End-to-end tests of the input edge: NUL characters, contact field
// sizes, the contacts CSV, the request id.

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// startInput is start with a debug log the test reads.
func startInput(t *testing.T, d store.Dialect) (*env, *syncBuffer) {
	t.Helper()
	cb := newCallback()
	t.Cleanup(cb.Close)
	yaml := fmt.Sprintf(`
listen: 127.0.0.1:0
database: {url: %q}
bootstrap_owner: {email: owner@example.com, password: owner-password}
queues:
  - {id: support, name: Support, offline: {mode: contact_form, questions: [{id: topic, label: Topic}]}}
  - {id: sales, name: Sales}
channels:
  - {id: crm, kind: webhook, name: CRM, queue: support, secret: %q, callback_url: %q}
  - {id: site, kind: widget, name: Website, queue: support}
`, storetest.URL(t, d), secret, cb.URL)
	logs := &syncBuffer{}
	e := startYAML(t, yaml, daemon.Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	e.callback = cb
	e.anna = e.addUser("anna@example.com", "Anna", inbox.RoleAgent, []string{"support"})
	return e, logs
}

// raw sends a request with a body given as raw JSON text and returns the
// status, the headers and the body.
func (e *env) raw(method, path, token, body string, headers ...string) (int, http.Header, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

type errorEnvelope struct {
	Error struct{ Code, Message, Field string }
}

// TestEndToEndNULRefused walks the routes that take text from a client
// with a NUL character in a JSON string (\u0000), a query parameter or a
// path parameter (%00): each answers 400 invalid naming the field, on
// both stores (PostgreSQL refused the text with an error, a 500), and the
// log holds no ERROR line. A webhook's NUL is stripped, not refused: the
// customer's message must not be lost.
func TestEndToEndNULRefused(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			e, logs := startInput(t, d)
			conv := e.send("crm", "m1", "c1", "hello").ConversationID
			visitor := e.visitor("site", nil)
			cases := []struct {
				name, method, path, token, body, field string
			}{
				{"login email", "POST", "/api/v1/auth/login", "", `{"email":"owner@example.com\u0000","password":"x"}`, "email"},
				{"login password", "POST", "/api/v1/auth/login", "", `{"email":"owner@example.com","password":"x\u0000"}`, "password"},
				{"journal channel", "GET", "/api/v1/journal?channel=crm%00", e.owner, "", "channel"},
				{"journal q", "GET", "/api/v1/journal?q=hel%00lo", e.owner, "", "q"},
				{"journal status", "GET", "/api/v1/journal?status=%00", e.owner, "", "status"},
				{"journal cursor", "GET", "/api/v1/journal?cursor=%00", e.owner, "", "cursor"},
				{"conversations view", "GET", "/api/v1/conversations?view=mine%00", e.anna, "", "view"},
				{"counts channel", "GET", "/api/v1/journal/counts?channel=crm%00", e.owner, "", "channel"},
				{"counts queue", "GET", "/api/v1/journal/counts?queue=%00", e.owner, "", "queue"},
				{"activity queue", "GET", "/api/v1/activity?queue=support%00", e.owner, "", "queue"},
				{"stats queue", "GET", "/api/v1/stats?queue=support%00", e.owner, "", "queue"},
				{"token name", "POST", "/api/v1/me/tokens", e.owner, `{"name":"ci\u0000"}`, "name"},
				{"my name", "PUT", "/api/v1/me", e.anna, `{"name":"Anna\u0000"}`, "name"},
				{"my hours", "PUT", "/api/v1/me/hours", e.anna, `{"timezone":"UTC\u0000","open":"","close":""}`, "timezone"},
				{"reply", "POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv), e.owner, `{"text":"hi\u0000there"}`, "text"},
				{"conversation id", "GET", "/api/v1/conversations/1%00", e.owner, "", "id"},
				{"queue contacts", "GET", "/api/v1/queues/support%00/contacts", e.owner, "", "id"},
				{"queue override", "PUT", "/api/v1/queues/support/override", e.owner, `{"override":"open\u0000"}`, "override"},
				{"contact form name", "POST", "/widget/v1/site/contact", "", `{"name":"Ann\u0000","email":"ann@example.com","message":"call me"}`, "name"},
				{"contact form message", "POST", "/widget/v1/site/contact", "", `{"name":"Ann","email":"ann@example.com","message":"call\u0000me"}`, "message"},
				{"contact form answer", "POST", "/widget/v1/site/contact", "", `{"name":"Ann","email":"ann@example.com","message":"m","answers":{"topic":"\u0000"}}`, "answers.topic"},
				{"widget channel", "GET", "/widget/v1/site%00/config", "", "", "channel"},
				{"widget visitor", "POST", "/widget/v1/site/visitors", "", `{"user_id":"u\u0000"}`, "user_id"},
				{"widget message", "POST", "/widget/v1/site/messages", visitor, `{"text":"hi\u0000","client_id":"client-0001"}`, "text"},
				{"widget messages query", "GET", "/widget/v1/site/messages?conversation=%00", visitor, "", "conversation"},
				{"widget settings lang", "GET", "/widget/v1/site/settings?lang=fi%00", "", "", "lang"},
			}
			for _, c := range cases {
				st, _, b := e.raw(c.method, c.path, c.token, c.body)
				var env errorEnvelope
				_ = json.Unmarshal(b, &env)
				if st != 400 || env.Error.Code != "invalid" || env.Error.Field != c.field {
					t.Errorf("%s: %s %s: %d %s, want 400 invalid naming %q", c.name, c.method, c.path, st, b, c.field)
				}
			}
			// An escaped backslash before "u0000" is plain text, not NUL.
			if st, _, b := e.raw("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv), e.owner, `{"text":"C:\\u0000"}`); st != 201 {
				t.Errorf("a reply with a literal \\u0000: %d %s", st, b)
			}
			// A webhook's NUL is stripped: the message is stored.
			st, r, raw := e.post("crm", []byte(`{"message_id":"m2","contact":{"id":"c1","name":"Customer\u0000 c1"},"text":"bye\u0000 now"}`), "")
			if st != http.StatusAccepted {
				t.Fatalf("webhook with NUL: %d %s", st, raw)
			}
			var ms struct{ Items []struct{ Text string } }
			e.call("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", r.ConversationID), e.owner, nil, &ms)
			if n := len(ms.Items); n == 0 || ms.Items[n-1].Text != "bye now" {
				t.Errorf("webhook with NUL: %+v", ms.Items)
			}
			if strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("ERROR lines in the log:\n%s", errorLines(logs.String()))
			}
		})
	}
}

func errorLines(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestEndToEndContactFieldSizes: a webhook whose contact has a 900 KB
// name is stored (never lost) with its name cut to 200 characters, and no
// event repeats the long name; the widget's contact form, which a person
// types, refuses a huge name with 400 naming the field.
func TestEndToEndContactFieldSizes(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			e, _ := startInput(t, d)
			huge := strings.Repeat("Ä", 450_000) // 900 KB
			body := fmt.Sprintf(`{"message_id":"m1","contact":{"id":"c1","name":%q,"username":%q},"text":"hello"}`, huge, strings.Repeat("u", 300))
			st, r, raw := e.post("crm", []byte(body), "")
			if st != http.StatusAccepted {
				t.Fatalf("webhook with a 900 KB name: %d %.300s", st, raw)
			}
			var conv struct {
				Title   string
				Contact struct{ Name, Username string }
			}
			if st := e.call("GET", fmt.Sprintf("/api/v1/conversations/%d", r.ConversationID), e.owner, nil, &conv); st != 200 {
				t.Fatalf("conversation: %d", st)
			}
			if n := len([]rune(conv.Contact.Name)); n != inbox.MaxContactNameRunes || !strings.HasPrefix(huge, conv.Contact.Name) {
				t.Fatalf("stored name: %d characters", n)
			}
			if n := len([]rune(conv.Contact.Username)); n != inbox.MaxContactNameRunes {
				t.Fatalf("stored username: %d characters", n)
			}
			var longest int
			if err := e.d.Store.DB().Raw(`SELECT COALESCE(MAX(LENGTH(payload)), 0) FROM events`).Scan(&longest).Error; err != nil {
				t.Fatal(err)
			}
			if longest == 0 || longest > 4096 {
				t.Fatalf("the largest event payload is %d characters", longest)
			}
			form := fmt.Sprintf(`{"name":%q,"email":"ann@example.com","message":"call me"}`, huge)
			st, _, b := e.raw("POST", "/widget/v1/site/contact", "", form)
			var env errorEnvelope
			_ = json.Unmarshal(b, &env)
			if st != 400 || env.Error.Field != "name" {
				t.Fatalf("contact form with a huge name: %d %.300s", st, b)
			}
		})
	}
}

// TestEndToEndRequestIDChecked: a client's own X-Request-Id is answered
// and logged only when it is at most 200 characters of letters, digits
// and . _ : -; a hostile one (forged log fields, a huge one) is replaced
// by a fresh id and appears nowhere in the log.
func TestEndToEndRequestIDChecked(t *testing.T) {
	e, logs := startInput(t, storetest.Dialects(t)[0])
	good := "proxy-1.2:abc_DEF"
	if _, h, _ := e.raw("GET", "/api/v1/me", e.owner, "", "X-Request-Id", good); h.Get("X-Request-Id") != good {
		t.Fatalf("a good request id was replaced by %q", h.Get("X-Request-Id"))
	}
	hostile := []string{
		`x" level=ERROR msg="forged`,
		strings.Repeat("a", 201),
		"id with spaces",
		"<script>alert(1)</script>",
		"ÄÖ",
	}
	for _, id := range hostile {
		_, h, _ := e.raw("GET", "/api/v1/me", e.owner, "", "X-Request-Id", id)
		got := h.Get("X-Request-Id")
		if got == id || got == "" || len(got) > 200 {
			t.Errorf("request id %.40q answered as %.40q", id, got)
		}
	}
	waitFor(t, "the good id logged", func() bool { return strings.Contains(logs.String(), "request_id="+good) })
	log := logs.String()
	for _, id := range hostile {
		if strings.Contains(log, id) {
			t.Errorf("the hostile request id %.40q is in the log", id)
		}
	}
	if strings.Contains(log, "forged") {
		t.Errorf("a forged log field reached the log:\n%s", log)
	}
}

// TestEndToEndUsersAllQueues: the team list says which users serve every
// queue (no queues of their own), so that an agent created without
// --queues is not mistaken for an agent of none.
func TestEndToEndUsersAllQueues(t *testing.T) {
	e, _ := startInput(t, storetest.Dialects(t)[0])
	e.addUser("zed@example.com", "Zed", inbox.RoleAgent, nil)
	var users struct {
		Items []struct {
			Email     string
			Queues    []string
			AllQueues *bool `json:"all_queues"`
		}
	}
	if st := e.call("GET", "/api/v1/users", e.owner, nil, &users); st != 200 {
		t.Fatalf("users: %d", st)
	}
	want := map[string]bool{"owner@example.com": true, "anna@example.com": false, "zed@example.com": true}
	for _, u := range users.Items {
		if u.AllQueues == nil || *u.AllQueues != want[u.Email] {
			t.Errorf("%s (queues %v): all_queues %v, want %v", u.Email, u.Queues, u.AllQueues, want[u.Email])
		}
	}
	if len(users.Items) != len(want) {
		t.Fatalf("users: %+v", users.Items)
	}
}
