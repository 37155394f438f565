package telegram

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/inboxtest"
)

func privateReply(id int64, text string) inbox.Outbound {
	return inbox.Outbound{
		MessageID: id, ChannelID: "tg", Attempt: 1, Text: text,
		Contact:      inbox.Contact{ExternalID: "111", Name: "Alice"},
		Conversation: inbox.OutboundConversation{ID: 7, Number: 7},
	}
}

func sendError429(t *testing.T, err error) *inbox.SendError {
	t.Helper()
	var se *inbox.SendError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v (%T), want an *inbox.SendError", err, err)
	}
	return se
}

func TestSendReachesTheChat(t *testing.T) {
	fake := newFakeBot(t)
	env := newTestChannel(t, fake, inboxtest.NewIngester(), nil)
	res, err := env.ch.Send(context.Background(), privateReply(1, "  We are on it.  "))
	if err != nil {
		t.Fatal(err)
	}
	sent := fake.sentMessages()
	if len(sent) != 1 || sent[0].ChatID != 111 || sent[0].Text != "We are on it." {
		t.Fatalf("sent %+v, want one message to chat 111", sent)
	}
	if res.ProviderID != "111:1" {
		t.Errorf("ProviderID = %q, want 111:1", res.ProviderID)
	}
}

func TestSendToGroupUsesThreadKey(t *testing.T) {
	fake := newFakeBot(t)
	env := newTestChannel(t, fake, inboxtest.NewIngester(), map[string]any{"groups": GroupsConversation})
	// What Normalize stored for a group: the group is the contact and the
	// thread key.
	in, _ := Normalize("tg", loadUpdate(t, "group_text"), GroupsConversation)
	out := privateReply(2, "Yes, we are here.")
	out.Contact.ExternalID = in.Contact.ExternalID
	out.Conversation.ThreadKey = in.ThreadKey
	if _, err := env.ch.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	if sent := fake.sentMessages(); len(sent) != 1 || sent[0].ChatID != -1001234567890 {
		t.Fatalf("sent %+v, want chat -1001234567890", sent)
	}
}

func TestSend429IsRetryAfterThenDeliveredOnce(t *testing.T) {
	fake := newFakeBot(t)
	fake.failSend(1, fakeFailure{status: 429, desc: "Too Many Requests: retry after 7", retryAfter: 7})
	env := newTestChannel(t, fake, inboxtest.NewIngester(), nil)

	_, err := env.ch.Send(context.Background(), privateReply(3, "hello"))
	se := sendError429(t, err)
	if se.Permanent || se.RetryAfter != 7*time.Second {
		t.Fatalf("err = %v: permanent %v, retry after %v; want temporary, 7s", err, se.Permanent, se.RetryAfter)
	}
	if n := len(fake.sentMessages()); n != 0 {
		t.Fatalf("%d messages delivered by a 429", n)
	}
	// The outbox waits se.RetryAfter, then calls again.
	res, err := env.ch.Send(context.Background(), privateReply(3, "hello"))
	if err != nil {
		t.Fatal(err)
	}
	if sent := fake.sentMessages(); len(sent) != 1 || sent[0].Text != "hello" {
		t.Fatalf("sent %+v, want hello once", sent)
	}
	if res.ProviderID != "111:1" {
		t.Errorf("ProviderID = %q", res.ProviderID)
	}
}

func TestSendErrorsAreClassified(t *testing.T) {
	tests := []struct {
		fail      fakeFailure
		permanent bool
		reason    string
	}{
		{fakeFailure{status: 403, desc: "Forbidden: bot was blocked by the user"}, true, "blocked by the user"},
		{fakeFailure{status: 400, desc: "Bad Request: chat not found"}, true, "chat not found"},
		{fakeFailure{status: 502, desc: "Bad Gateway"}, false, "Bad Gateway"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.fail.status), func(t *testing.T) {
			fake := newFakeBot(t)
			fake.failSend(1, tt.fail)
			env := newTestChannel(t, fake, inboxtest.NewIngester(), nil)
			_, err := env.ch.Send(context.Background(), privateReply(4, "hi"))
			if err == nil {
				t.Fatal("no error")
			}
			var se *inbox.SendError
			permanent := errors.As(err, &se) && se.Permanent
			if permanent != tt.permanent {
				t.Errorf("err = %v: permanent %v, want %v", err, permanent, tt.permanent)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err = %v, want Telegram's reason %q", err, tt.reason)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Error("the error holds the token")
			}
		})
	}
}

