package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The secrets of the every-kind config; `config check` must print none.
var checkSecrets = []string{
	"db-password-1", "db-password-2", "owner-password-3", "webhook-secret-0000004", "cb-password-6", "cb-key-7",
	"tg-token-secret-8", "tg-hook-secret-9", "imap-password-10", "smtp-password-11", "fb-page-token-12", "app-secret-13",
	"verify-token-14", "ig-page-token-15", "wa-access-token-16", "viber-auth-token-17", "widget-identity-secret-18",
	"notify-smtp-password-19",
}

// channelsOfEveryKind is one channel of every kind, fake credentials.
var channelsOfEveryKind = []string{
	`{id: crm, kind: webhook, queue: support, secret: webhook-secret-0000004, callback_url: "https://cb-user-5:cb-password-6@crm.example.com/cb?key=cb-key-7"}`,
	`{id: site, kind: widget, queue: support, allowed_origins: ["https://example.com"], identity_secret: widget-identity-secret-18}`,
	`{id: tg, kind: telegram, queue: support, token: "123456:tg-token-secret-8", mode: polling}`,
	`{id: tgh, kind: telegram, queue: support, token: "654321:tg-token-secret-8", mode: webhook, secret: tg-hook-secret-9}`,
	`{id: mail, kind: email, queue: support, address: support@example.com,
     imap: {host: imap.example.com, port: 993, tls: implicit, username: support, password: imap-password-10},
     smtp: {host: smtp.example.com, port: 587, tls: starttls, username: support, password: smtp-password-11}}`,
	`{id: fb, kind: messenger, queue: support, page_id: "1234", page_access_token: fb-page-token-12, app_secret: app-secret-13, verify_token: verify-token-14}`,
	`{id: ig, kind: instagram, queue: support, page_id: "1784", page_access_token: ig-page-token-15, app_secret: app-secret-13, verify_token: verify-token-14}`,
	`{id: wa, kind: whatsapp, queue: support, phone_number_id: "1065", access_token: wa-access-token-16, app_secret: app-secret-13, verify_token: verify-token-14}`,
	`{id: vb, kind: viber, queue: support, auth_token: viber-auth-token-17, sender_name: Support}`,
}

func writeCheckConfig(t *testing.T, dbURL string, channels []string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "public_url: https://inbox.example.com\ndatabase: {url: %q}\n", dbURL)
	b.WriteString("bootstrap_owner: {email: owner@example.com, password: owner-password-3}\n")
	b.WriteString("notifications: {smtp: {host: smtp.example.com, username: n, password: notify-smtp-password-19}}\n")
	b.WriteString("queues: [{id: support}]\nchannels:\n")
	for _, c := range channels {
		b.WriteString("  - " + c + "\n")
	}
	path := filepath.Join(t.TempDir(), "inboxd.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func configCheckRun(t *testing.T, path string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"config", "check", "--config", path}, strings.NewReader(""), &out, &errOut)
	return out.String() + errOut.String(), err
}

// TestConfigCheckEveryKind: `inboxd config check` validates a config with
// a channel of every kind (it failed with "no ingester" for telegram,
// email, messenger, instagram and whatsapp) and prints it with every
// secret masked, database passwords included.
func TestConfigCheckEveryKind(t *testing.T) {
	for _, db := range []string{
		"postgres://inboxd:db-password-1@db.example.com:5432/inboxd?sslmode=require&password=db-password-2",
		"host=db.example.com user=inboxd password=db-password-1 dbname=inboxd sslpassword='db-password-2' sslmode=require",
	} {
		out, err := configCheckRun(t, writeCheckConfig(t, db, channelsOfEveryKind))
		if err != nil {
			t.Fatalf("config check: %v\n%s", err, out)
		}
		if !strings.HasPrefix(out, "config OK\n") {
			t.Fatalf("output:\n%s", out)
		}
		for _, s := range checkSecrets {
			if strings.Contains(out, s) {
				t.Errorf("the output shows %q:\n%s", s, out)
			}
		}
		for _, want := range []string{"********", `"kind": "email"`, `"kind": "whatsapp"`, "sslmode=require", "db.example.com",
			`"page_id": "1234"`, "https://cb-user-5:********@crm.example.com/cb?key=********"} {
			if !strings.Contains(out, want) {
				t.Errorf("the output lacks %q:\n%s", want, out)
			}
		}
	}
}

// TestConfigCheckNamesTheKey: a wrong key in a channel of any kind fails
// the check with the channel and the key named.
func TestConfigCheckNamesTheKey(t *testing.T) {
	for i, ch := range channelsOfEveryKind {
		chans := append([]string(nil), channelsOfEveryKind...)
		chans[i] = strings.Replace(ch, "queue: support,", "queue: support, bogus_key: 1,", 1)
		out, err := configCheckRun(t, writeCheckConfig(t, "", chans))
		id := strings.TrimSuffix(strings.Fields(ch)[1], ",")
		want := fmt.Sprintf("channels[%d] (%s).bogus_key: unknown key", i, id)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q\n%s", id, err, want, out)
		}
		if err != nil && strings.Contains(err.Error(), "no ingester") {
			t.Errorf("%s: %v", id, err)
		}
	}
	// A missing credential is named too.
	chans := append([]string(nil), channelsOfEveryKind...)
	chans[7] = strings.Replace(chans[7], "access_token: wa-access-token-16, ", "", 1)
	if _, err := configCheckRun(t, writeCheckConfig(t, "", chans)); err == nil || !strings.Contains(err.Error(), "channels[7] (wa).access_token: is required") {
		t.Errorf("whatsapp without access_token: %v", err)
	}
}

// TestChannelsRegisterPrintsHookURLs: `inboxd channels register` builds
// the channels without a daemon, so every kind that takes webhooks tells
// its URL (telegram, messenger, instagram and whatsapp once failed with
// "no ingester"); a polling-only kind says it takes none.
func TestChannelsRegisterPrintsHookURLs(t *testing.T) {
	path := writeCheckConfig(t, "", channelsOfEveryKind)
	for id, want := range map[string]string{
		"crm": "https://inbox.example.com/hooks/webhook/crm",
		"tgh": "https://inbox.example.com/hooks/telegram/tgh",
		"fb":  "https://inbox.example.com/hooks/meta/fb",
		"ig":  "https://inbox.example.com/hooks/meta/ig",
		"wa":  "https://inbox.example.com/hooks/whatsapp/wa",
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"channels", "register", id, "--config", path}, strings.NewReader(""), &out, &errOut)
		if err != nil || !strings.Contains(out.String(), want) {
			t.Errorf("register %s: err %v, output %q, want %s", id, err, out.String()+errOut.String(), want)
		}
	}
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"channels", "register", "mail", "--config", path}, strings.NewReader(""), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "takes no webhooks") {
		t.Errorf("register mail: err %v, want \"takes no webhooks\"", err)
	}
}
