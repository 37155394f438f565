package email

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox"
	"github.com/inboxd/inboxd/inbox/inboxtest"
)

// newTestChannel builds the channel through the factory, as the daemon
// does, with short retry delays.
func newTestChannel(t *testing.T, d *dovecot, smtpPort int, ing inbox.Ingester) *Channel {
	t.Helper()
	ic := d.imapConfig()
	doc := fmt.Sprintf(`address: support@example.com
reply_domain: reply.example.com
imap: {host: %s, port: %d, tls: none, username: %s, password: %s, poll_interval: 200ms}
smtp: {host: 127.0.0.1, port: %d, tls: none}
`, ic.Host, ic.Port, ic.Username, ic.Password, smtpPort)
	ch, err := New(yamlConfig("mail", doc), adapters.Deps{Ingest: ing, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	c := ch.(*Channel)
	c.poller.backoffMin = 20 * time.Millisecond
	c.poller.backoffMax = 200 * time.Millisecond
	return c
}

func externalIDs(ins []inbox.Inbound) []string {
	var ids []string
	for _, in := range ins {
		ids = append(ids, in.ExternalID)
	}
	return ids
}

func TestIMAPIdleIngestsAppendedMail(t *testing.T) {
	d := startDovecot(t, true)
	d.appendMail(t, simpleMail("m1@example.com", "Jane <jane@example.com>", "First", "one"),
		simpleMail("m2@example.com", "Bob <bob@example.com>", "Second", "two"))
	ing := inboxtest.NewIngester()
	ch := newTestChannel(t, d, 25, ing)
	stop := running(t, ch.Run)

	eventually(t, "the two waiting mails", func() bool { return len(ing.Stored()) == 2 })
	// IDLE: a mail delivered while the channel waits arrives without
	// waiting for a poll (the poll interval would be the configured 200ms
	// only without IDLE; here the session idles).
	d.appendMail(t, simpleMail("m3@example.com", "Jane <jane@example.com>", "Third", "three"))
	eventually(t, "the mail appended during IDLE", func() bool { return len(ing.Stored()) == 3 })
	stop()

	// A mail over the size limit is stored by its header, with a note.
	ch.poller.maxMessage = 4000
	d.appendMail(t, simpleMail("big@example.com", "Jane <jane@example.com>", "Huge", strings.Repeat("0123456789\n", 500)))
	stop = running(t, ch.Run)
	eventually(t, "the big mail", func() bool { return len(ing.Stored()) == 4 })
	stop()
	big := ing.Stored()[3]
	if big.ExternalID != "big@example.com" || big.Subject != "Huge" || !strings.Contains(big.Text, "only its header") ||
		!strings.Contains(big.Meta[MetaParseError], "too large") || strings.Contains(string(big.Attachments[0].Data), "0123456789") {
		t.Errorf("big mail: id %q subject %q text %q meta %v", big.ExternalID, big.Subject, big.Text, big.Meta)
	}

	got := ing.Stored()
	if ids := storedIDs(externalIDs(got)); ids != "m1@example.com,m2@example.com,m3@example.com,big@example.com" {
		t.Errorf("stored %s", ids)
	}
	if got[0].Title != "Jane: First" || got[0].Text != "one" || got[0].Contact.ExternalID != "jane@example.com" {
		t.Errorf("first inbound %+v", got[0])
	}
	got = got[:3]
	if got[2].Meta["imap_uid"] != "3" {
		t.Errorf("imap_uid = %q", got[2].Meta["imap_uid"])
	}
	cur, _ := ing.Cursor(context.Background(), "mail", "imap:INBOX")
	if want := fmt.Sprintf("%d:4", d.uidValidity(t)); cur != want {
		t.Errorf("cursor = %q, want %q", cur, want)
	}
	if err := ch.Health(); err != nil {
		t.Errorf("Health = %v", err)
	}
	if !ch.poller.sawIdle() {
		t.Errorf("the session did not use IDLE")
	}
}

func TestIMAPPollsWithoutIdle(t *testing.T) {
	d := startDovecot(t, false)
	ing := inboxtest.NewIngester()
	ch := newTestChannel(t, d, 25, ing)
	running(t, ch.Run)
	time.Sleep(300 * time.Millisecond)
	d.appendMail(t, simpleMail("p1@example.com", "Jane <jane@example.com>", "Poll", "polled"))
	eventually(t, "the polled mail", func() bool { return len(ing.Stored()) == 1 })
	if ch.poller.sawIdle() {
		t.Errorf("IDLE used although the server does not offer it")
	}
}

// flakyIngester commits okBatches batches, then fails like a store that
// went down.
type flakyIngester struct {
	*inboxtest.Ingester
	mu        sync.Mutex
	okBatches int
	failed    int
}

func (f *flakyIngester) IngestBatch(ctx context.Context, ins []inbox.Inbound, c *inbox.Cursor) ([]inbox.IngestResult, error) {
	f.mu.Lock()
	if f.okBatches == 0 {
		f.failed++
		f.mu.Unlock()
		return nil, inbox.ErrUnavailable
	}
	f.okBatches--
	f.mu.Unlock()
	return f.Ingester.IngestBatch(ctx, ins, c)
}

func (f *flakyIngester) failures() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

func TestIMAPRestartMidBatchLosesAndDuplicatesNothing(t *testing.T) {
	d := startDovecot(t, true)
	var mails [][]byte
	for i := 1; i <= 7; i++ {
		mails = append(mails, simpleMail(fmt.Sprintf("r%d@example.com", i), "Jane <jane@example.com>", fmt.Sprint("Mail ", i), "body"))
	}
	d.appendMail(t, mails...)
	store := inboxtest.NewIngester()

	// First process: batches of 3, the store goes down after the first.
	flaky := &flakyIngester{Ingester: store, okBatches: 1}
	first := newTestChannel(t, d, 25, flaky)
	first.poller.batchSize = 3
	stop := running(t, first.Run)
	eventually(t, "the failing second batch, retried", func() bool { return flaky.failures() >= 2 })
	if err := first.Health(); err == nil || !strings.Contains(err.Error(), "unavailable") {
		t.Errorf("Health while the store is down = %v", err)
	}
	stop()
	if n := len(store.Stored()); n != 3 {
		t.Fatalf("%d stored after the first batch, want 3", n)
	}
	validity := d.uidValidity(t)
	cur, _ := store.Cursor(context.Background(), "mail", "imap:INBOX")
	if cur != fmt.Sprintf("%d:3", validity) {
		t.Fatalf("cursor after the first batch = %q", cur)
	}

	// Second process, store back: it resumes after the committed batch.
	second := newTestChannel(t, d, 25, store)
	second.poller.batchSize = 3
	stop = running(t, second.Run)
	want := fmt.Sprintf("%d:7", validity)
	eventually(t, "the cursor at the last UID", func() bool {
		cur, _ := store.Cursor(context.Background(), "mail", "imap:INBOX")
		return cur == want
	})
	stop()
	ids := externalIDs(store.Stored())
	if got := storedIDs(ids); got != "r1@example.com,r2@example.com,r3@example.com,r4@example.com,r5@example.com,r6@example.com,r7@example.com" {
		t.Errorf("stored %s", got)
	}

	// UIDVALIDITY changed (the cursor names another one): everything is
	// fetched again and the Message-IDs absorb the repeats.
	if err := store.SaveCursor(context.Background(), inbox.Cursor{ChannelID: "mail", Key: "imap:INBOX", Value: "1:999"}); err != nil {
		t.Fatal(err)
	}
	third := newTestChannel(t, d, 25, store)
	stop = running(t, third.Run)
	eventually(t, "the resync's cursor", func() bool {
		cur, _ := store.Cursor(context.Background(), "mail", "imap:INBOX")
		return cur == want
	})
	stop()
	if n := len(store.Stored()); n != 7 {
		t.Errorf("%d stored after the resync, want 7", n)
	}
}

func TestIMAPBadLoginShowsInHealth(t *testing.T) {
	d := startDovecot(t, true)
	d.Password = "wrong"
	ch := newTestChannel(t, d, 25, inboxtest.NewIngester())
	running(t, ch.Run)
	eventually(t, "a login error in Health", func() bool {
		err := ch.Health()
		return err != nil && strings.Contains(err.Error(), "login")
	})
	if strings.Contains(ch.Health().Error(), "wrong") {
		t.Errorf("Health repeats the password: %v", ch.Health())
	}
}

// The whole loop: a customer writes, an agent answers over SMTP, the
// customer answers the answer, a vacation reply and a bounce arrive.
func TestEmailRoundTrip(t *testing.T) {
	d := startDovecot(t, true)
	sink := startSMTP(t)
	ing := inboxtest.NewIngester()
	ch := newTestChannel(t, d, sink.port, ing)
	running(t, ch.Run)

	d.appendMail(t, simpleMail("first@customer.example", "Jane Doe <jane@customer.example>", "Broken router", "It blinks red."))
	eventually(t, "the customer's mail", func() bool { return len(ing.Stored()) == 1 })
	first := ing.Stored()[0]
	if first.Title != "Jane Doe: Broken router" || first.Subject != "Broken router" || len(first.References) != 0 {
		t.Errorf("first inbound: title %q subject %q refs %q", first.Title, first.Subject, first.References)
	}

	// The agent's reply, as the outbox hands it to the sender.
	out := inbox.Outbound{
		MessageID: 41, ChannelID: "mail", Attempt: 1,
		Conversation: inbox.OutboundConversation{ID: 1, Number: 1, Token: "convTOKEN1", Subject: first.Subject, Title: first.Title},
		Contact:      inbox.Contact{ExternalID: first.Contact.ExternalID, Email: first.Contact.Email, Name: first.Contact.Name},
		Text:         "Please unplug it for ten seconds.",
		Thread:       []string{first.ExternalID},
		LastInbound:  &inbox.Message{ExternalID: first.ExternalID, Meta: first.Meta},
	}
	res, err := ch.Send(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	sent := sink.waitFor(t, 1)[0]
	if sent.to[0] != "jane@customer.example" {
		t.Errorf("reply sent to %q", sent.to)
	}
	env := readEnvelope(t, sent.data)
	checkThreaded(t, env, res.ProviderID, "first@customer.example", []string{"first@customer.example"}, "Re: Broken router")
	if got := env.GetHeader("Reply-To"); !strings.Contains(got, "reply+convTOKEN1@reply.example.com") {
		t.Errorf("Reply-To = %q", got)
	}

	// The customer answers; her client threads by our Message-ID.
	d.appendMail(t, simpleMail("second@customer.example", "Jane Doe <jane@customer.example>", "Re: Broken router",
		"Done, it works.\n\nOn Mon, 3 Mar 2025 at 11:00, Support <support@example.com> wrote:\n> Please unplug it for ten seconds.",
		"In-Reply-To: "+env.GetHeader("Message-Id"),
		"References: <first@customer.example> "+env.GetHeader("Message-Id")))
	eventually(t, "the customer's answer", func() bool { return len(ing.Stored()) == 2 })
	answer := ing.Stored()[1]
	if len(answer.References) == 0 || answer.References[0] != res.ProviderID {
		t.Errorf("answer References = %q, want our %s first", answer.References, res.ProviderID)
	}
	if answer.Text != "Done, it works." || answer.Auto {
		t.Errorf("answer text %q auto %v", answer.Text, answer.Auto)
	}

	// Her vacation reply: stored, flagged.
	d.appendMail(t, simpleMail("ooo@customer.example", "Jane Doe <jane@customer.example>", "Out of office", "Back Monday.",
		"Auto-Submitted: auto-replied", "In-Reply-To: "+env.GetHeader("Message-Id")))
	eventually(t, "the auto-reply", func() bool { return len(ing.Stored()) == 3 })
	if ooo := ing.Stored()[2]; !ooo.Auto || ooo.References[0] != res.ProviderID {
		t.Errorf("auto-reply Auto=%v refs %q", ooo.Auto, ooo.References)
	}

	// A bounce of our reply marks it failed.
	bounce := strings.ReplaceAll(dsnTemplate, "ORIGINAL_ID", res.ProviderID)
	d.appendMail(t, []byte(bounce))
	eventually(t, "the bounce's delivery update", func() bool { return len(ing.DeliveryUpdates()) == 1 })
	up := ing.DeliveryUpdates()[0]
	if up.ProviderID != res.ProviderID || up.State != inbox.DeliveryFailed || !strings.Contains(up.Error, "550 5.1.1") || up.ChannelID != "mail" {
		t.Errorf("delivery update %+v", up)
	}
	eventually(t, "the bounce itself", func() bool { return len(ing.Stored()) == 4 })
	if b := ing.Stored()[3]; !b.Auto || len(b.References) == 0 || b.References[len(b.References)-1] != res.ProviderID {
		t.Errorf("bounce inbound Auto=%v refs %q", b.Auto, b.References)
	}
}

const dsnTemplate = `Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>
To: support@example.com
Subject: Undelivered Mail Returned to Sender
Date: Mon, 03 Mar 2025 12:00:00 +0000
Message-ID: <bounce-1@mx.customer.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.customer.example

Final-Recipient: rfc822; jane@customer.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 mailbox unavailable

--B
Content-Type: text/rfc822-headers

From: Support <support@example.com>
Message-ID: <ORIGINAL_ID>

--B--
`

// pollRecorder records the poller's adapters.PollObserver reports.
type pollRecorder struct {
	mu   sync.Mutex
	at   []time.Time
	lags []time.Duration
}

func (r *pollRecorder) Polled(channel string, at time.Time, lag time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.at, r.lags = append(r.at, at), append(r.lags, lag)
}

func (r *pollRecorder) reports() ([]time.Time, []time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.at...), append([]time.Duration(nil), r.lags...)
}

// TestIMAPReportsSuccessAndLag: a committed batch reports the age of its
// oldest mail by INTERNALDATE; each later check of an idle mailbox (IDLE
// is re-issued every idleRestart) reports lag 0 and a later time, so the
// last success moves while nothing arrives.
func TestIMAPReportsSuccessAndLag(t *testing.T) {
	d := startDovecot(t, true)
	d.appendMail(t, simpleMail("m1@example.com", "Jane <jane@example.com>", "First", "one"))
	ing := inboxtest.NewIngester()
	ch := newTestChannel(t, d, 25, ing)
	rec := &pollRecorder{}
	// The poller's clock runs an hour ahead of the server's INTERNALDATE.
	ch.poller.clock = inbox.ClockFunc(func() time.Time { return time.Now().Add(time.Hour) })
	ch.poller.observe = rec
	ch.poller.idleRestart = 100 * time.Millisecond
	stop := running(t, ch.Run)
	eventually(t, "the batch and two checks of the idle mailbox", func() bool {
		at, _ := rec.reports()
		return len(at) >= 3
	})
	stop()
	at, lags := rec.reports()
	if lags[0] < time.Hour-time.Minute || lags[0] > time.Hour+time.Minute {
		t.Errorf("the batch's lag %v, want about an hour", lags[0])
	}
	for i := 1; i < len(at); i++ {
		if lags[i] != 0 || !at[i].After(at[i-1]) {
			t.Errorf("report %d: lag %v at %v (previous %v), want 0 and later", i, lags[i], at[i], at[i-1])
		}
	}
}
