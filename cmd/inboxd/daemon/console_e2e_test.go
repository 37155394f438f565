package daemon_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// page fetches a console page with a bearer token ("" = anonymous).
func (e *env) page(path, token string) (int, http.Header, string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestConsolePagesAccess(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		// Anonymous visitors go to the login page, keeping where they were headed.
		for _, p := range []string{"/journal", "/inbox", "/conversations/1", "/settings", "/stats"} {
			st, h, _ := e.page(p, "")
			if st != http.StatusSeeOther || h.Get("Location") != "/login?next="+strings.ReplaceAll(p, "/", "%2F") {
				t.Errorf("anonymous %s: %d %q", p, st, h.Get("Location"))
			}
		}
		if st, h, _ := e.page("/", ""); st != http.StatusSeeOther || h.Get("Location") != "/login" {
			t.Errorf("anonymous /: %d %q", st, h.Get("Location"))
		}
		st, h, body := e.page("/login", "")
		if st != 200 || !strings.Contains(body, `name="email"`) || !strings.Contains(body, `name="password"`) {
			t.Fatalf("login page: %d", st)
		}
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Fatalf("login CSP: %q", csp)
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, " on") && strings.Contains(body, "onclick=") {
			t.Fatal("inline script on the login page")
		}
		// Home sends each role to its page.
		if _, h, _ := e.page("/", e.owner); h.Get("Location") != "/journal" {
			t.Errorf("owner home: %q", h.Get("Location"))
		}
		if _, h, _ := e.page("/", e.anna); h.Get("Location") != "/inbox" {
			t.Errorf("agent home: %q", h.Get("Location"))
		}
		// The journal page is for owners and admins.
		if st, _, body := e.page("/journal", e.owner); st != 200 || !strings.Contains(body, `id="rows"`) || !strings.Contains(body, `name="presence"`) {
			t.Fatalf("owner journal: %d", st)
		}
		if st, _, body := e.page("/journal", e.anna); st != http.StatusForbidden || strings.Contains(body, `id="rows"`) {
			t.Fatalf("agent journal: %d", st)
		}
		if st, _, _ := e.page("/stats", e.anna); st != http.StatusForbidden {
			t.Fatalf("agent stats: %d", st)
		}
		for _, p := range []string{"/inbox", "/conversations/1", "/activity", "/settings"} {
			if st, _, _ := e.page(p, e.anna); st != 200 {
				t.Errorf("agent %s: %d", p, st)
			}
		}
		// Names are escaped in the page shell.
		e.addUser("eve@example.com", `<img src=x onerror=alert(1)>`, "agent", []string{"support"})
		tok := e.login("eve@example.com", "password-<img src=x onerror=alert(1)>")
		if _, _, body := e.page("/settings", tok); strings.Contains(body, "<img src=x") || !strings.Contains(body, "&lt;img src=x") {
			t.Fatal("a user's name is not escaped in the page")
		}
		// Assets: JS with the console's CSP; no path tricks; templates are not assets.
		st, h, body = e.page("/console/common.js", "")
		if st != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/javascript") || !strings.Contains(body, "textContent") {
			t.Fatalf("common.js: %d %q", st, h.Get("Content-Type"))
		}
		if st, _, _ := e.page("/console/console.css", ""); st != 200 {
			t.Fatalf("css: %d", st)
		}
		for _, p := range []string{"/console/../console.go", "/console/layout.html", "/console/%2e%2e/layout.html", "/console/nope.js"} {
			if st, _, _ := e.page(p, ""); st != 404 {
				t.Errorf("%s: %d", p, st)
			}
		}
		// Malicious next is not followed by the login page script (checked
		// in the browser test); the redirect itself only carries paths.
		if _, h, _ := e.page("//evil.example/journal", ""); strings.Contains(h.Get("Location"), "evil") && !strings.HasPrefix(h.Get("Location"), "/") {
			t.Fatalf("redirect to another site: %q", h.Get("Location"))
		}
	})
}