func TestSendTransportErrorIsTemporaryAndHidesToken(t *testing.T) {
	fake := newFakeBot(t)
	env := newTestChannel(t, fake, inboxtest.NewIngester(), nil)
	fake.srv.Close()
	_, err := env.ch.Send(context.Background(), privateReply(5, "hi"))
	if err == nil {
		t.Fatal("no error from a closed server")
	}
	var se *inbox.SendError
	if errors.As(err, &se) && se.Permanent {
		t.Errorf("a transport error is permanent: %v", err)
	}
	if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "TEST-token") {
		t.Errorf("the error holds the token: %v", err)
	}
}

func TestSendRefusesWhatCannotBeSent(t *testing.T) {
	fake := newFakeBot(t)
	env := newTestChannel(t, fake, inboxtest.NewIngester(), nil)
	noChat := privateReply(6, "hi")
	noChat.Contact.ExternalID = ""
	for _, out := range []inbox.Outbound{privateReply(6, "   "), noChat} {
		_, err := env.ch.Send(context.Background(), out)
		var se *inbox.SendError
		if !errors.As(err, &se) || !se.Permanent {
			t.Errorf("Send(%q to %q) = %v, want a permanent error", out.Text, out.Contact.ExternalID, err)
		}
	}
	if n := len(fake.sentMessages()); n != 0 {
		t.Errorf("%d messages sent", n)
	}
}

// longReply is about 5000 characters of paragraphs of sentences.
func longReply() string {
	var b strings.Builder
	for p := 0; b.Len() < 5000; p++ {
		if p > 0 {
			b.WriteString("\n\n")
		}
		for s := 0; s < 6; s++ {
			fmt.Fprintf(&b, "Paragraph %d, sentence %d says something useful about the order. ", p, s)
		}
		b.WriteString("End.")
	}
	return b.String()
}

func TestSendLongReplyArrivesAsOrderedMessages(t *testing.T) {
	fake := newFakeBot(t)
	env := newTestChannel(t, fake, inboxtest.NewIngester(), nil)
	text := longReply()
	if n := utf8.RuneCountInString(text); n < 5000 || n > 5500 {
		t.Fatalf("reply is %d characters", n)
	}
	res, err := env.ch.Send(context.Background(), privateReply(8, text))
	if err != nil {
		t.Fatal(err)
	}
	sent := fake.sentMessages()
	if len(sent) != 2 {
		t.Fatalf("%d messages, want 2", len(sent))
	}
	if !strings.HasPrefix(text, sent[0].Text+"\n\n") || !strings.HasSuffix(text, "\n\n"+sent[1].Text) {
		t.Errorf("not split in order at a paragraph break:\nfirst ends %q\nsecond starts %q",
			sent[0].Text[len(sent[0].Text)-30:], sent[1].Text[:30])
	}
	if res.ProviderID != "111:1,111:2" {
		t.Errorf("ProviderID = %q, want both ids in order", res.ProviderID)
	}
}

// When the second part of a split reply fails, the outbox's retry sends
// only that part: the first is not delivered twice.
func TestSendSplitReplyResumesAfterFailure(t *testing.T) {
	fake := newFakeBot(t)
	fake.failSend(2, fakeFailure{status: 429, desc: "Too Many Requests: retry after 1", retryAfter: 1})
	env := newTestChannel(t, fake, inboxtest.NewIngester(), nil)
	text := longReply()
	_, err := env.ch.Send(context.Background(), privateReply(9, text))
	if se := sendError429(t, err); se.RetryAfter != time.Second {
		t.Fatalf("err = %v, want retry after 1s", err)
	}
	if n := len(fake.sentMessages()); n != 1 {
		t.Fatalf("%d parts delivered before the 429, want 1", n)
	}
	res, err := env.ch.Send(context.Background(), privateReply(9, text))
	if err != nil {
		t.Fatal(err)
	}
	sent := fake.sentMessages()
	if len(sent) != 2 || sent[0].Text == sent[1].Text || !strings.HasSuffix(text, sent[1].Text) {
		t.Fatalf("sent %d messages; the retry must send only the second part", len(sent))
	}
	if res.ProviderID != "111:1,111:2" {
		t.Errorf("ProviderID = %q", res.ProviderID)
	}
}

