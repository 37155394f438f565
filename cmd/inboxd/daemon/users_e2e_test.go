package daemon_test

import (
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

type accountOut struct {
	User struct {
		ID            int64
		Email         string
		Name          string
		Role          string
		Queues        []string
		AccountStatus string `json:"account_status"`
	}
	InviteURL string `json:"invite_url"`
	ResetURL  string `json:"reset_url"`
	Mailed    bool
}

type auditOut struct {
	Items []struct {
		ID         int64
		ActorID    int64  `json:"actor_id"`
		IP         string `json:"ip"`
		Action     string
		TargetID   string `json:"target_id"`
		TargetType string `json:"target_type"`
		Data       map[string]string
	}
	NextBefore *int64 `json:"next_before"`
}

// audit returns the audit entries of an action, newest first.
func (e *env) audit(action string) auditOut {
	e.t.Helper()
	var out auditOut
	if st := e.call("GET", "/api/v1/audit?limit=200&action="+action, e.owner, nil, &out); st != 200 {
		e.t.Fatalf("audit %s: %d", action, st)
	}
	return out
}

// errCode calls and returns the status and the error code.
func (e *env) errCode(method, path, token string, body any) (int, string) {
	e.t.Helper()
	var out struct {
		Error struct{ Code, Field, Message string }
	}
	st := e.call(method, path, token, body, &out)
	return st, out.Error.Code
}

func linkToken(t *testing.T, url string) string {
	t.Helper()
	i := strings.LastIndex(url, "/invite/")
	if i < 0 || (i > 0 && !strings.HasPrefix(url, "http")) {
		t.Fatalf("link %q", url)
	}
	return url[i+len("/invite/"):]
}

// TestEndToEndInviteAgent: an admin invites an agent to one queue; the
// agent sets its password with the link (once), is logged in, and sees
// only its queue's conversations.
func TestEndToEndInviteAgent(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			e := start(t, d)
			ada := e.addUser("ada@example.com", "Ada", inbox.RoleAdmin, nil)
			// Bad input: clear 400s, 403 for a role an admin may not give,
			// 409 for a taken email.
			for _, c := range []struct {
				body       map[string]any
				st         int
				code, note string
			}{
				{map[string]any{"email": "not-an-email", "name": "X", "role": "agent"}, 400, "invalid", "email"},
				{map[string]any{"email": "x@example.com", "name": "", "role": "agent"}, 400, "invalid", "name"},
				{map[string]any{"email": "x@example.com", "name": "X", "role": "boss"}, 400, "invalid", "role"},
				{map[string]any{"email": "x@example.com", "name": "X", "role": "agent", "queues": []string{"nope"}}, 400, "invalid", "queue"},
				{map[string]any{"email": "x@example.com", "name": "X", "role": "agent", "password": "short"}, 400, "invalid", "password"},
				{map[string]any{"email": "x@example.com", "name": "X", "role": "admin"}, 403, "forbidden", "admin makes admin"},
				{map[string]any{"email": "x@example.com", "name": "X", "role": "owner", "password": "long-enough-1"}, 403, "forbidden", "admin makes owner"},
				{map[string]any{"email": "anna@example.com", "name": "X", "role": "agent"}, 409, "conflict", "taken"},
			} {
				if st, code := e.errCode("POST", "/api/v1/users", ada, c.body); st != c.st || code != c.code {
					t.Errorf("%s: %d %s, want %d %s", c.note, st, code, c.st, c.code)
				}
			}
			var inv accountOut
			if st := e.call("POST", "/api/v1/users", ada, map[string]any{"email": " Ivy@Example.com ", "name": "Ivy",
				"role": "agent", "queues": []string{"sales"}}, &inv); st != 201 {
				t.Fatalf("invite: %d", st)
			}
			if inv.User.AccountStatus != "invited" || inv.User.Email != "ivy@example.com" || inv.Mailed {
				t.Fatalf("invited %+v", inv)
			}
			token := linkToken(t, inv.InviteURL)
			// No password yet: the login fails like a wrong password.
			if st, _ := e.loginFrom("", "ivy@example.com", ""); st != 400 {
				t.Fatalf("empty password login: %d", st)
			}
			st, _, html := e.get("/invite/" + token)
			if st != 200 || !strings.Contains(string(html), `name="password"`) {
				t.Fatalf("invite page: %d", st)
			}
			if st, code := e.errCode("POST", "/api/v1/invitations/"+token+"/accept", "", map[string]string{"password": "short"}); st != 400 || code != "invalid" {
				t.Fatalf("short password: %d %s", st, code)
			}
			if st, code := e.errCode("POST", "/api/v1/invitations/ibx_wrong/accept", "", map[string]string{"password": "ivys-password-1"}); st != 404 || code != "not_found" {
				t.Fatalf("wrong token: %d %s", st, code)
			}
			var acc struct {
				Token string
				User  struct{ ID int64 }
			}
			if st := e.call("POST", "/api/v1/invitations/"+token+"/accept", "", map[string]string{"password": "ivys-password-1", "name": "Ivy Green"}, &acc); st != 200 || acc.Token == "" {
				t.Fatalf("accept: %d %+v", st, acc)
			}
			if st, code := e.errCode("POST", "/api/v1/invitations/"+token+"/accept", "", map[string]string{"password": "another-password"}); st != 404 || code != "not_found" {
				t.Fatalf("second use: %d %s", st, code)
			}
			ivy := acc.Token
			if again := e.login("ivy@example.com", "ivys-password-1"); again == "" {
				t.Fatal("login with the new password")
			}
			// Only her queue: sales, not support.
			support := e.send("crm", "m1", "c1", "support question")
			sales := e.send("shop", "m2", "c2", "sales question")
			var p page
			if st := e.call("GET", "/api/v1/conversations?view=queue", ivy, nil, &p); st != 200 {
				t.Fatalf("queue view: %d", st)
			}
			if len(p.Items) != 1 || p.Items[0].ID != sales.ConversationID {
				t.Fatalf("ivy sees %+v, want only %d", p.Items, sales.ConversationID)
			}
			if st := e.call("GET", fmt.Sprintf("/api/v1/conversations/%d", support.ConversationID), ivy, nil, nil); st != 404 {
				t.Fatalf("another queue's conversation: %d, want 404", st)
			}
			var me struct {
				Name   string
				Queues []string
			}
			if e.call("GET", "/api/v1/me", ivy, nil, &me); me.Name != "Ivy Green" || len(me.Queues) != 1 || me.Queues[0] != "sales" {
				t.Fatalf("me %+v", me)
			}
			// The audit log: created and invited by Ada, the password set
			// by Ivy, her login; no secret anywhere.
			if a := e.audit("user.created").Items; len(a) != 1 || a[0].Data["email"] != "ivy@example.com" || a[0].ActorID == 0 {
				t.Fatalf("user.created %+v", a)
			}
			if a := e.audit("user.invited").Items; len(a) != 1 || a[0].TargetID != fmt.Sprint(inv.User.ID) {
				t.Fatalf("user.invited %+v", a)
			}
			if a := e.audit("user.updated").Items; len(a) != 1 || a[0].ActorID != inv.User.ID || a[0].Data["after.name"] != "Ivy Green" {
				t.Fatalf("user.updated %+v", a)
			}
			var csvBody string
			{
				req, _ := http.NewRequest("GET", e.base+"/api/v1/audit?format=csv", nil)
				req.Header.Set("Authorization", "Bearer "+e.owner)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				csvBody = string(b)
			}
			for _, secret := range []string{"ivys-password-1", token, "password-Ada"} {
				if strings.Contains(csvBody, secret) {
					t.Fatalf("the audit log holds a secret (%q)", secret)
				}
			}
		})
	}
}

