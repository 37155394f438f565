package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/store"
	"github.com/inboxd/inboxd/inbox/store/storetest"
	"github.com/inboxd/inboxd/journal"
)

// authServer is an API server on a fresh SQLite store with one user whose
// password is hashed at cost; checks counts the password comparisons and
// remembers the hashes compared against.
type authServer struct {
	url    string
	mu     sync.Mutex
	hashes []string
}

func (a *authServer) checks() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.hashes...)
}

func startAuthServer(t *testing.T, cost int) *authServer {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite)
	hash, err := HashPassword("right-password", cost)
	if err != nil {
		t.Fatal(err)
	}
	u := &inbox.User{Email: "anna@example.com", Name: "Anna", Role: inbox.RoleAgent, CreatedAt: time.Now()}
	if err := st.CreateUser(ctx, u, hash); err != nil {
		t.Fatal(err)
	}
	a := &authServer{}
	srv := httptest.NewServer(New(Options{Users: st, Journal: journal.New(st, nil), Reader: st, Hub: journal.NewHub(),
		Console: ConsoleOptions{BcryptCost: cost},
		PasswordCheck: func(h, pw string) bool {
			a.mu.Lock()
			a.hashes = append(a.hashes, h)
			a.mu.Unlock()
			return CheckPassword(h, pw)
		}}))
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a
}

func postLogin(t *testing.T, base, email, password string) int {
	t.Helper()
	resp, err := http.Post(base+"/api/v1/auth/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestLoginHashesForUnknownAccounts: a login for an account that does not
// exist runs the same bcrypt comparison, at the configured cost, as one
// for an account that does (so its timing does not tell them apart).
func TestLoginHashesForUnknownAccounts(t *testing.T) {
	const cost = bcrypt.MinCost + 1 // neither the minimum nor the default: the configured one must be used
	a := startAuthServer(t, cost)
	if st := postLogin(t, a.url, "nobody@example.com", "some-password"); st != http.StatusUnauthorized {
		t.Fatalf("unknown account: %d", st)
	}
	hs := a.checks()
	if len(hs) != 1 {
		t.Fatalf("unknown account: %d password checks, want 1", len(hs))
	}
	if c, err := bcrypt.Cost([]byte(hs[0])); err != nil || c != cost {
		t.Fatalf("unknown account: compared with a hash of cost %d (%v), want %d", c, err, cost)
	}
	if st := postLogin(t, a.url, "anna@example.com", "wrong-password"); st != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", st)
	}
	if st := postLogin(t, a.url, "anna@example.com", "right-password"); st != http.StatusOK {
		t.Fatalf("right password: %d", st)
	}
	if hs = a.checks(); len(hs) != 3 {
		t.Fatalf("%d password checks after three logins, want 3", len(hs))
	}
	for i, h := range hs {
		if c, _ := bcrypt.Cost([]byte(h)); c != cost {
			t.Errorf("check %d at cost %d, want %d", i+1, c, cost)
		}
	}
}

// TestLoginGuard: the hard lockouts are per IP and per account and IP; the
// account's own lockout is skipped for an IP the account logged in from.
func TestLoginGuard(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	t.Run("rotating IPs lock the account, not its known IPs", func(t *testing.T) {
		g := newLoginGuard()
		g.succeed("owner", "192.0.2.1", now)
		for i := 0; i < 50; i++ {
			g.fail("owner", fmt.Sprintf("198.51.100.%d", i), now)
		}
		if d := g.wait("owner", "192.0.2.1", now); d != 0 {
			t.Fatalf("known IP waits %s", d)
		}
		if d := g.wait("owner", "203.0.113.1", now); d != 15*time.Minute {
			t.Fatalf("unknown IP waits %s, want the account's 15 min", d)
		}
		// The known IP still has its own limits.
		for i := 0; i < 5; i++ {
			if d := g.fail("owner", "192.0.2.1", now); d != 0 {
				t.Fatalf("known IP's free failure %d locked for %s", i+1, d)
			}
		}
		if d := g.fail("owner", "192.0.2.1", now); d != time.Second {
			t.Fatalf("known IP's sixth failure: %s, want 1s", d)
		}
	})
	t.Run("a success keeps the IP's failures", func(t *testing.T) {
		g := newLoginGuard()
		for i := 0; i < 5; i++ {
			g.fail(fmt.Sprintf("victim-%d", i), "192.0.2.9", now)
		}
		g.succeed("attacker", "192.0.2.9", now)
		if d := g.fail("victim-9", "192.0.2.9", now); d != time.Second {
			t.Fatalf("sixth failure from the IP after its own success: %s, want 1s", d)
		}
		if d := g.wait("attacker", "192.0.2.9", now); d != time.Second {
			t.Fatalf("the IP is not locked for its own account too: %s", d)
		}
	})
	t.Run("a success resets the account and the pair", func(t *testing.T) {
		g := newLoginGuard()
		for i := 0; i < 6; i++ {
			g.fail("anna", "192.0.2.1", now)
		}
		g.succeed("anna", "192.0.2.2", now)
		if d := g.wait("anna", "192.0.2.3", now); d != 0 {
			t.Fatalf("account still locked after a success: %s", d)
		}
		if d := g.wait("anna", "192.0.2.1", now); d != time.Second {
			t.Fatalf("the guessing IP: %s, want its own 1s", d)
		}
	})
	t.Run("known IPs are bounded and forgotten", func(t *testing.T) {
		g := newLoginGuard()
		for i := 0; i < knownPerAccount+5; i++ {
			g.succeed("anna", fmt.Sprintf("192.0.2.%d", i), now.Add(time.Duration(i)*time.Second))
		}
		if n := len(g.known["anna"]); n != knownPerAccount {
			t.Fatalf("%d known IPs, want %d", n, knownPerAccount)
		}
		if g.isKnown("anna", "192.0.2.0", now) || !g.isKnown("anna", "192.0.2.24", now) {
			t.Fatal("not the oldest forgotten")
		}
		if g.isKnown("anna", "192.0.2.24", now.Add(knownFor+time.Minute)) {
			t.Fatal("known forever")
		}
	})
}