func TestConsoleTokensAndPassword(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		var created struct{ Token, Name string }
		if st := e.call("POST", "/api/v1/me/tokens", e.anna, map[string]string{"name": "  crm sync "}, &created); st != 201 ||
			!strings.HasPrefix(created.Token, "ibx_") || created.Name != "crm sync" {
			t.Fatalf("create token: %d %+v", st, created)
		}
		var eb struct{ Error struct{ Code, Field string } }
		if st := e.call("POST", "/api/v1/me/tokens", e.anna, map[string]string{"name": ""}, &eb); st != 400 || eb.Error.Field != "name" {
			t.Fatalf("empty name: %d %+v", st, eb)
		}
		// The new token works, and is listed without its value.
		var me struct{ Email string }
		if st := e.call("GET", "/api/v1/me", created.Token, nil, &me); st != 200 || me.Email != "anna@example.com" {
			t.Fatalf("api token: %d %+v", st, me)
		}
		var list struct {
			Items []struct {
				ID         int64
				Name       string
				LastUsedAt *time.Time `json:"last_used_at"`
				Token      string
			}
		}
		if st := e.call("GET", "/api/v1/me/tokens", e.anna, nil, &list); st != 200 || len(list.Items) != 1 ||
			list.Items[0].Name != "crm sync" || list.Items[0].Token != "" || list.Items[0].LastUsedAt == nil {
			t.Fatalf("tokens: %d %+v", st, list)
		}
		// Bob neither sees nor revokes Anna's token.
		e.call("GET", "/api/v1/me/tokens", e.bob, nil, &list)
		if len(list.Items) != 0 {
			t.Fatalf("bob sees tokens: %+v", list)
		}
		e.call("GET", "/api/v1/me/tokens", e.anna, nil, &list)
		id := list.Items[0].ID
		if st := e.call("DELETE", fmt.Sprintf("/api/v1/me/tokens/%d", id), e.bob, nil, nil); st != 404 {
			t.Fatalf("bob revokes: %d", st)
		}
		if st := e.call("DELETE", fmt.Sprintf("/api/v1/me/tokens/%d", id), e.anna, nil, nil); st != 204 {
			t.Fatalf("revoke: %d", st)
		}
		if st := e.call("GET", "/api/v1/me", created.Token, nil, nil); st != 401 {
			t.Fatalf("revoked token: %d", st)
		}

		// Password: the current one is required; other sessions end.
		other := e.login("anna@example.com", "password-Anna")
		body := map[string]string{"current_password": "wrong", "new_password": "a-new-password"}
		if st := e.call("PUT", "/api/v1/me/password", e.anna, body, &eb); st != 400 || eb.Error.Field != "current_password" {
			t.Fatalf("wrong current: %d %+v", st, eb)
		}
		body = map[string]string{"current_password": "password-Anna", "new_password": "short"}
		if st := e.call("PUT", "/api/v1/me/password", e.anna, body, &eb); st != 400 || eb.Error.Field != "new_password" {
			t.Fatalf("short new: %d %+v", st, eb)
		}
		body["new_password"] = "a-new-password"
		if st := e.call("PUT", "/api/v1/me/password", e.anna, body, nil); st != 204 {
			t.Fatalf("change: %d", st)
		}
		if st := e.call("GET", "/api/v1/me", e.anna, nil, nil); st != 200 {
			t.Fatalf("the session that changed it: %d", st)
		}
		if st := e.call("GET", "/api/v1/me", other, nil, nil); st != 401 {
			t.Fatalf("another session: %d", st)
		}
		if st := e.call("POST", "/api/v1/auth/login", "", map[string]string{"email": "anna@example.com", "password": "password-Anna"}, nil); st != 401 {
			t.Fatalf("old password: %d", st)
		}
		e.login("anna@example.com", "a-new-password")
	})
}