// TestEndToEndDeactivateAgent: deactivation ends the agent's open live
// feeds within two seconds, returns its active chats to the queue, makes
// its token and password useless (the login answers as for a wrong
// password); an admin cannot touch an owner; the last owner stays.
func TestEndToEndDeactivateAgent(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			e := start(t, d)
			ada := e.addUser("ada@example.com", "Ada", inbox.RoleAdmin, nil)
			var users struct {
				Items []struct {
					ID            int64
					Email         string
					AccountStatus string `json:"account_status"`
					LastSeenAt    *time.Time
				}
			}
			if st := e.call("GET", "/api/v1/users", ada, nil, &users); st != 200 {
				t.Fatalf("users: %d", st)
			}
			ids := map[string]int64{}
			for _, u := range users.Items {
				ids[u.Email] = u.ID
				if u.AccountStatus != "active" {
					t.Errorf("listed %+v: want active", u)
				}
			}
			annaID, ownerID := ids["anna@example.com"], ids["owner@example.com"]
			chat := e.send("crm", "m1", "c1", "hello")
			if st := e.call("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", chat.ConversationID), e.anna, map[string]string{"text": "Anna here"}, nil); st != 201 {
				t.Fatalf("anna takes it: %d", st)
			}
			feed := e.openFeed("/api/v1/me/events", e.anna, false, "")
			notes := e.openFeed("/api/v1/me/notifications/events", e.anna, false, "")
			if feed.status != 200 || notes.status != 200 {
				t.Fatalf("feeds: %d %d", feed.status, notes.status)
			}
			// An admin cannot touch the owner.
			for _, c := range []struct{ method, path string }{
				{"POST", "/deactivate"}, {"POST", "/reactivate"}, {"POST", "/password-reset"}, {"PUT", ""},
			} {
				if st, code := e.errCode(c.method, fmt.Sprintf("/api/v1/users/%d%s", ownerID, c.path), ada, map[string]string{}); st != 403 || code != "forbidden" {
					t.Errorf("admin %s owner%s: %d %s", c.method, c.path, st, code)
				}
			}
			// The last owner: neither deactivated nor demoted.
			if st, code := e.errCode("POST", fmt.Sprintf("/api/v1/users/%d/deactivate", ownerID), e.owner, nil); st != 409 || code != "conflict" {
				t.Fatalf("last owner deactivated: %d %s", st, code)
			}
			if st, code := e.errCode("PUT", fmt.Sprintf("/api/v1/users/%d", ownerID), e.owner, map[string]string{"role": "admin"}); st != 409 || code != "conflict" {
				t.Fatalf("last owner demoted: %d %s", st, code)
			}
			if st := e.call("POST", "/api/v1/users/999999/deactivate", ada, nil, nil); st != 404 {
				t.Fatalf("unknown user: %d", st)
			}
			start := time.Now()
			var out accountOut
			if st := e.call("POST", fmt.Sprintf("/api/v1/users/%d/deactivate", annaID), ada, nil, &out); st != 200 || out.User.AccountStatus != "deactivated" {
				t.Fatalf("deactivate: %d %+v", st, out)
			}
			feed.endsWithin(t, "after the deactivation", 2*time.Second-time.Since(start))
			notes.endsWithin(t, "after the deactivation", 2*time.Second)
			var c item
			if e.call("GET", fmt.Sprintf("/api/v1/conversations/%d", chat.ConversationID), e.owner, nil, &c); c.Status != "unassigned" || len(c.Participants) != 0 {
				t.Fatalf("her chat: %+v, want unassigned without participants", c)
			}
			if st := e.call("GET", "/api/v1/me", e.anna, nil, nil); st != 401 {
				t.Fatalf("her token: %d, want 401", st)
			}
			if again := e.openFeed("/api/v1/me/events", e.anna, false, ""); again.status != 401 {
				t.Fatalf("a new feed: %d", again.status)
			}
			var wrong, gone struct {
				Error struct{ Code, Message string }
			}
			stWrong := e.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "bob@example.com", "password": "not-bobs"}, &wrong)
			stGone := e.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "anna@example.com", "password": "password-Anna"}, &gone)
			if stGone != 401 || stWrong != stGone || wrong.Error != gone.Error {
				t.Fatalf("deactivated login: %d %+v; wrong password: %d %+v", stGone, gone, stWrong, wrong)
			}
			var acts struct {
				Items []struct {
					Kind      string
					ActorName string `json:"actor_name"`
					Data      map[string]string
				}
			}
			e.call("GET", fmt.Sprintf("/api/v1/conversations/%d/activity", chat.ConversationID), e.owner, nil, &acts)
			if n := len(acts.Items); n == 0 || acts.Items[n-1].Kind != "left" || acts.Items[n-1].Data["reason"] != "deactivated" || acts.Items[n-1].ActorName != "Ada" {
				t.Fatalf("activity %+v", acts.Items)
			}
			if a := e.audit("user.deactivated").Items; len(a) != 1 || a[0].TargetID != fmt.Sprint(annaID) || a[0].Data["conversations_released"] != "1" || a[0].IP == "" {
				t.Fatalf("user.deactivated %+v", a)
			}
			// Reactivated: the password works again, the old token does not.
			if st := e.call("POST", fmt.Sprintf("/api/v1/users/%d/reactivate", annaID), ada, nil, &out); st != 200 || out.User.AccountStatus != "active" {
				t.Fatalf("reactivate: %d %+v", st, out)
			}
			if st := e.call("GET", "/api/v1/me", e.anna, nil, nil); st != 401 {
				t.Fatalf("old token after reactivation: %d", st)
			}
			if a := e.audit("user.reactivated").Items; len(a) != 1 || a[0].TargetID != fmt.Sprint(annaID) || a[0].ActorID == 0 {
				t.Fatalf("user.reactivated %+v", a)
			}
			anna := e.login("anna@example.com", "password-Anna")
			// A password reset link: the old password stops at its use.
			if st := e.call("POST", fmt.Sprintf("/api/v1/users/%d/password-reset", annaID), ada, nil, &out); st != 200 || out.ResetURL == "" {
				t.Fatalf("reset: %d %+v", st, out)
			}
			if st := e.call("POST", "/api/v1/invitations/"+linkToken(t, out.ResetURL)+"/accept", "", map[string]string{"password": "annas-new-password"}, nil); st != 200 {
				t.Fatalf("reset accept: %d", st)
			}
			if st := e.call("GET", "/api/v1/me", anna, nil, nil); st != 401 {
				t.Fatalf("a session from before the reset: %d", st)
			}
			if st, _ := e.loginFrom("", "anna@example.com", "password-Anna"); st != 401 {
				t.Fatalf("old password after reset: %d", st)
			}
			anna = e.login("anna@example.com", "annas-new-password")
			// A changed queue list ends her feeds: they reopen with the new rights.
			rights := e.openFeed("/api/v1/me/events", anna, false, "")
			// Edits: role and queues by an admin (agents only), checked.
			if st, code := e.errCode("PUT", fmt.Sprintf("/api/v1/users/%d", annaID), ada, map[string]any{"queues": []string{"nowhere"}}); st != 400 || code != "invalid" {
				t.Fatalf("unknown queue: %d %s", st, code)
			}
			if st, code := e.errCode("PUT", fmt.Sprintf("/api/v1/users/%d", annaID), ada, map[string]any{"role": "admin"}); st != 403 || code != "forbidden" {
				t.Fatalf("admin promotes: %d %s", st, code)
			}
			if st := e.call("PUT", fmt.Sprintf("/api/v1/users/%d", annaID), ada, map[string]any{"queues": []string{"support", "sales"}}, &out); st != 200 || len(out.User.Queues) != 2 {
				t.Fatalf("queues: %d %+v", st, out)
			}
			rights.endsWithin(t, "after a change of her queues", 2*time.Second)
			if a := e.audit("user.updated").Items; len(a) == 0 || a[0].Data["before.queues"] != "support" || a[0].Data["after.queues"] != "support,sales" {
				t.Fatalf("user.updated %+v", a)
			}
		})
	}
}

