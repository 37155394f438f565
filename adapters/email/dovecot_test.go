package email

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/inboxd/inboxd/adapters/email/dovecottest"
)

// dovecot is a real Dovecot (adapters/email/dovecottest) with the
// helpers these tests need on top.
type dovecot struct{ *dovecottest.Server }

// startDovecot starts dovecot (skipped without it; CI=true fails instead).
// idle=false hides the IDLE capability, to test polling.
func startDovecot(t *testing.T, idle bool) *dovecot {
	return &dovecot{dovecottest.Start(t, idle)}
}

func (d *dovecot) imapConfig() IMAPConfig {
	return IMAPConfig{Host: "127.0.0.1", Port: d.Port, TLS: TLSNone, Username: d.Username, Password: d.Password,
		Mailbox: "INBOX", PollInterval: 200 * time.Millisecond}
}

func (d *dovecot) client() (*imapclient.Client, error) { return d.Client() }

func (d *dovecot) appendMail(t *testing.T, raws ...[]byte) { d.Append(t, raws...) }

// uidValidity is the mailbox's UIDVALIDITY.
func (d *dovecot) uidValidity(t *testing.T) uint32 {
	t.Helper()
	c, err := d.client()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	return sel.UIDValidity
}

// simpleMail is a customer's mail with a given Message-ID.
func simpleMail(id, from, subject, body string, extra ...string) []byte {
	h := "From: " + from + "\nTo: support@example.com\nSubject: " + subject + "\nDate: Mon, 03 Mar 2025 10:00:00 +0000\nMessage-ID: <" + id + ">\n"
	for _, e := range extra {
		h += e + "\n"
	}
	return []byte(h + "Content-Type: text/plain; charset=utf-8\n\n" + body + "\n")
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// running starts Run in the background; the returned stop cancels it and
// checks that Run returned.
func running(t *testing.T, run func(context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after cancel", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

func storedIDs(msgs []string) string { return strings.Join(msgs, ",") }
