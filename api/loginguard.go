package api

import (
	"sync"
	"time"
)

// loginGuard decides which login attempts may check a password. Three
// progressive throttles (throttle.go) count failures:
//
//   - per IP: one address guessing many accounts. A success does not
//     reset it, so an attacker's own valid account cannot wash its IP.
//   - per account and IP: one address guessing one account. A success
//     resets it.
//   - per account: many addresses guessing one account. Its lockout is
//     skipped for an address that has logged into that account before
//     (remembered for knownFor, at most knownPerAccount addresses each),
//     so a guesser with many addresses cannot lock the owner out of the
//     places the owner logs in from; the first two throttles still apply
//     there. A success resets it.
type loginGuard struct {
	ip, pair, account *throttle

	mu    sync.Mutex
	known map[string]map[string]time.Time // account -> IP -> last success
}

const (
	knownFor        = 30 * 24 * time.Hour
	knownPerAccount = 20
)

func newLoginGuard() *loginGuard {
	// 5 free failures per key in 15 minutes, then 1 s, 2 s, 4 s ... up to 15 min.
	th := func() *throttle { return newThrottle(5, time.Second, 15*time.Minute, 15*time.Minute) }
	return &loginGuard{ip: th(), pair: th(), account: th(), known: map[string]map[string]time.Time{}}
}

// wait returns how long this attempt must still wait (0: go ahead).
func (g *loginGuard) wait(account, ip string, now time.Time) time.Duration {
	d := max(g.ip.wait(ip, now), g.pair.wait(pairKey(account, ip), now))
	if !g.isKnown(account, ip, now) {
		d = max(d, g.account.wait(account, now))
	}
	return d
}

// fail records a wrong password and returns the lockout it starts for
// this client (0: none yet).
func (g *loginGuard) fail(account, ip string, now time.Time) time.Duration {
	d := max(g.ip.fail(ip, now), g.pair.fail(pairKey(account, ip), now))
	da := g.account.fail(account, now)
	if !g.isKnown(account, ip, now) {
		d = max(d, da)
	}
	return d
}

// succeed records a login: the account's and this pair's failures are
// forgotten (not the IP's), and the IP becomes known for the account.
func (g *loginGuard) succeed(account, ip string, now time.Time) {
	g.pair.reset(pairKey(account, ip))
	g.account.reset(account)
	g.mu.Lock()
	defer g.mu.Unlock()
	ips := g.known[account]
	if ips == nil {
		ips = map[string]time.Time{}
		g.known[account] = ips
	}
	ips[ip] = now
	for len(ips) > knownPerAccount { // forget the oldest
		var oldest string
		for k, t := range ips {
			if oldest == "" || t.Before(ips[oldest]) {
				oldest = k
			}
		}
		delete(ips, oldest)
	}
}

func (g *loginGuard) isKnown(account, ip string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.known[account][ip]
	return ok && now.Sub(t) < knownFor
}

func pairKey(account, ip string) string { return account + "\x00" + ip }