// TestEndToEndAuditLog: logins, failures, token creation and deletion and
// queue overrides are recorded; the list filters, pages by id and
// exports spreadsheet-safe CSV; unknown actions and agents are refused;
// nothing edits or deletes an entry.
func TestEndToEndAuditLog(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			e := start(t, d)
			if st, _ := e.loginFrom("", "anna@example.com", "wrong-password"); st != 401 {
				t.Fatalf("wrong password: %d", st)
			}
			if st, _ := e.loginFrom("", "nobody@example.com", "whatever-1"); st != 401 {
				t.Fatalf("unknown account: %d", st)
			}
			var tok struct{ Token string }
			if st := e.call("POST", "/api/v1/me/tokens", e.anna, map[string]string{"name": "=HYPERLINK(\"x\")"}, &tok); st != 201 {
				t.Fatalf("token: %d", st)
			}
			var ts struct{ Items []struct{ ID int64 } }
			e.call("GET", "/api/v1/me/tokens", e.anna, nil, &ts)
			if st := e.call("DELETE", fmt.Sprintf("/api/v1/me/tokens/%d", ts.Items[0].ID), e.anna, nil, nil); st != 204 {
				t.Fatalf("delete token: %d", st)
			}
			if st := e.call("PUT", "/api/v1/queues/support/override", e.owner, map[string]string{"override": "closed"}, nil); st != 200 {
				t.Fatalf("override: %d", st)
			}
			logins := e.audit("login").Items
			if len(logins) < 4 { // the owner, anna, bob, sam
				t.Fatalf("logins %+v", logins)
			}
			failed := e.audit("login_failed").Items
			if len(failed) != 2 || failed[0].Data["account"] != "unknown" || failed[1].Data["email"] != "anna@example.com" {
				t.Fatalf("login_failed %+v", failed)
			}
			for _, f := range failed {
				for _, v := range f.Data {
					if strings.Contains(v, "password") || strings.Contains(v, "nobody") {
						t.Fatalf("a failed login recorded what was typed: %+v", f)
					}
				}
			}
			if a := e.audit("token.created").Items; len(a) != 1 || a[0].Data["name"] == "" || a[0].ActorID == 0 {
				t.Fatalf("token.created %+v", a)
			}
			if a := e.audit("token.deleted").Items; len(a) != 1 || a[0].TargetID != fmt.Sprint(ts.Items[0].ID) {
				t.Fatalf("token.deleted %+v", a)
			}
			if a := e.audit("queue.override").Items; len(a) != 1 || a[0].TargetID != "support" || a[0].Data["after.override"] != "closed" || a[0].Data["before.override"] != "auto" {
				t.Fatalf("queue.override %+v", a)
			}
			// Filters and pages.
			var me struct{ ID int64 }
			e.call("GET", "/api/v1/me", e.anna, nil, &me)
			var byAnna auditOut
			e.call("GET", fmt.Sprintf("/api/v1/audit?actor=%d", me.ID), e.owner, nil, &byAnna)
			if len(byAnna.Items) != 3 { // login, token created, token deleted
				t.Fatalf("anna's entries %+v", byAnna.Items)
			}
			var p1, p2 auditOut
			e.call("GET", "/api/v1/audit?limit=2", e.owner, nil, &p1)
			if len(p1.Items) != 2 || p1.NextBefore == nil || *p1.NextBefore != p1.Items[1].ID {
				t.Fatalf("first page %+v", p1)
			}
			e.call("GET", fmt.Sprintf("/api/v1/audit?limit=2&before=%d", *p1.NextBefore), e.owner, nil, &p2)
			if len(p2.Items) != 2 || p2.Items[0].ID >= p1.Items[1].ID {
				t.Fatalf("second page %+v", p2)
			}
			for _, c := range []struct{ q, field string }{
				{"action=user.deleted", "action"}, {"limit=201", "limit"}, {"actor=x", "actor"}, {"before=-1", "before"}, {"format=xml", "format"},
			} {
				var out struct{ Error struct{ Code, Field string } }
				if st := e.call("GET", "/api/v1/audit?"+c.q, e.owner, nil, &out); st != 400 || out.Error.Field != c.field {
					t.Errorf("%s: %d %+v", c.q, st, out)
				}
			}
			if st := e.call("GET", "/api/v1/audit", e.anna, nil, nil); st != 403 {
				t.Fatalf("an agent reads the audit log: %d", st)
			}
			// CSV: a typed formula is defused.
			req, _ := http.NewRequest("GET", e.base+"/api/v1/audit?format=csv&action=token.created", nil)
			req.Header.Set("Authorization", "Bearer "+e.owner)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(resp.Body).ReadAll()
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || len(rows) != 2 {
				t.Fatalf("csv: %d %v %v", resp.StatusCode, rows, err)
			}
			for _, cell := range rows[1] {
				if strings.HasPrefix(cell, "=") || strings.HasPrefix(cell, "+") || strings.HasPrefix(cell, "@") {
					t.Fatalf("a formula in the CSV: %q", cell)
				}
			}
			// Nothing edits or deletes an entry.
			before := len(e.audit("login").Items)
			for _, m := range []string{"DELETE", "PUT", "PATCH", "POST"} {
				if st := e.call(m, "/api/v1/audit", e.owner, map[string]string{}, nil); st != 405 && st != 404 {
					t.Errorf("%s /api/v1/audit: %d", m, st)
				}
				if st := e.call(m, fmt.Sprintf("/api/v1/audit/%d", logins[0].ID), e.owner, map[string]string{}, nil); st != 405 && st != 404 {
					t.Errorf("%s an entry: %d", m, st)
				}
			}
			if after := len(e.audit("login").Items); after != before {
				t.Fatalf("entries changed: %d -> %d", before, after)
			}
		})
	}
}

