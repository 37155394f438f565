package api

import (
	"math"
	"sync"
	"time"
)

// throttle counts failures per key (an account, an IP) and locks a key out
// for a time that doubles with each failure past the free ones: a
// progressive delay that makes guessing passwords slow without locking a
// real user out for long.
type throttle struct {
	mu     sync.Mutex
	free   int           // failures allowed before any lockout
	base   time.Duration // first lockout
	max    time.Duration // longest lockout
	forget time.Duration // failures older than this are forgotten
	keys   map[string]*strikes
	swept  time.Time
}

type strikes struct {
	n     int
	last  time.Time
	until time.Time
}

func newThrottle(free int, base, max, forget time.Duration) *throttle {
	return &throttle{free: free, base: base, max: max, forget: forget, keys: map[string]*strikes{}}
}

// wait returns how long key must still wait (0: go ahead).
func (t *throttle) wait(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.keys[key]
	if !ok || now.After(s.until) {
		return 0
	}
	return s.until.Sub(now)
}

// fail records a failure and returns the lockout it starts (0: none yet).
func (t *throttle) fail(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweep(now)
	s, ok := t.keys[key]
	if !ok || now.Sub(s.last) > t.forget {
		s = &strikes{}
		t.keys[key] = s
	}
	s.n++
	s.last = now
	if s.n <= t.free {
		return 0
	}
	d := time.Duration(float64(t.base) * math.Pow(2, float64(s.n-t.free-1)))
	if d > t.max || d <= 0 {
		d = t.max
	}
	s.until = now.Add(d)
	return d
}

// reset forgets key (a successful login).
func (t *throttle) reset(key string) {
	t.mu.Lock()
	delete(t.keys, key)
	t.mu.Unlock()
}

// sweep drops forgotten keys, at most once a minute, so the map stays
// bounded by the keys active recently.
func (t *throttle) sweep(now time.Time) {
	if now.Sub(t.swept) < time.Minute {
		return
	}
	t.swept = now
	for k, s := range t.keys {
		if now.Sub(s.last) > t.forget && now.After(s.until) {
			delete(t.keys, k)
		}
	}
}
