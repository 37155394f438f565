package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/inboxd/inboxd/inbox"
)

func TestLinkMail(t *testing.T) {
	exp := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	m := LinkMail("ivy@example.com", "Ivy\r\nBcc: x@evil.example", "Olga", inbox.LinkInvite, "https://in.example.com/invite/ibx_abc", exp)
	if m.To[0] != "ivy@example.com" || m.Subject != "You are invited to inboxd" {
		t.Fatalf("%+v", m)
	}
	if !strings.Contains(m.Text, "https://in.example.com/invite/ibx_abc") || !strings.Contains(m.Text, "2026-12-05 10:00 UTC") {
		t.Fatalf("text %q", m.Text)
	}
	if strings.Contains(m.Text, "\r\nBcc") {
		t.Fatalf("a name broke the line: %q", m.Text)
	}
	if r := LinkMail("a@example.com", "A", "O", inbox.LinkReset, "u", exp); !strings.Contains(r.Subject, "Reset") {
		t.Fatalf("reset subject %q", r.Subject)
	}
}
