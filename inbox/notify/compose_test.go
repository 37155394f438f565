package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo

	"github.com/inboxd/inboxd/inbox"
)

var conv = &inbox.Conversation{ID: 314, Number: 12, Title: "Alice", Queue: "support"}

func TestComposeSubjects(t *testing.T) {
	widget := &inbox.Conversation{ID: 5, Number: 7, Title: "#7"}
	two := []inbox.Message{msg(314, "a"), msg(314, "b")}
	tests := []struct {
		kind Kind
		c    Content
		want string
	}{
		{NewChat, Content{Conversation: conv}, "New chat #12: Alice"},
		{NewChat, Content{Conversation: widget}, "New chat #7"},
		{SlowChat, Content{Conversation: conv}, "Waiting chat #12: Alice"},
		{MyConversation, Content{Conversation: conv}, "New message in #12: Alice"},
		{MissedWhileOffline, Content{Conversation: conv, Messages: two}, "2 missed messages in #12: Alice"},
		{MissedWhileOffline, Content{Conversation: conv, Messages: two[:1]}, "1 missed message in #12: Alice"},
		{MissedWhileOffline, Content{Conversation: conv, Messages: two, Omitted: 10}, "12 missed messages in #12: Alice"},
		{RegisteredContact, Content{Conversation: conv}, "New registered contact #12: Alice"},
		{"other", Content{}, "Notification about a conversation"},
		// A customer's name cannot break the header.
		{NewChat, Content{Conversation: &inbox.Conversation{ID: 1, Number: 3, Title: "Eve\r\nBcc: victim@example.com\x00"}},
			"New chat #3: Eve Bcc: victim@example.com"},
		{NewChat, Content{Conversation: &inbox.Conversation{ID: 1, Number: 3, Title: strings.Repeat("é", 300)}},
			"New chat #3: " + strings.Repeat("é", maxSubject-len("New chat #3: ")-1) + "…"},
	}
	for _, tt := range tests {
		if got := Compose(tt.kind, tt.c).Subject; got != tt.want {
			t.Errorf("Compose(%s).Subject = %q, want %q", tt.kind, got, tt.want)
		}
	}
}

func TestComposeHeadersAndLink(t *testing.T) {
	for _, k := range []Kind{NewChat, SlowChat, MyConversation, MissedWhileOffline, RegisteredContact} {
		for _, base := range []string{"https://inbox.example.com", "https://inbox.example.com/"} {
			m := Compose(k, Content{PublicURL: base, To: []string{"a@example.com"}, Conversation: conv, Messages: []inbox.Message{msg(314, "hi")}})
			if m.Headers["Auto-Submitted"] != "auto-generated" {
				t.Errorf("%s: Auto-Submitted = %q", k, m.Headers["Auto-Submitted"])
			}
			if m.Headers["X-Inboxd-Notification"] != string(k) || m.Headers["X-Inboxd-Conversation"] != "314" {
				t.Errorf("%s: headers %v", k, m.Headers)
			}
			if !strings.Contains(m.Text, "https://inbox.example.com/conversations/314\n") {
				t.Errorf("%s with %q: no link in\n%s", k, base, m.Text)
			}
			if len(m.To) != 1 || m.To[0] != "a@example.com" {
				t.Errorf("%s: To = %v", k, m.To)
			}
		}
	}
	if got := ConversationURL("https://x", nil); got != "" {
		t.Errorf("no conversation: %q", got)
	}
	if m := Compose(NewChat, Content{}); strings.Contains(m.Text, "/conversations/") || m.Headers["Auto-Submitted"] != "auto-generated" {
		t.Errorf("mail without a conversation:\n%s", m.Text)
	}
}

func TestComposeTranscript(t *testing.T) {
	helsinki, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	var msgs []inbox.Message
	for i := 0; i < 3; i++ {
		m := msg(314, fmt.Sprintf("question %d", i))
		m.AuthorName = "Alice"
		m.CreatedAt = t0.Add(time.Duration(i) * time.Minute)
		msgs = append(msgs, m)
	}
	msgs[1].Text = "line one\r\nline two\x07"
	msgs[1].Attachments = []inbox.Attachment{{Name: "invoice.pdf"}, {Name: "a\nb.png"}}
	msgs[2].Direction, msgs[2].AuthorName = inbox.DirectionOut, ""
	m := Compose(MissedWhileOffline, Content{
		PublicURL: "https://inbox.example.com", Conversation: conv, QueueName: "Support", ChannelName: "Telegram",
		Messages: msgs, Omitted: 4, Location: helsinki,
	})
	want := []string{
		"While you were offline, messages arrived in a conversation in Support (Telegram).",
		"(4 earlier messages not shown)",
		"[2026-06-10 15:00 EEST] Alice:\nquestion 0\n",
		"[2026-06-10 15:01 EEST] Alice:\nline one\nline two\n(attachments: invoice.pdf, a b.png)\n",
		"[2026-06-10 15:02 EEST] Agent:\nquestion 2\n",
		"Open the conversation: https://inbox.example.com/conversations/314",
	}
	last := -1
	for _, w := range want {
		i := strings.Index(m.Text, w)
		if i < 0 || i < last {
			t.Fatalf("text lacks (or misorders) %q:\n%s", w, m.Text)
		}
		last = i
	}
	if strings.ContainsAny(m.Text, "\r\x07") {
		t.Errorf("control characters left in the text: %q", m.Text)
	}
}

