package daemon_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/inboxd/inboxd/cmd/inboxd/daemon"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
)

// startAuth starts a daemon like start, with more top-level config
// (trusted_proxies), the bootstrap owner's password hashed at cost, and
// its log kept.
func startAuth(t *testing.T, d store.Dialect, more string, cost int) (*env, *syncBuffer) {
	t.Helper()
	yaml := fmt.Sprintf(`
listen: 127.0.0.1:0
database: {url: %q}
bootstrap_owner: {email: owner@example.com, password: owner-password}
queues:
  - {id: support, name: Support}
channels:
  - {id: site, kind: widget, name: Website, queue: support}
%s`, storetest.URL(t, d), more)
	logs := &syncBuffer{}
	e := startYAML(t, yaml, daemon.Options{Logger: slog.New(slog.NewTextHandler(logs, nil)), BcryptCost: cost})
	return e, logs
}

// loginFrom logs in with X-Forwarded-For set to xff ("" for none).
func (e *env) loginFrom(xff, email, password string) (int, http.Header) {
	e.t.Helper()
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req, _ := http.NewRequest("POST", e.base+"/api/v1/auth/login", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// setClock moves the frozen test clock.
func (e *env) setClock(t time.Time) {
	e.clock.mu.Lock()
	e.clock.frozen = t
	e.clock.mu.Unlock()
}

// TestEndToEndForwardedForNotTrustedByDefault: without trusted_proxies, a
// client that rotates X-Forwarded-For is still one address: its logins
// are throttled, its contact forms are limited, and the log shows the
// connection's address.
func TestEndToEndForwardedForNotTrustedByDefault(t *testing.T) {
	e, logs := startAuth(t, store.SQLite, "", bcrypt.MinCost)
	e.clock.freeze()
	locked := 0
	for i := 0; i < 8; i++ {
		// A different unknown account each time: only the IP's count can
		// lock these out.
		st, h := e.loginFrom(fmt.Sprintf("203.0.113.%d", i+1), fmt.Sprintf("user%d@example.com", i), "wrong-password")
		if st == http.StatusTooManyRequests && h.Get("Retry-After") != "" {
			locked++
		} else if st != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, st)
		}
	}
	if locked == 0 {
		t.Fatal("8 failed logins with rotating X-Forwarded-For were never throttled")
	}
	if strings.Contains(logs.String(), "203.0.113.") {
		t.Fatalf("the log shows a forged address:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `msg="login failed" ip=127.0.0.1`) {
		t.Fatalf("the log lacks the connection's address:\n%s", logs.String())
	}
	// The contact form's limit (10 forms per address, then one a minute)
	// holds too: 15 forms with rotating headers cannot all go through.
	limited := false
	for i := 0; i < 15 && !limited; i++ {
		req, _ := http.NewRequest("POST", e.base+"/widget/v1/site/contact", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		limited = resp.StatusCode == http.StatusTooManyRequests
	}
	if !limited {
		t.Fatal("15 contact forms with rotating X-Forwarded-For were never limited")
	}
}

// TestEndToEndTrustedProxy: with trusted_proxies naming the proxy
// (127.0.0.1 here), the address it forwards is the client's: in the log
// and in the throttle, where another client behind the same proxy is not
// held up by the first one's failures.
func TestEndToEndTrustedProxy(t *testing.T) {
	e, logs := startAuth(t, store.SQLite, "trusted_proxies: [127.0.0.1/32]\n", bcrypt.MinCost)
	e.clock.freeze()
	for i := 0; i < 8; i++ {
		e.loginFrom("203.0.113.7", fmt.Sprintf("user%d@example.com", i), "wrong-password")
	}
	if st, _ := e.loginFrom("203.0.113.7", "owner@example.com", "owner-password"); st != http.StatusTooManyRequests {
		t.Fatalf("the guessing client: %d, want 429", st)
	}
	if st, _ := e.loginFrom("198.51.100.2", "owner@example.com", "owner-password"); st != http.StatusOK {
		t.Fatalf("another client behind the proxy: %d, want 200", st)
	}
	// A forged entry before the proxy's own does not count.
	if st, _ := e.loginFrom("192.0.2.1, 203.0.113.7", "owner@example.com", "owner-password"); st != http.StatusTooManyRequests {
		t.Fatalf("the guessing client with a forged first entry: %d, want 429", st)
	}
	l := logs.String()
	if !strings.Contains(l, `msg="login failed" ip=203.0.113.7`) || !strings.Contains(l, `ip=198.51.100.2`) {
		t.Fatalf("the log lacks the forwarded addresses:\n%s", l)
	}
}

// TestEndToEndLoginSuccessKeepsIPFailures: a client that guesses other
// accounts cannot clear its address's failures by logging into an
// account of its own.
func TestEndToEndLoginSuccessKeepsIPFailures(t *testing.T) {
	e, _ := startAuth(t, store.SQLite, "", bcrypt.MinCost)
	e.clock.freeze()
	for i := 0; i < 5; i++ {
		if st, _ := e.loginFrom("", fmt.Sprintf("victim%d@example.com", i), "guess"); st != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i+1, st)
		}
	}
	if st, _ := e.loginFrom("", "owner@example.com", "owner-password"); st != http.StatusOK {
		t.Fatalf("own account: %d", st)
	}
	e.loginFrom("", "victim5@example.com", "guess") // the IP's sixth failure starts its lockout
	if st, h := e.loginFrom("", "victim6@example.com", "guess"); st != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
		t.Fatalf("after washing with a success: %d, want 429 (the IP's count is kept)", st)
	}
}

