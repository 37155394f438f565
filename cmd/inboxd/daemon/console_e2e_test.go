package daemon_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/inboxd/inboxd/inbox/store"
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

// rawPut sends a body as given (no JSON encoding) and returns the status,
// the headers and the error's field.
func (e *env) rawPut(path, token, body string) (int, http.Header, string) {
	e.t.Helper()
	req, _ := http.NewRequest("PUT", e.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb struct{ Error struct{ Field string } }
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &eb)
	return resp.StatusCode, resp.Header, eb.Error.Field
}

func TestConsoleProfileName(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		var u struct {
			ID          int64
			Email, Name string
			Role        string
			Queues      []string
		}
		if st := e.call("PUT", "/api/v1/me", e.anna, map[string]string{"name": "  Anna Berg  "}, &u); st != 200 ||
			u.Name != "Anna Berg" || u.Email != "anna@example.com" || u.Role != "agent" || len(u.Queues) != 1 || u.Queues[0] != "support" {
			t.Fatalf("set name: %d %+v", st, u)
		}
		// GET /me agrees, Bob is unchanged, and the page header shows the new name.
		var got struct{ Name string }
		if st := e.call("GET", "/api/v1/me", e.anna, nil, &got); st != 200 || got.Name != "Anna Berg" {
			t.Fatalf("me: %d %+v", st, got)
		}
		if e.call("GET", "/api/v1/me", e.bob, nil, &got); got.Name != "Bob" {
			t.Fatalf("bob: %+v", got)
		}
		st, _, body := e.page("/settings", e.anna)
		if st != 200 || !strings.Contains(body, `<span class="who" title="anna@example.com">Anna Berg</span>`) ||
			!strings.Contains(body, `name="name" value="Anna Berg"`) {
			t.Fatalf("settings page does not show the new name: %d", st)
		}
		// Names up to 100 characters, counted in characters, not bytes.
		long := strings.Repeat("ä", 100)
		if st := e.call("PUT", "/api/v1/me", e.anna, map[string]string{"name": long}, &u); st != 200 || u.Name != long {
			t.Fatalf("100 characters: %d", st)
		}
		// Invalid names: 400 naming the field, and nothing stored.
		for _, bad := range []string{
			`{"name":""}`, `{"name":"   "}`, `{}`,
			`{"name":"` + strings.Repeat("a", 101) + `"}`,
			`{"name":"a\nb"}`, `{"name":"a\u0000b"}`, `{"name":"a\u0085b"}`, `{"name":"evil\u202egnp.exe"}`,
			`{"name":"\udc00"}`, // a lone surrogate: decoded as U+FFFD
		} {
			if st, _, field := e.rawPut("/api/v1/me", e.anna, bad); st != 400 || field != "name" {
				t.Errorf("%s: %d field %q", bad, st, field)
			}
		}
		if st, _, field := e.rawPut("/api/v1/me", e.anna, "{\"name\":\"a\xffb\"}"); st != 400 || field != "body" {
			t.Errorf("invalid UTF-8: %d field %q", st, field)
		}
		if st, _, _ := e.rawPut("/api/v1/me", e.anna, `{"name":"x","role":"owner"}`); st != 400 {
			t.Errorf("unknown field: %d", st)
		}
		if e.call("GET", "/api/v1/me", e.anna, nil, &got); got.Name != long {
			t.Fatalf("a refused name was stored: %q", got.Name)
		}
		if st := e.call("PUT", "/api/v1/me", "", map[string]string{"name": "Nobody"}, nil); st != 401 {
			t.Fatalf("anonymous: %d", st)
		}
	})
}