func TestSendRateLimits(t *testing.T) {
	fake := newFakeBot(t)
	env := newTestChannel(t, fake, inboxtest.NewIngester(), nil)
	env.ch.chatInterval = 150 * time.Millisecond
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < 3; i++ {
		if _, err := env.ch.Send(ctx, privateReply(int64(20+i), fmt.Sprint("m", i))); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 280*time.Millisecond {
		t.Errorf("3 messages to one chat took %v; want at least 2 intervals of 150ms", d)
	}
	other := privateReply(30, "other chat")
	other.Contact.ExternalID = "222"
	start = time.Now()
	if _, err := env.ch.Send(ctx, other); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("a message to another chat waited %v for the first chat's limit", d)
	}
	// A context that ends before the chat's turn is a temporary failure.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	env.ch.Send(ctx, privateReply(31, "x"))
	_, err := env.ch.Send(short, privateReply(32, "y"))
	var se *inbox.SendError
	if err == nil || (errors.As(err, &se) && se.Permanent) {
		t.Errorf("err = %v, want a temporary error", err)
	}
	if got, want := env.ch.chatLimiter("-100123").Limit(), rate.Every(3*env.ch.chatInterval); got != want {
		t.Errorf("group limit = %v/s, want %v/s (20 a minute at the default interval)", got, want)
	}
	if l := env.ch.global.Limit(); l != globalPerSecond {
		t.Errorf("global limit = %v/s, want %d/s", l, globalPerSecond)
	}
}

func TestSplitMessage(t *testing.T) {
	emoji := strings.Repeat("😀", 2500) // 5000 UTF-16 units, no spaces
	tests := []struct {
		name  string
		in    string
		limit int
		want  []string
	}{
		{"short", "hello", 10, []string{"hello"}},
		{"exact", "0123456789", 10, []string{"0123456789"}},
		{"hard cut", "0123456789ab", 10, []string{"0123456789", "ab"}},
		{"paragraph", "aaaa bbbb.\n\ncccc", 14, []string{"aaaa bbbb.", "cccc"}},
		{"sentence over space", "One two three. Four five", 20, []string{"One two three.", "Four five"}},
		{"word", "alpha beta gamma", 12, []string{"alpha beta", "gamma"}},
		{"early break ignored", "a\n\nbbbbbbbbbb cccc", 15, []string{"a\n\nbbbbbbbbbb", "cccc"}},
		{"blank", "  \n ", 10, nil},
	}
	for _, tt := range tests {
		got := splitMessage(tt.in, tt.limit)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	parts := splitMessage(emoji, maxMessageLen)
	if len(parts) != 2 || strings.Join(parts, "") != emoji {
		t.Fatalf("emoji split into %d parts, or lost some", len(parts))
	}
	for _, p := range parts {
		if utf16Len(p) > maxMessageLen || !utf8.ValidString(p) {
			t.Errorf("part of %d UTF-16 units, valid %v", utf16Len(p), utf8.ValidString(p))
		}
	}
}

func FuzzSplitMessage(f *testing.F) {
	f.Add("hello world. This is fine.\n\nNext", 8)
	f.Add(strings.Repeat("😀 ", 40), 5)
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if limit < 2 || limit > 5000 || !utf8.ValidString(s) {
			return
		}
		parts := splitMessage(s, limit)
		// Only whitespace at the cuts may go.
		if strings.Join(strings.Fields(strings.Join(parts, "")), "") != strings.Join(strings.Fields(s), "") {
			t.Fatalf("text changed: %q -> %q", s, parts)
		}
		for _, p := range parts {
			if p == "" || utf16Len(p) > limit {
				t.Fatalf("bad part %q (limit %d)", p, limit)
			}
		}
	})
}