// TestEndToEndRotatingIPsCannotLockOutOwner: 50 failures for the owner
// from 50 addresses lock the account for addresses it never logged in
// from, but the owner, from the address it logged in from before, gets in.
func TestEndToEndRotatingIPsCannotLockOutOwner(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		e, _ := startAuth(t, d, "trusted_proxies: [127.0.0.1/32]\n", bcrypt.MinCost)
		e.clock.freeze()
		// The owner logged in from 192.0.2.10 (start logged in from the
		// proxy itself, which is not that).
		if st, _ := e.loginFrom("192.0.2.10", "owner@example.com", "owner-password"); st != http.StatusOK {
			t.Fatalf("owner's first login: %d", st)
		}
		for i := 0; i < 50; i++ {
			st, _ := e.loginFrom(fmt.Sprintf("198.51.%d.%d", 100+i/250, i%250+1), "owner@example.com", "guess-"+fmt.Sprint(i))
			if st != http.StatusUnauthorized && st != http.StatusTooManyRequests {
				t.Fatalf("guess %d: %d", i+1, st)
			}
		}
		// A new address with the right password waits: the account is locked
		// for addresses it does not know (what keeps guessing slow).
		if st, h := e.loginFrom("203.0.113.99", "owner@example.com", "owner-password"); st != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
			t.Fatalf("unknown address during the attack: %d, want 429", st)
		}
		if st, _ := e.loginFrom("192.0.2.10", "owner@example.com", "owner-password"); st != http.StatusOK {
			t.Fatalf("owner from its own address after 50 rotating failures: %d, want 200", st)
		}
	})
}

func forEachDialect(t *testing.T, fn func(t *testing.T, d store.Dialect)) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) { fn(t, d) })
	}
}

