package daemon

import (
	"strings"
	"testing"
	"time"
)

// TestRetentionConfig: the global retention and the queues' own, in hours
// or days; a queue's "0" keeps its conversations for ever, an absent one
// takes the global; bad values name their key.
func TestRetentionConfig(t *testing.T) {
	day := 24 * time.Hour
	c, err := Parse([]byte(`
retention: {conversations: 8760h}
queues:
  - {id: support}
  - {id: vip, retention: 30d}
  - {id: legal, retention: 0}
`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	p := c.RetentionPolicy()
	if p.Default != 365*day || len(p.Queues) != 2 || p.Queues["vip"] != 30*day || p.Queues["legal"] != 0 || !p.Enabled() {
		t.Fatalf("policy: %+v", p)
	}
	if _, ok := p.Queues["support"]; ok {
		t.Fatal("a queue without a retention of its own must take the global one")
	}
	d, _ := Load("", env(nil))
	if d.RetentionPolicy().Enabled() {
		t.Fatal("the default keeps everything")
	}
	for yaml, want := range map[string]string{
		"queues: [{id: s}]\nretention: {conversations: 12h}":     "retention.conversations: must be 0 (keep for ever) or at least 1d",
		"queues: [{id: s}]\nretention: {conversations: -2d}":     "retention.conversations:",
		"queues: [{id: s}]\nretention: {conversations: forever}": "retention.conversations:",
		"queues: [{id: s}, {id: t, retention: 1w}]":              "queues[1].retention:",
		"queues: [{id: s}]\nretention: {messages: 1d}":           "messages",
	} {
		c, err := Parse([]byte(yaml), env(nil))
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want it to mention %q", yaml, err, want)
		}
	}
}
