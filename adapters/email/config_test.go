package email

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/inboxd/inboxd/adapters"
	"github.com/inboxd/inboxd/inbox/inboxtest"
)

// yamlConfig builds an adapters.Config whose Decode behaves like the
// daemon's: yaml, unknown keys refused.
func yamlConfig(id, doc string) adapters.Config {
	return adapters.Config{ID: id, Kind: Kind, Name: "Support mail", Decode: func(into any) error {
		dec := yaml.NewDecoder(bytes.NewReader([]byte(doc)))
		dec.KnownFields(true)
		return dec.Decode(into)
	}}
}

const validYAML = `
address: support@example.com
imap: {host: imap.example.com, username: support, password: secret}
smtp: {host: smtp.example.com}
`

func TestNewDefaults(t *testing.T) {
	ch, err := New(yamlConfig("mail", validYAML), adapters.Deps{Ingest: inboxtest.NewIngester()})
	if err != nil {
		t.Fatal(err)
	}
	c := ch.(*Channel)
	if ch.ID() != "mail" || ch.Kind() != "email" {
		t.Errorf("ID/Kind = %s/%s", ch.ID(), ch.Kind())
	}
	want := IMAPConfig{Host: "imap.example.com", Port: 993, TLS: TLSImplicit, Username: "support", Password: "secret",
		Mailbox: "INBOX", PollInterval: time.Minute}
	if c.cfg.IMAP != want {
		t.Errorf("imap = %+v, want %+v", c.cfg.IMAP, want)
	}
	if c.cfg.SMTP.Port != 587 || c.cfg.SMTP.TLS != TLSStartTLS {
		t.Errorf("smtp = %+v, want starttls on 587", c.cfg.SMTP)
	}
	if c.poller.key != "imap:INBOX" {
		t.Errorf("cursor key = %q", c.poller.key)
	}
	if err := c.Health(); err != nil {
		t.Errorf("Health before Run = %v", err)
	}
}

func TestNewFullConfig(t *testing.T) {
	doc := `
address: help@example.org
reply_domain: Reply.Example.org
imap: {host: 127.0.0.1, port: 1143, tls: none, username: u, password: p, mailbox: Support, poll_interval: 15s}
smtp: {host: 127.0.0.1, port: 2525, tls: implicit, username: u, password: p}
`
	ch, err := New(yamlConfig("m2", doc), adapters.Deps{Ingest: inboxtest.NewIngester()})
	if err != nil {
		t.Fatal(err)
	}
	c := ch.(*Channel).cfg
	if c.ReplyDomain != "reply.example.org" || c.IMAP.Port != 1143 || c.IMAP.PollInterval != 15*time.Second ||
		c.IMAP.Mailbox != "Support" || c.SMTP.Port != 2525 || c.SMTP.TLS != TLSImplicit {
		t.Errorf("config = %+v", c)
	}
}

func TestNewErrorsNameTheKey(t *testing.T) {
	cases := []struct{ doc, want string }{
		{`imap: {host: h, username: u, password: p}
smtp: {host: h}`, "address: is required"},
		{`address: "Support <s@example.com>"
imap: {host: h, username: u, password: p}
smtp: {host: h}`, "address:"},
		{`address: s@example.com
reply_domain: "not a domain"
imap: {host: h, username: u, password: p}
smtp: {host: h}`, "reply_domain:"},
		{`address: s@example.com
imap: {username: u, password: p}
smtp: {host: h}`, "imap.host: is required"},
		{`address: s@example.com
imap: {host: h, password: p}
smtp: {host: h}`, "imap.username: is required"},
		{`address: s@example.com
imap: {host: h, username: u}
smtp: {host: h}`, "imap.password: is required"},
		{`address: s@example.com
imap: {host: h, username: u, password: p, tls: ssl}
smtp: {host: h}`, "imap.tls:"},
		{`address: s@example.com
imap: {host: h, username: u, password: p, port: 70000}
smtp: {host: h}`, "imap.port:"},
		{`address: s@example.com
imap: {host: h, username: u, password: p, poll_interval: -1s}
smtp: {host: h}`, "imap.poll_interval:"},
		{`address: s@example.com
imap: {host: h, username: u, password: p}
smtp: {port: 25}`, "smtp.host: is required"},
		{`address: s@example.com
imap: {host: h, username: u, password: p}
smtp: {host: h, tls: tls}`, "smtp.tls:"},
		{`address: s@example.com
imap: {host: h, username: u, password: p}
smtp: {host: h, password: p}`, "smtp.username:"},
		{`address: s@example.com
imap: {host: h, username: u, password: p, folder: x}
smtp: {host: h}`, "folder"},
	}
	for _, tc := range cases {
		_, err := New(yamlConfig("m", tc.doc), adapters.Deps{Ingest: inboxtest.NewIngester()})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %q: error %v, want one containing %q", tc.doc, err, tc.want)
		}
	}
}

func TestSMTPValidatePrefix(t *testing.T) {
	c := SMTPConfig{}
	if err := c.Validate("notifications.smtp"); err == nil || err.Error() != "notifications.smtp.host: is required" {
		t.Errorf("Validate = %v", err)
	}
	c = SMTPConfig{Host: "h", TLS: TLSNone}
	if err := c.Validate("smtp"); err != nil || c.Port != 25 {
		t.Errorf("Validate = %v, port %d; want nil and 25", err, c.Port)
	}
}