// TestEndToEndLoginTimingUnknownAccount: at the default bcrypt cost, a
// login for an unknown account takes about as long as a wrong password
// for a real one (it was 2-3 ms against 76-153 ms).
func TestEndToEndLoginTimingUnknownAccount(t *testing.T) {
	e, _ := startAuth(t, store.SQLite, "", bcrypt.DefaultCost)
	e.clock.freeze()
	// The fastest of 2 tries each (4 failures in all: under the IP's 5
	// free ones), interleaved so that a busy moment of the machine does
	// not fall on one side only.
	fastest := map[string]time.Duration{}
	for i := 0; i < 2; i++ {
		for _, email := range []string{"owner@example.com", "nobody@example.com"} {
			t0 := time.Now()
			if st, _ := e.loginFrom("", email, "wrong-password"); st != http.StatusUnauthorized {
				t.Fatalf("%s: %d", email, st)
			}
			if d := time.Since(t0); fastest[email] == 0 || d < fastest[email] {
				fastest[email] = d
			}
		}
	}
	known, unknown := fastest["owner@example.com"], fastest["nobody@example.com"]
	t.Logf("wrong password for a real account: %s; unknown account: %s (fastest of 2 each, bcrypt cost %d)", known, unknown, bcrypt.DefaultCost)
	if unknown < known/3 {
		t.Fatalf("an unknown account answers in %s, a real one in %s: the timing tells them apart", unknown, known)
	}
}

// TestEndToEndPasswordChangeRevokesTokens: a password change ends the
// user's API tokens too, unless revoke_tokens is false; the session that
// made the change stays.
func TestEndToEndPasswordChangeRevokesTokens(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		e, logs := startAuth(t, d, "", bcrypt.MinCost)
		token := func() string {
			var c struct{ Token string }
			if st := e.call("POST", "/api/v1/me/tokens", e.owner, map[string]string{"name": "script"}, &c); st != 201 {
				t.Fatalf("create token: %d", st)
			}
			return c.Token
		}
		other := e.login("owner@example.com", "owner-password")

		// The default revokes the API tokens and ends the other sessions.
		revoked := token()
		body := map[string]any{"current_password": "owner-password", "new_password": "second-password"}
		if st := e.call("PUT", "/api/v1/me/password", e.owner, body, nil); st != 204 {
			t.Fatalf("change: %d", st)
		}
		if st := e.call("GET", "/api/v1/me", revoked, nil, nil); st != 401 {
			t.Fatalf("an API token after the change: %d, want 401", st)
		}
		if st := e.call("GET", "/api/v1/me", other, nil, nil); st != 401 {
			t.Fatalf("other session: %d", st)
		}
		if st := e.call("GET", "/api/v1/me", e.owner, nil, nil); st != 200 {
			t.Fatalf("the session that changed it: %d", st)
		}
		var list struct{ Items []any }
		if e.call("GET", "/api/v1/me/tokens", e.owner, nil, &list); len(list.Items) != 0 {
			t.Fatalf("tokens listed after the change: %v", list.Items)
		}

		// revoke_tokens false: the API token stays, other sessions still end.
		kept := token()
		other = e.login("owner@example.com", "second-password")
		body = map[string]any{"current_password": "second-password", "new_password": "third-password", "revoke_tokens": false}
		if st := e.call("PUT", "/api/v1/me/password", e.owner, body, nil); st != 204 {
			t.Fatalf("change keeping tokens: %d", st)
		}
		if st := e.call("GET", "/api/v1/me", kept, nil, nil); st != 200 {
			t.Fatalf("kept API token: %d", st)
		}
		if st := e.call("GET", "/api/v1/me", other, nil, nil); st != 401 {
			t.Fatalf("other session, tokens kept: %d", st)
		}
		// Made with an API token, the change keeps that token.
		byToken := token()
		body = map[string]any{"current_password": "third-password", "new_password": "fourth-password", "revoke_tokens": true}
		if st := e.call("PUT", "/api/v1/me/password", byToken, body, nil); st != 204 {
			t.Fatalf("change with a token: %d", st)
		}
		if st := e.call("GET", "/api/v1/me", byToken, nil, nil); st != 200 {
			t.Fatalf("the token that changed it: %d", st)
		}
		if st := e.call("GET", "/api/v1/me", e.owner, nil, nil); st != 401 {
			t.Fatalf("the session, after a change made with a token: %d", st)
		}
		for _, tok := range []string{kept, revoked, byToken} {
			if strings.Contains(logs.String(), tok) {
				t.Fatal("a token in the log")
			}
		}
	})
}