func TestConsolePasswordThrottle(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		e.clock.freeze() // the first lockout is 1 s: it must not expire mid-test
		wrong := `{"current_password":"wrong","new_password":"a-new-password"}`
		// A success resets the count: 4 failures, a change, 5 more failures
		// are still not locked out.
		for i := 0; i < 4; i++ {
			if st, _, field := e.rawPut("/api/v1/me/password", e.anna, wrong); st != 400 || field != "current_password" {
				t.Fatalf("failure %d: %d %q", i+1, st, field)
			}
		}
		if st, _, _ := e.rawPut("/api/v1/me/password", e.anna, `{"current_password":"password-Anna","new_password":"a-new-password"}`); st != 204 {
			t.Fatalf("change: %d", st)
		}
		for i := 0; i < 5; i++ {
			if st, _, field := e.rawPut("/api/v1/me/password", e.anna, wrong); st != 400 || field != "current_password" {
				t.Fatalf("failure %d after a success: %d %q", i+1, st, field)
			}
		}
		// The sixth wrong attempt locks the user out; then even the right
		// password waits.
		st, h, _ := e.rawPut("/api/v1/me/password", e.anna, wrong)
		if st != 429 || h.Get("Retry-After") == "" {
			t.Fatalf("sixth failure: %d, Retry-After %q", st, h.Get("Retry-After"))
		}
		right := `{"current_password":"a-new-password","new_password":"yet-another-password"}`
		if st, h, _ := e.rawPut("/api/v1/me/password", e.anna, right); st != 429 || h.Get("Retry-After") == "" {
			t.Fatalf("locked out, right password: %d, Retry-After %q", st, h.Get("Retry-After"))
		}
		// The lockout is Anna's: Bob may change his, and Anna's password
		// did not change during the lockout.
		if st, _, _ := e.rawPut("/api/v1/me/password", e.bob, `{"current_password":"password-Bob","new_password":"bobs-new-password"}`); st != 204 {
			t.Fatalf("bob: %d", st)
		}
		e.login("anna@example.com", "a-new-password")
	})
}

// TestConsoleSettingsNameBrowser edits the name on the settings page: the
// form sends the CSRF header (the session is a cookie), the header shows
// the new name at once, and markup in the name stays text.
func TestConsoleSettingsNameBrowser(t *testing.T) {
	b := startConsoleBrowser(t)
	e := start(t, store.SQLite)
	tab := b.tab("anna")
	b.login(tab, e.base, "anna@example.com", "password-Anna", "/inbox")
	b.do(tab, chromedp.Navigate(e.base+"/settings"))
	b.wait(tab, "the name field", `document.querySelector('#profile input[name=name]').value === 'Anna'`)
	hostile := `Anna <img src=x onerror="window.__xss=1">`
	b.do(tab, chromedp.SetValue(chromedp.CSS(`#profile input[name=name]`), "  "+hostile+" "),
		chromedp.Click(chromedp.CSS(`#profile button[name=save_profile]`)))
	b.wait(tab, "the header's new name", `document.querySelector('header .who').textContent === `+strconv.Quote(hostile))
	if got := consoleEval[string](b, tab, `document.querySelector('#profile .result').textContent`); got != "Saved." {
		t.Fatalf("result %q", got)
	}
	if consoleEval[bool](b, tab, `!!document.querySelector('header .who img') || window.__xss === 1`) {
		t.Fatal("the name's HTML was rendered")
	}
	var me struct{ Name string }
	if e.call("GET", "/api/v1/me", e.anna, nil, &me); me.Name != hostile {
		t.Fatalf("stored %q", me.Name)
	}
	// An empty name is refused, shown in the form, and nothing changes.
	b.do(tab, chromedp.SetValue(chromedp.CSS(`#profile input[name=name]`), "   "),
		chromedp.Click(chromedp.CSS(`#profile button[name=save_profile]`)))
	b.wait(tab, "the refusal", `document.querySelector('#profile .result.bad') !== null`)
	b.screenshot(tab, "console-settings-name")
	if e.call("GET", "/api/v1/me", e.anna, nil, &me); me.Name != hostile {
		t.Fatalf("after the refusal: %q", me.Name)
	}
	if len(b.errs) > 0 {
		t.Fatalf("browser errors: %v", b.errs)
	}
}