// TestEndToEndInvitationMailed: with public_url and the notifications
// SMTP, the invitation goes by mail with the same absolute link; the
// link's token is not in the log, not even at debug level (the access
// log prints the route instead of the path).
func TestEndToEndInvitationMailed(t *testing.T) {
	sink := startSMTPSink(t)
	logs := &syncBuffer{}
	yaml := fmt.Sprintf(`
listen: 127.0.0.1:0
public_url: https://inbox.example.com/
database: {url: %q}
bootstrap_owner: {email: owner@example.com, password: owner-password}
auth: {invite_ttl: 2h}
notifications:
  smtp: {host: 127.0.0.1, port: %d, tls: none, from: "inboxd <noreply@example.com>"}
queues:
  - {id: support, name: Support}
channels:
  - {id: site, kind: widget, name: Website, queue: support}
`, storetest.URL(t, store.SQLite), sink.addr.Port)
	e := startYAML(t, yaml, daemon.Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	var inv struct {
		accountOut
		ExpiresAt time.Time `json:"expires_at"`
	}
	if st := e.call("POST", "/api/v1/users", e.owner, map[string]any{"email": "ivy@example.com", "name": "Ivy", "role": "admin"}, &inv); st != 201 {
		t.Fatalf("invite: %d", st)
	}
	if !inv.Mailed || !strings.HasPrefix(inv.InviteURL, "https://inbox.example.com/invite/ibx_") {
		t.Fatalf("invite %+v", inv)
	}
	if d := time.Until(inv.ExpiresAt); d < 119*time.Minute || d > 121*time.Minute {
		t.Fatalf("expires in %s, want auth.invite_ttl (2h)", d)
	}
	mails, rcpts := sink.received()
	if len(mails) != 1 || rcpts[0][0] != "ivy@example.com" {
		t.Fatalf("mails %d %v", len(mails), rcpts)
	}
	_, qp, _ := strings.Cut(string(mails[0]), "\r\n\r\n")
	text, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(qp)))
	if err != nil || !strings.Contains(string(text), inv.InviteURL) {
		t.Fatalf("the mail does not carry the link: %v\n%s", err, mails[0])
	}
	token := linkToken(t, inv.InviteURL)
	e.get("/invite/" + token)
	if st := e.call("POST", "/api/v1/invitations/"+token+"/accept", "", map[string]string{"password": "ivys-password-1"}, nil); st != 200 {
		t.Fatalf("accept: %d", st)
	}
	if !strings.Contains(logs.String(), "/invite/:token") {
		t.Fatal("the access log does not show the page's route (is it at debug?)")
	}
	if strings.Contains(logs.String(), token) {
		t.Fatal("the link's token is in the log")
	}
}
