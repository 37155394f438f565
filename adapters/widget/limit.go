package widget

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a token bucket per key (an IP address, a visitor) with
// perMinute requests a minute and a burst of a quarter of that. Idle keys
// are forgotten, so memory follows the active visitors, not all of them.
type limiter struct {
	mu        sync.Mutex
	perMinute int
	keys      map[string]*bucket
	swept     time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// idleAfter is how long an unused bucket is kept: by then it is full again.
const idleAfter = 5 * time.Minute

func newLimiter(perMinute int) *limiter {
	return &limiter{perMinute: perMinute, keys: map[string]*bucket{}}
}

// allow takes one token for key; when none is left it returns how long to
// wait (the Retry-After), taking nothing.
func (l *limiter) allow(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.keys {
			if now.Sub(b.seen) > idleAfter {
				delete(l.keys, k)
			}
		}
		l.swept = now
	}
	b := l.keys[key]
	if b == nil {
		burst := max(l.perMinute/4, 1)
		b = &bucket{lim: rate.NewLimiter(rate.Limit(float64(l.perMinute)/60), burst)}
		l.keys[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return time.Duration(math.Ceil(d.Seconds())) * time.Second
	}
	return 0
}

// AllowRequest counts one widget request from the address ip; a positive
// result is the time to wait (answer 429 with Retry-After).
func (c *Channel) AllowRequest(ip string) time.Duration { return c.ips.allow(ip, c.clock.Now()) }

// AllowVisitor counts one message or typing notice of a visitor.
func (c *Channel) AllowVisitor(contactKey string) time.Duration {
	return c.visitors.allow(contactKey, c.clock.Now())
}
