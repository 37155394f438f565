package privacy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MinRetention is the shortest retention a policy may set: shorter would
// delete conversations a customer may still come back to.
const MinRetention = 24 * time.Hour

// Policy is how long inactive conversations are kept after their last
// activity. Default applies to every queue not in Queues; a duration of 0
// keeps them for ever.
type Policy struct {
	Default time.Duration
	// Queues overrides Default per queue id (0: that queue's are kept for
	// ever).
	Queues map[string]time.Duration
}

// Cutoff selects the inactive conversations to delete: those of Queue (or,
// when Queue is empty, of every queue but Except) whose last activity is
// before Before.
type Cutoff struct {
	Queue  string
	Except []string
	Before time.Time
}

// Cutoffs returns what p deletes at now, one cutoff per queue with a
// retention of its own and one for the rest; none when p keeps
// everything.
func (p Policy) Cutoffs(now time.Time) []Cutoff {
	var out []Cutoff
	var except []string
	for q := range p.Queues {
		except = append(except, q)
	}
	slices.Sort(except)
	for _, q := range except {
		if d := p.Queues[q]; d > 0 {
			out = append(out, Cutoff{Queue: q, Before: now.Add(-d)})
		}
	}
	if p.Default > 0 {
		out = append(out, Cutoff{Except: except, Before: now.Add(-p.Default)})
	}
	return out
}

// Enabled reports whether p deletes anything.
func (p Policy) Enabled() bool {
	if p.Default > 0 {
		return true
	}
	for _, d := range p.Queues {
		if d > 0 {
			return true
		}
	}
	return false
}

// ParseDuration reads a retention: a Go duration ("8760h", "90m") or a
// whole number of days ("365d"); "0" keeps for ever. It refuses negative
// durations and, but for 0, durations under MinRetention.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n < 0 || n > 100*366 {
			return 0, fmt.Errorf("%q is not a number of days (e.g. 365d)", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a duration (e.g. 8760h or 365d)", s)
		}
	}
	switch {
	case d < 0:
		return 0, fmt.Errorf("must not be negative")
	case d > 0 && d < MinRetention:
		return 0, fmt.Errorf("must be 0 (keep for ever) or at least 1d")
	}
	return d, nil
}