func TestConsoleCountsStatsUsersAndActivity(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		a := e.send("crm", "m1", "c1", "first")
		e.send("crm", "m2", "c2", "second")
		e.send("shop", "s1", "x1", "sales")
		path := fmt.Sprintf("/api/v1/conversations/%d", a.ConversationID)
		e.call("POST", path+"/messages", e.anna, map[string]string{"text": "hi"}, nil)
		e.call("POST", path+"/join", e.bob, nil, nil)

		var counts map[string]int
		if st := e.call("GET", "/api/v1/journal/counts", e.owner, nil, &counts); st != 200 ||
			counts["unassigned"] != 2 || counts["active"] != 1 || counts["inactive"] != 0 {
			t.Fatalf("counts: %d %v", st, counts)
		}
		e.call("GET", "/api/v1/journal/counts?channel=shop", e.owner, nil, &counts)
		if counts["unassigned"] != 1 || counts["active"] != 0 {
			t.Fatalf("shop counts: %v", counts)
		}
		if st := e.call("GET", "/api/v1/journal/counts", e.anna, nil, nil); st != 403 {
			t.Fatalf("agent counts: %d", st)
		}

		var users struct{ Items []struct{ Name, Role string } }
		if st := e.call("GET", "/api/v1/users", e.owner, nil, &users); st != 200 || len(users.Items) != 4 || users.Items[0].Name != "Anna" {
			t.Fatalf("users: %d %+v", st, users)
		}
		if st := e.call("GET", "/api/v1/users", e.anna, nil, nil); st != 403 {
			t.Fatalf("agent users: %d", st)
		}

		var stats struct {
			Queue    string
			Days     []string
			Total    int
			Answered int
			Channels []struct {
				ID     string
				Name   string
				Total  int
				PerDay []int `json:"per_day"`
				Status map[string]int
			}
			FirstResponse struct {
				Median float64 `json:"median_seconds"`
			} `json:"first_response"`
		}
		if st := e.call("GET", "/api/v1/stats?queue=support&days=7", e.owner, nil, &stats); st != 200 {
			t.Fatalf("stats: %d", st)
		}
		if stats.Queue != "support" || len(stats.Days) != 7 || stats.Total != 2 || stats.Answered != 1 || len(stats.Channels) != 2 {
			t.Fatalf("stats: %+v", stats)
		}
		crm := stats.Channels[0]
		if crm.ID != "crm" || crm.Total != 2 || crm.PerDay[6] != 2 || crm.Status["active"] != 1 || crm.Status["unassigned"] != 1 {
			t.Fatalf("crm stats: %+v", crm)
		}
		if stats.Channels[1].ID != "site" || stats.Channels[1].Total != 0 {
			t.Fatalf("site stats: %+v", stats.Channels[1])
		}
		if stats.FirstResponse.Median < 0 || stats.FirstResponse.Median > 60 {
			t.Fatalf("first response: %+v", stats.FirstResponse)
		}
		var eb struct{ Error struct{ Field string } }
		if st := e.call("GET", "/api/v1/stats?queue=nope", e.owner, nil, &eb); st != 400 || eb.Error.Field != "queue" {
			t.Fatalf("unknown queue: %d %+v", st, eb)
		}
		if st := e.call("GET", "/api/v1/stats?days=1000", e.owner, nil, &eb); st != 400 || eb.Error.Field != "days" {
			t.Fatalf("too many days: %d %+v", st, eb)
		}
		// The statistics page draws the chart on the server.
		st, h, body := e.page("/stats?queue=support&days=7", e.owner)
		if st != 200 || !strings.Contains(body, "<svg") || !strings.Contains(body, "<rect") || !strings.Contains(body, "contacts?format=csv") {
			t.Fatalf("stats page: %d", st)
		}
		if strings.Contains(h.Get("Content-Security-Policy"), "unsafe") {
			t.Fatalf("stats CSP: %q", h.Get("Content-Security-Policy"))
		}

		var acts struct {
			Items []struct {
				Kind      string
				ActorName string `json:"actor_name"`
			}
		}
		if st := e.call("GET", path+"/activity", e.bob, nil, &acts); st != 200 || len(acts.Items) != 3 ||
			acts.Items[1].Kind != "assigned" || acts.Items[2].Kind != "joined" || acts.Items[2].ActorName != "Bob" {
			t.Fatalf("activity: %d %+v", st, acts)
		}
		if st := e.call("GET", path+"/activity", e.sales, nil, nil); st != 404 {
			t.Fatalf("another queue's activity: %d", st)
		}
	})
}

// TestConsoleAgentFeed: an agent's own feed carries what it may see (its
// queue's new chats, its conversations), not other queues'.
func TestConsoleAgentFeed(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", e.base+"/api/v1/me/events", nil)
		req.Header.Set("Authorization", "Bearer "+e.anna)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("feed: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		events := make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					events <- v
				}
			}
			close(events)
		}()
		e.send("shop", "s1", "x1", "for the sales queue")
		e.send("crm", "m1", "c1", "for support")
		var got []string
		for len(got) < 2 {
			select {
			case ev := <-events:
				got = append(got, ev)
			case <-ctx.Done():
				t.Fatalf("events: %v", got)
			}
		}
		for _, ev := range got {
			if strings.Contains(ev, "sales queue") || strings.Contains(ev, "Customer x1") || !strings.Contains(ev, `"conversation_id"`) {
				t.Fatalf("anna's feed: %s", ev)
			}
		}
		if !strings.Contains(got[0], "conversation.created") || !strings.Contains(got[1], "for support") {
			t.Fatalf("anna's feed: %v", got)
		}
	})
}
