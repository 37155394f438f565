package daemon

import (
	"fmt"
	"time"

	"github.com/inboxd/inboxd/inbox/privacy"
)

// RetentionCfg is how long inactive conversations are kept after their
// last activity: a duration ("8760h") or days ("365d"); empty or 0 keeps
// them for ever. A queue's own retention (queues[].retention) wins; there
// "0" keeps that queue's for ever, and absent takes this one.
type RetentionCfg struct {
	Conversations string `yaml:"conversations"`
}

// validateRetention checks retention.conversations and every
// queues[].retention.
func (c *Config) validateRetention(bad func(key, format string, args ...any)) {
	if c.Retention.Conversations != "" {
		if _, err := privacy.ParseDuration(c.Retention.Conversations); err != nil {
			bad("retention.conversations", "%v", err)
		}
	}
	for i, q := range c.Queues {
		if q.Retention == "" {
			continue
		}
		if _, err := privacy.ParseDuration(q.Retention); err != nil {
			bad(fmt.Sprintf("queues[%d].retention", i), "%v", err)
		}
	}
}

// RetentionPolicy is the validated config's retention policy.
func (c *Config) RetentionPolicy() privacy.Policy {
	var p privacy.Policy
	p.Default, _ = parseRetention(c.Retention.Conversations)
	for _, q := range c.Queues {
		if q.Retention == "" {
			continue
		}
		if p.Queues == nil {
			p.Queues = map[string]time.Duration{}
		}
		p.Queues[q.ID], _ = parseRetention(q.Retention)
	}
	return p
}

func parseRetention(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	return privacy.ParseDuration(s)
}
