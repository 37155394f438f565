package email

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jhillyerd/enmime/v2"

	"github.com/inboxd/inboxd/inbox"
)

var fixedClock = inbox.ClockFunc(func() time.Time { return time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC) })

func testSender(sink *smtpSink, replyDomain string) *Sender {
	cfg := Config{Address: "support@example.com", ReplyDomain: replyDomain, SMTP: sink.config()}
	return NewSender("mail", "Example Support", cfg, fixedClock)
}

func replyOutbound() inbox.Outbound {
	return inbox.Outbound{
		MessageID: 7, ChannelID: "mail", Attempt: 1,
		Conversation: inbox.OutboundConversation{ID: 3, Number: 5, Token: "tokABC", Subject: "Re: RE: Hello there"},
		Contact:      inbox.Contact{ExternalID: "jane@example.com", Email: "jane@example.com", Name: "Jane Doe"},
		AuthorName:   "Agent Smith",
		Text:         "Hi Jane,\nplease <b>restart</b> the router & retry.",
		Thread:       []string{"plain-1@mail.example.com", "inboxd.6.aaaa@example.com", "<CAGmail-reply-1@mail.gmail.com>"},
		LastInbound:  &inbox.Message{ExternalID: "CAGmail-reply-1@mail.gmail.com"},
	}
}

func readEnvelope(t *testing.T, data []byte) *enmime.Envelope {
	t.Helper()
	env, err := enmime.ReadEnvelope(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("read sent mail: %v", err)
	}
	return env
}

// checkThreaded asserts the headers an agent's reply must carry.
func checkThreaded(t *testing.T, env *enmime.Envelope, providerID, inReplyTo string, refs []string, subject string) {
	t.Helper()
	if got := env.GetHeader("Message-Id"); got != "<"+providerID+">" {
		t.Errorf("Message-ID = %q, want <%s>", got, providerID)
	}
	if got := env.GetHeader("In-Reply-To"); got != "<"+inReplyTo+">" {
		t.Errorf("In-Reply-To = %q, want <%s>", got, inReplyTo)
	}
	var gotRefs []string
	for _, m := range idRe.FindAllStringSubmatch(env.GetHeader("References"), -1) {
		gotRefs = append(gotRefs, m[1])
	}
	if strings.Join(gotRefs, " ") != strings.Join(refs, " ") {
		t.Errorf("References = %q, want %q", gotRefs, refs)
	}
	if got := env.GetHeader("Subject"); got != subject {
		t.Errorf("Subject = %q, want %q", got, subject)
	}
}