func TestComposeRegisteredContact(t *testing.T) {
	m := Compose(RegisteredContact, Content{
		PublicURL: "https://inbox.example.com", Conversation: conv, QueueName: "Support",
		Form: &ContactForm{
			Name: "Alice\nSmith", Email: "alice@example.com", Message: "Call me back, please.",
			Answers: []Answer{{"Topic", "Billing"}, {"Order", "A-17"}},
		},
	})
	want := "A customer left their contact details in Support.\n\n" +
		"Name: Alice Smith\nEmail: alice@example.com\nTopic: Billing\nOrder: A-17\n\n" +
		"Message:\nCall me back, please.\n\n" +
		"Open the conversation: https://inbox.example.com/conversations/314\n"
	if !strings.HasPrefix(m.Text, want) {
		t.Fatalf("got\n%s\nwant prefix\n%s", m.Text, want)
	}
}

func TestBodyLimits(t *testing.T) {
	long := strings.Repeat("a", maxText+10)
	if got := body(long); len([]rune(got)) != maxText || !strings.HasSuffix(got, "…") {
		t.Errorf("long text not truncated: %d runes", len([]rune(got)))
	}
	if got := body("bad \xff utf8"); got != "bad \uFFFD utf8" {
		t.Errorf("invalid UTF-8: %q", got)
	}
}

// TestFiveMissedMessagesOneMail is the acceptance rule: 5 messages
// to an offline agent become 1 mail, with all 5 in it.
func TestFiveMissedMessagesOneMail(t *testing.T) {
	agents := []Agent{
		{&inbox.User{ID: 5, Email: "off@example.com", Presence: inbox.PresenceOffline}, DefaultSettings()},
		{&inbox.User{ID: 6, Email: "optout@example.com", Presence: inbox.PresenceOffline}, Settings{}},
	}
	b := &Batcher{Quiet: 5 * time.Minute}
	for i := 0; i < 5; i++ {
		now := t0.Add(time.Duration(i) * 30 * time.Second)
		m := msg(conv.ID, fmt.Sprintf("message %d", i))
		m.CreatedAt = now
		p := Recipients(Event{Kind: MyConversation, Queue: "support", Participants: []int64{5, 6}}, agents, now, 0)
		if len(p.Email) != 0 {
			t.Fatalf("offline agents get no immediate email: %v", p.Email)
		}
		for _, u := range p.Missed {
			b.Add(u.ID, m, now)
		}
	}
	var sent []Mail
	mailer := MailerFunc(func(_ context.Context, to []string, subject, text string, headers map[string]string) error {
		sent = append(sent, Mail{To: to, Subject: subject, Text: text, Headers: headers})
		return nil
	})
	for _, tr := range b.Due(t0.Add(time.Hour)) {
		c := TranscriptContent(tr)
		c.PublicURL, c.Conversation, c.To = "https://inbox.example.com", conv, []string{"off@example.com"}
		if err := Send(context.Background(), mailer, Compose(MissedWhileOffline, c)); err != nil {
			t.Fatal(err)
		}
	}
	if len(sent) != 1 {
		t.Fatalf("sent %d mails, want 1", len(sent))
	}
	m := sent[0]
	if m.To[0] != "off@example.com" || m.Subject != "5 missed messages in #12: Alice" || m.Headers["Auto-Submitted"] != "auto-generated" {
		t.Fatalf("mail %+v", m)
	}
	for i := 0; i < 5; i++ {
		if !strings.Contains(m.Text, fmt.Sprintf("message %d", i)) {
			t.Errorf("message %d missing from the transcript", i)
		}
	}
}

func TestSendPassesErrors(t *testing.T) {
	boom := errors.New("smtp down")
	err := Send(context.Background(), MailerFunc(func(context.Context, []string, string, string, map[string]string) error { return boom }), Mail{})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
}