// TestEndToEndTokenExpiry: an API token may carry expires_at (in the
// future, at most a year ahead); it is listed, and answers 401 once
// expired.
func TestEndToEndTokenExpiry(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		e, _ := startAuth(t, d, "", bcrypt.MinCost)
		now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
		e.setClock(now)
		type errBody struct{ Error struct{ Code, Field string } }
		for _, bad := range []any{"2026-12-02 12:00", "tomorrow", "2026-12-02T09:00:00Z", now.Format(time.RFC3339),
			now.Add(367 * 24 * time.Hour).Format(time.RFC3339), 12345} {
			var eb errBody
			if st := e.call("POST", "/api/v1/me/tokens", e.owner, map[string]any{"name": "x", "expires_at": bad}, &eb); st != 400 ||
				eb.Error.Field != "expires_at" || eb.Error.Code != "invalid" {
				t.Fatalf("expires_at %v: %d %+v", bad, st, eb)
			}
		}
		exp := now.Add(2 * time.Hour)
		var created struct {
			Token     string
			ExpiresAt *time.Time `json:"expires_at"`
		}
		if st := e.call("POST", "/api/v1/me/tokens", e.owner,
			map[string]any{"name": "short-lived", "expires_at": exp.In(time.FixedZone("EET", 2*3600)).Format(time.RFC3339)}, &created); st != 201 ||
			created.ExpiresAt == nil || !created.ExpiresAt.Equal(exp) {
			t.Fatalf("create: %d %+v", st, created)
		}
		var forever struct {
			Token     string
			ExpiresAt *time.Time `json:"expires_at"`
		}
		if st := e.call("POST", "/api/v1/me/tokens", e.owner, map[string]any{"name": "forever", "expires_at": nil}, &forever); st != 201 ||
			forever.ExpiresAt != nil {
			t.Fatalf("create without expiry: %d %+v", st, forever)
		}
		var list struct {
			Items []struct {
				Name      string
				ExpiresAt *time.Time `json:"expires_at"`
			}
		}
		e.call("GET", "/api/v1/me/tokens", e.owner, nil, &list)
		if len(list.Items) != 2 || list.Items[1].Name != "short-lived" || list.Items[1].ExpiresAt == nil ||
			!list.Items[1].ExpiresAt.Equal(exp) || list.Items[0].ExpiresAt != nil {
			t.Fatalf("list: %+v", list)
		}
		if st := e.call("GET", "/api/v1/me", created.Token, nil, nil); st != 200 {
			t.Fatalf("before expiry: %d", st)
		}
		e.setClock(exp.Add(time.Second))
		if st := e.call("GET", "/api/v1/me", created.Token, nil, nil); st != 401 {
			t.Fatalf("after expiry: %d, want 401", st)
		}
		if st := e.call("GET", "/api/v1/me", forever.Token, nil, nil); st != 200 {
			t.Fatalf("the token without expiry: %d", st)
		}
		// A year ahead is allowed.
		if st := e.call("POST", "/api/v1/me/tokens", e.owner,
			map[string]any{"name": "a year", "expires_at": exp.Add(365 * 24 * time.Hour).Format(time.RFC3339)}, nil); st != 201 {
			t.Fatalf("a year ahead: %d", st)
		}
	})
}

// TestEndToEndHookLogsClientAddress: a refused webhook is logged with the
// client's address as trusted_proxies decide it, not the proxy's socket.
func TestEndToEndHookLogsClientAddress(t *testing.T) {
	e, logs := startAuth(t, store.SQLite, `  - {id: crm, kind: webhook, name: CRM, queue: support, secret: "0123456789abcdef0123"}
trusted_proxies: [127.0.0.1/32]
`, bcrypt.MinCost)
	req, _ := http.NewRequest("POST", e.base+"/hooks/webhook/crm", strings.NewReader(`{"message_id":"m1"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Inboxd-Signature", "sha256=00")
	req.Header.Set("X-Forwarded-For", "198.51.100.7")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad signature: %d", resp.StatusCode)
	}
	if !strings.Contains(logs.String(), "ip=198.51.100.7") {
		t.Fatalf("the refusal is not logged with the client's address:\n%s", logs.String())
	}
}