func TestSendThreadsTheReply(t *testing.T) {
	sink := startSMTP(t)
	s := testSender(sink, "reply.example.com")
	out := replyOutbound()
	res, err := s.Send(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.ProviderID, "inboxd.7.") || !strings.HasSuffix(res.ProviderID, "@example.com") {
		t.Errorf("ProviderID = %q", res.ProviderID)
	}
	mails := sink.waitFor(t, 1)
	m := mails[0]
	if m.from != "support@example.com" || len(m.to) != 1 || m.to[0] != "jane@example.com" {
		t.Errorf("envelope from %q to %q", m.from, m.to)
	}
	env := readEnvelope(t, m.data)
	checkThreaded(t, env, res.ProviderID, "CAGmail-reply-1@mail.gmail.com",
		[]string{"plain-1@mail.example.com", "inboxd.6.aaaa@example.com", "CAGmail-reply-1@mail.gmail.com"}, "Re: Hello there")
	if got := env.GetHeader("Reply-To"); got != "<reply+tokABC@reply.example.com>" && got != "reply+tokABC@reply.example.com" {
		t.Errorf("Reply-To = %q", got)
	}
	if got := env.GetHeader("From"); !strings.Contains(got, "Example Support") || !strings.Contains(got, "<support@example.com>") {
		t.Errorf("From = %q", got)
	}
	if env.GetHeader("Auto-Submitted") != "" {
		t.Errorf("an agent's reply is not auto-submitted: %q", env.GetHeader("Auto-Submitted"))
	}
	if strings.TrimSpace(strings.ReplaceAll(env.Text, "\r\n", "\n")) != out.Text {
		t.Errorf("text = %q, want %q", env.Text, out.Text)
	}
	if !strings.Contains(env.HTML, "please &lt;b&gt;restart&lt;/b&gt; the router &amp; retry.") || !strings.Contains(env.HTML, "Hi Jane,<br>") {
		t.Errorf("html = %q", env.HTML)
	}

	// A retry sends the same Message-ID: the customer's client shows one mail.
	res2, err := s.Send(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if res2.ProviderID != res.ProviderID {
		t.Errorf("retry ProviderID %q, first %q", res2.ProviderID, res.ProviderID)
	}
	// Another message of the conversation gets another id.
	out.MessageID = 8
	res3, err := s.Send(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if res3.ProviderID == res.ProviderID {
		t.Errorf("message 8 reused message 7's id %q", res3.ProviderID)
	}

	// The customer answers from a client that keeps the headers: the
	// answer references our Message-ID, which the service matches against
	// the ProviderID.
	answer := "From: Jane Doe <jane@example.com>\nTo: support@example.com\nSubject: " + env.GetHeader("Subject") +
		"\nMessage-ID: <jane-answer@example.com>\nIn-Reply-To: " + env.GetHeader("Message-Id") +
		"\nReferences: " + env.GetHeader("References") + " " + env.GetHeader("Message-Id") + "\n\nThanks!\n"
	in := Parse("mail", []byte(answer), testOpts).Inbound
	if len(in.References) == 0 || in.References[0] != res.ProviderID {
		t.Errorf("answer References = %q, want %s first", in.References, res.ProviderID)
	}
}

func TestSendWithoutReplyDomainOrThread(t *testing.T) {
	sink := startSMTP(t)
	s := testSender(sink, "")
	out := replyOutbound()
	out.Thread, out.LastInbound = nil, nil
	out.Conversation.Subject = ""
	res, err := s.Send(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	env := readEnvelope(t, sink.waitFor(t, 1)[0].data)
	if env.GetHeader("Reply-To") != "" || env.GetHeader("In-Reply-To") != "" || env.GetHeader("References") != "" {
		t.Errorf("Reply-To %q In-Reply-To %q References %q: want none", env.GetHeader("Reply-To"), env.GetHeader("In-Reply-To"), env.GetHeader("References"))
	}
	if got := env.GetHeader("Subject"); got != "Re: Request #5" {
		t.Errorf("Subject = %q", got)
	}
	if env.GetHeader("Message-Id") != "<"+res.ProviderID+">" {
		t.Errorf("Message-ID %q, ProviderID %q", env.GetHeader("Message-Id"), res.ProviderID)
	}
}

func TestSendToReplyTo(t *testing.T) {
	sink := startSMTP(t)
	out := replyOutbound()
	out.LastInbound.Meta = map[string]string{MetaReplyTo: "victor@example.com"}
	if _, err := testSender(sink, "").Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	if to := sink.waitFor(t, 1)[0].to; len(to) != 1 || to[0] != "victor@example.com" {
		t.Errorf("sent to %q, want the Reply-To address", to)
	}
}

func TestSendErrorClasses(t *testing.T) {
	sink := startSMTP(t)
	s := testSender(sink, "")
	classOf := func(err error) string {
		var se *inbox.SendError
		switch {
		case err == nil:
			return "ok"
		case errors.As(err, &se) && se.Permanent:
			return "permanent"
		}
		return "temporary"
	}
	sink.setReject(func(string) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	})
	if _, err := s.Send(context.Background(), replyOutbound()); classOf(err) != "permanent" || !strings.Contains(err.Error(), "no such user") {
		t.Errorf("550: %v (%s), want permanent with the reason", err, classOf(err))
	}
	sink.setReject(func(string) error {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	})
	if _, err := s.Send(context.Background(), replyOutbound()); classOf(err) != "temporary" {
		t.Errorf("451: %v (%s), want temporary", err, classOf(err))
	}
	out := replyOutbound()
	out.Contact = inbox.Contact{ExternalID: "unknown-sender@inboxd.invalid"}
	if _, err := s.Send(context.Background(), out); classOf(err) != "permanent" {
		t.Errorf("no address: %v (%s), want permanent", err, classOf(err))
	}
	down := testSender(&smtpSink{host: "127.0.0.1", port: 1}, "")
	if _, err := down.Send(context.Background(), replyOutbound()); classOf(err) != "temporary" {
		t.Errorf("server down: %v (%s), want temporary", err, classOf(err))
	}
}

func TestReplySubject(t *testing.T) {
	cases := []struct {
		in   string
		n    int64
		want string
	}{
		{"Hello", 1, "Re: Hello"},
		{"Re: Hello", 1, "Re: Hello"},
		{"RE: re:  AW: Hello", 1, "Re: Hello"},
		{"Re[2]: Hello", 1, "Re: Hello"},
		{"Fwd: Hello", 1, "Re: Fwd: Hello"},
		{"Reply needed", 1, "Re: Reply needed"},
		{"", 9, "Re: Request #9"},
		{"Re:", 0, "Re: Your message"},
	}
	for _, tc := range cases {
		if got := replySubject(tc.in, tc.n); got != tc.want {
			t.Errorf("replySubject(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestThreadHeadersBounded(t *testing.T) {
	var out inbox.Outbound
	for i := 0; i < 50; i++ {
		out.Thread = append(out.Thread, "id"+strings.Repeat("x", i%3)+string(rune('a'+i%26))+"@h"+string(rune('a'+i/26)))
	}
	out.Thread = append(out.Thread, "bad id with spaces", "")
	inReplyTo, refs := threadHeaders(out)
	if len(refs) != maxReferenceHeaderIDs || refs[0] != out.Thread[0] || inReplyTo != out.Thread[49] || refs[len(refs)-1] != inReplyTo {
		t.Errorf("in-reply-to %q, %d refs from %q to %q", inReplyTo, len(refs), refs[0], refs[len(refs)-1])
	}
}

func TestMailer(t *testing.T) {
	sink := startSMTP(t)
	m := NewMailer(sink.config(), "inboxd <noreply@example.com>")
	err := m.SendMail(context.Background(), []string{"agent@example.com"}, "New chat #5", "Jane wrote: hello",
		map[string]string{"x-inboxd-conversation": "5"})
	if err != nil {
		t.Fatal(err)
	}
	err = m.SendMail(context.Background(), []string{"agent@example.com"}, "Transcript", "…",
		map[string]string{"Auto-Submitted": "auto-replied"})
	if err != nil {
		t.Fatal(err)
	}
	mails := sink.waitFor(t, 2)
	env := readEnvelope(t, mails[0].data)
	if mails[0].from != "noreply@example.com" || mails[0].to[0] != "agent@example.com" {
		t.Errorf("envelope %q -> %q", mails[0].from, mails[0].to)
	}
	if env.GetHeader("Auto-Submitted") != "auto-generated" || env.GetHeader("X-Inboxd-Conversation") != "5" ||
		env.GetHeader("X-Auto-Response-Suppress") != "All" || env.GetHeader("Subject") != "New chat #5" {
		t.Errorf("headers: %q %q %q %q", env.GetHeader("Auto-Submitted"), env.GetHeader("X-Inboxd-Conversation"),
			env.GetHeader("X-Auto-Response-Suppress"), env.GetHeader("Subject"))
	}
	if !strings.Contains(env.Text, "Jane wrote: hello") || env.GetHeader("Message-Id") == "" {
		t.Errorf("text %q, id %q", env.Text, env.GetHeader("Message-Id"))
	}
	if got := readEnvelope(t, mails[1].data).GetHeader("Auto-Submitted"); got != "auto-replied" {
		t.Errorf("Auto-Submitted = %q, want the caller's auto-replied", got)
	}
	// Our own notification, were it to come back, is flagged.
	if in := Parse("mail", mails[0].data, testOpts).Inbound; !in.Auto {
		t.Errorf("a notification parsed back is not Auto")
	}
	if err := NewMailer(SMTPConfig{}, "x@example.com").SendMail(context.Background(), []string{"a@b.c"}, "s", "t", nil); err == nil || !strings.Contains(err.Error(), "smtp.host") {
		t.Errorf("bad config: %v", err)
	}
	if err := m.SendMail(context.Background(), []string{"a@b.c"}, "s", "t", map[string]string{"X-Evil": "a\r\nBcc: x@y"}); err == nil {
		t.Errorf("a header with CRLF was accepted")
	}
}

func TestSendAutomaticAnswerIsMarked(t *testing.T) {
	sink := startSMTP(t)
	s := testSender(sink, "")
	for i, auto := range []bool{false, true} {
		out := replyOutbound()
		out.MessageID = int64(10 + i)
		out.Auto = auto
		if _, err := s.Send(context.Background(), out); err != nil {
			t.Fatal(err)
		}
		env := readEnvelope(t, sink.waitFor(t, i+1)[i].data)
		want := ""
		if auto {
			want = "auto-replied"
		}
		if got := env.GetHeader("Auto-Submitted"); got != want {
			t.Errorf("auto=%v: Auto-Submitted = %q, want %q", auto, got, want)
		}
	}
}
